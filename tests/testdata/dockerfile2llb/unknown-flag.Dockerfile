FROM scratch
COPY --fro=x a b
