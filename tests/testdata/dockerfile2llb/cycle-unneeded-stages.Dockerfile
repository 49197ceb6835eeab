FROM scratch AS a
COPY --from=b /x /x
FROM scratch AS b
RUN --mount=type=bind,from=a,target=/m true
FROM scratch
ENV NOT_USING=a,b
