FROM base:1 AS Build
run echo hi
FROM scratch as final
COPY --from=Build /etc /etc
From scratch AS mixed
FROM scratch AS upper
