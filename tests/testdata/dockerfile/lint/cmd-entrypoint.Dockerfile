# opt: all-stages=true
FROM scratch
CMD echo one
CMD ["two"]
ENTRYPOINT run
HEALTHCHECK NONE
HEALTHCHECK CMD true
ENTRYPOINT ["ok"]
FROM scratch
SHELL ["/bin/bash", "-c"]
CMD echo shell-set
