# opt: platform=linux/arm/v7
# opt: multi-platform=true
# Step names carry the platform (and the target of a cross stage); the image is arm/v7.
ARG BASEPLATFORM=linux/amd64
FROM --platform=${BASEPLATFORM} multi:1 AS tools
ARG TARGETPLATFORM
RUN echo "$TARGETPLATFORM" > /target

FROM --platform=linux/arm64 multi:1 AS other
RUN uname -m

FROM scratch
ARG TARGETVARIANT
COPY --from=tools /target /target-$TARGETVARIANT
