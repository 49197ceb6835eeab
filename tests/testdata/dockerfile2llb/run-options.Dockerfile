# opt: build-arg:http_proxy=http://proxy.example:3128
# opt: build-arg:NO_PROXY=localhost
FROM base:1
ARG VERSION=1.0
RUN --network=none --security=insecure echo "$VERSION"
RUN --mount=type=cache,target=/root/.cache,id=c1,sharing=locked \
    --mount=type=tmpfs,target=/tmp,size=1024 \
    --mount=type=secret,id=tok,env=TOKEN \
    --mount=type=ssh \
    --mount=type=bind,source=src,target=/src,rw \
    make
