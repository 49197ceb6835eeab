FROM scratch
COPY a b /dest
