# check=skip=JSONArgsRecommended,MaintainerDeprecated
FROM scratch
CMD echo skipped
MAINTAINER me
# check=skip=LegacyKeyValueFormat
ENV A 1
ENV B 2
