FROM --platform=$TARGETPLATFORM base:1 AS redundant
FROM --platform=linux/amd64 base:1 AS const
FROM --platform=linux/arm64 arm:1 AS build-arm64
FROM --platform=$BUILDPLATFORM base:1 AS ok
FROM --platform=${TARGETOS}/${TARGETARCH} base:1 AS parts
FROM arm:1
