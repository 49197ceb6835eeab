# check=skip=all;experimental=InvalidDefinitionDescription
FROM scratch
# the base stage
ARG A
MAINTAINER me
# A is documented
ARG A2
# A3 describes it
ARG A3
# builder
FROM scratch AS build
