# opt: platform=linux/arm64
# A cross build: the first stage runs on the build platform, the second is the target's.
FROM --platform=$BUILDPLATFORM multi:1 AS build
ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH
RUN echo "on $BUILDPLATFORM ($BUILDARCH) for $TARGETPLATFORM: $TARGETOS $TARGETARCH [$TARGETVARIANT]" > /out

FROM multi:1
ARG TARGETARCH
COPY --from=build /out /out-$TARGETARCH
