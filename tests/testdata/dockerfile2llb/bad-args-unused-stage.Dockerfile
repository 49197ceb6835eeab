FROM scratch AS unused
USER a b
FROM scratch
