# check=error=true
FROM scratch
CMD ["ok"]
