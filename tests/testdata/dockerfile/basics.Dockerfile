FROM alpine:3.19 AS build
from busybox
ARG VERSION=1.2 NAME "QUOTED=x y"
ENV PATH=/usr/local/bin:$PATH HOME=/root
ENV LEGACY value with spaces
LABEL org.opencontainers.image.title="kiln demo" maintainer=me
Run apk add --no-cache curl
RUN ["/bin/sh", "-c", "echo exec form"]
CMD ["serve", "--port", "8080"]
ENTRYPOINT /entrypoint.sh --verbose
EXPOSE 80/tcp   443/udp
VOLUME ["/data", "/logs"]
VOLUME /cache /tmp/x
USER app:app
WORKDIR /srv/app
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
MAINTAINER Someone <someone@example.com>
COPY . /src
ADD https://example.com/archive.tar.gz /opt/
