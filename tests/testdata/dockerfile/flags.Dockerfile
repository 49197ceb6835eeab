FROM golang:1.22 AS build
COPY --from=build --chown=1000:1000 /out/app /usr/bin/app
COPY --chmod=0755 -- --weird-name /x
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=secret,id=token \
    go build ./...
RUN --network=none ["true"]
COPY "--link" --exclude="*.md" . /src
COPY --from="quoted value" a b
COPY --a=x\ y --b='c d' e f
ADD --keep-git-dir=true https://github.com/moby/buildkit.git /bk
COPY --from=build
RUN --
