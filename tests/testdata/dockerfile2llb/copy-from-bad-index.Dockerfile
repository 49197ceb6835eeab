FROM scratch AS build
COPY a /a
FROM scratch
COPY --from=0 /a /b
COPY --from=7 /a /c
