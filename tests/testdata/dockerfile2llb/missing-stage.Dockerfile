FROM scratch AS later
FROM scratch
COPY --from=later /x /x
COPY --from=final /y /y
FROM scratch AS final
COPY --from=1 /z /z
