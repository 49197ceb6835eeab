FROM scratch
# the base stage
ARG A
# builder
FROM scratch AS build
