# check=error=true
FROM scratch
CMD echo hi
ENV A 1
ENV B 1
