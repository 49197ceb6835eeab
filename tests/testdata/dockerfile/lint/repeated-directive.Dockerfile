# check=skip=all
# check=error=true
FROM scratch
