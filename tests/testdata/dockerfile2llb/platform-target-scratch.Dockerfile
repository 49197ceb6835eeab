# opt: platform=linux/arm64
# FROM --platform on scratch: the image is still the target platform's (BuildKit's emptyImage).
FROM --platform=linux/amd64 scratch
ARG TARGETPLATFORM BUILDPLATFORM
COPY hello.txt /$TARGETPLATFORM/
