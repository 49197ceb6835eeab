FROM scratch
COPY --chmod=0999 a /b
