# check=nonsense
FROM scratch
