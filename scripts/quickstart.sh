#!/usr/bin/env bash
# Quickstart: installs what kiln needs, builds it, and runs a real build of a sample LLB graph
# with kilnctl (which starts a private kilnd on the default root when no daemon is running).
# The result lands in ./quickstart-out.
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

rm -rf quickstart-out
"$bin/hello_llb" | "$bin/kilnctl" build --progress=plain --local context="$ctx" \
  --output type=local,dest=quickstart-out
echo
echo "quickstart: the build wrote quickstart-out/:"
find quickstart-out | sort
