FROM scratch
COPY --chmod=u+q a /b
