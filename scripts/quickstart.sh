#!/usr/bin/env bash
# Quickstart: installs what kiln needs, builds it, and runs three real builds with kilnctl (which
# starts a private kilnd on the default root when no daemon is running): a small multi-stage
# Dockerfile through the dockerfile.v0 frontend, into ./quickstart-out; a sample LLB graph from
# stdin, into ./quickstart-llb-out; and a Dockerfile FROM a busybox image made offline from
# Debian's busybox-static, with a RUN step (runc), exported as the OCI tarball
# ./quickstart-image.tar.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target kilnd kilnctl hello_llb

bin=build/release/bin
ctx=$(mktemp -d)
img=$(mktemp -d)
trap 'rm -rf "$ctx" "$img"' EXIT
printf 'hello, kiln\n' > "$ctx/README"
mkdir -p "$ctx/app" && printf '#!/bin/sh\necho running\n' > "$ctx/app/run.sh" && chmod +x "$ctx/app/run.sh"

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
# syntax=docker/dockerfile:1
FROM scratch AS app
ARG GREETING=hello
COPY app/ /app/
COPY <<EOT /app/greeting.txt
${GREETING} from a Dockerfile built by kiln
EOT

FROM scratch
COPY README /
COPY --from=app /app /opt/app
DOCKERFILE
printf 'Dockerfile\n' > "$ctx/.dockerignore"

rm -rf quickstart-out quickstart-llb-out quickstart-image.tar
"$bin/kilnctl" build --progress=plain --frontend dockerfile.v0 --local context="$ctx" \
  --local dockerfile="$ctx" --opt build-arg:GREETING=hi --output type=local,dest=quickstart-out
"$bin/hello_llb" | "$bin/kilnctl" build --progress=plain --local context="$ctx" \
  --output type=local,dest=quickstart-llb-out
echo
echo "quickstart: the Dockerfile build wrote quickstart-out/:"
find quickstart-out | sort
cat quickstart-out/opt/app/greeting.txt
echo "quickstart: the LLB build wrote quickstart-llb-out/:"
find quickstart-llb-out | sort

# The base image: an OCI layout built offline from /bin/busybox (the test fixtures' builder),
# handed to the build as the named context "busybox" from the client's layout.
python3 tests/fixtures/make-images.py --cache "$img/layouts" --images busybox --out "$img/images.json"
read -r layout digest < <(python3 -c 'import json, sys
b = json.load(open(sys.argv[1]))["images"]["busybox"]
print(b["layout"], b["digest"])' "$img/images.json")
mkdir "$img/app"
cat > "$img/app/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN echo "written by a RUN step on $(uname -m)" > /hello.txt && ls /bin | wc -l > /bin-count.txt
CMD ["cat", "/hello.txt"]
DOCKERFILE
"$bin/kilnctl" build --progress=plain --frontend dockerfile.v0 --local context="$img/app" \
  --local dockerfile="$img/app" --oci-layout busybox="$layout" \
  --opt context:busybox="oci-layout://busybox@$digest" \
  --output type=oci,dest=quickstart-image.tar,name=quickstart:latest
echo "quickstart: the image built FROM busybox is in quickstart-image.tar:"
tar -tf quickstart-image.tar | sort
python3 - quickstart-image.tar <<'PY'
import io, json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    blob = lambda d: t.extractfile("blobs/" + d.replace(":", "/")).read()
    manifest = json.loads(blob(json.loads(t.extractfile("index.json").read())["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(blob(manifest["layers"][-1]["digest"]))) as layer:
        hello = layer.extractfile("hello.txt").read().decode().strip()
print("quickstart: its top layer's /hello.txt: %s; its Cmd: %s" % (hello, config["config"]["Cmd"]))
PY
