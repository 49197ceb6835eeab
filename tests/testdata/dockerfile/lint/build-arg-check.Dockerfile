# check=skip=all
# opt: check=error=true;skip=LegacyKeyValueFormat
FROM scratch
CMD echo hi
ENV A 1
