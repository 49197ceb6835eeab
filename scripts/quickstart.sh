#!/usr/bin/env bash
# Quickstart: installs what kiln needs, builds it, and runs two real builds with kilnctl (which
# starts a private kilnd on the default root when no daemon is running): a small multi-stage
# Dockerfile through the dockerfile.v0 frontend, into ./quickstart-out, and a sample LLB graph
# from stdin, into ./quickstart-llb-out.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target kilnd kilnctl hello_llb

bin=build/release/bin
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
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

rm -rf quickstart-out quickstart-llb-out
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
