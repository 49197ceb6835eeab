#!/usr/bin/env python3
"""Checks kiln's module order (docs/dev/architecture.md): a module may use only modules with a
lower rank, in its CMake deps and in its #includes; gRPC headers stay in the boundary modules."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# module -> rank; keep in sync with docs/dev/architecture.md
RANKS = {
    "util": 1,
    "llb": 2, "fsutil": 2, "content": 2, "rpc": 2,
    "snapshot": 3,
    "executor": 4, "layer": 4,
    "cache": 5,
    "solver": 6,
    "registry": 7, "session": 7,
    "source": 8, "exporter": 8, "remotecache": 8,
    "worker": 9,
    "frontend": 10,
    "llbsolver": 11,
    "frontend/dockerfile": 12, "frontend/gateway": 12,
    "daemon": 13, "client": 13,
    "cmd": 14,
}
GRPC_ALLOWED = {"session", "daemon", "client", "frontend/gateway", "cmd"}
# kilnctl links no gRPC C++ (docs/dev/rpc.md): its library and main use kiln's own transport.
NO_GRPC_DIRS = ("client/", "cmd/kilnctl/")
GRPC_ONLY_HEADERS = {"session/grpc_status.h"}


def module_of(rel: pathlib.PurePosixPath):
    parts = rel.parts
    if len(parts) >= 2 and f"{parts[0]}/{parts[1]}" in RANKS:
        return f"{parts[0]}/{parts[1]}"
    return parts[0] if parts and parts[0] in RANKS else None


def main() -> int:
    errors = []
    src = ROOT / "src"
    for f in sorted(src.rglob("*")):
        if f.suffix not in (".h", ".cc"):
            continue
        rel = pathlib.PurePosixPath(f.relative_to(src).as_posix())
        mod = module_of(rel)
        if mod is None:
            errors.append(f"src/{rel}: not in a known module (add it to docs/dev/architecture.md)")
            continue
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = re.match(r'\s*#\s*include\s+[<"]([^">]+)[">]', line)
            if not m:
                continue
            inc = m.group(1)
            kilnctl_code = str(rel).startswith(NO_GRPC_DIRS) and not (
                rel.name.endswith("_test.cc") or "/testing/" in str(rel))
            if kilnctl_code and (inc.startswith("grpcpp/") or inc.startswith("grpc/grpc") or
                                 inc.endswith(".grpc.pb.h") or inc in GRPC_ONLY_HEADERS):
                errors.append(f"src/{rel}:{n}: {inc} in kilnctl's code, which uses src/rpc")
                continue
            if inc.startswith("grpcpp/") or inc.endswith(".grpc.pb.h"):
                if mod not in GRPC_ALLOWED:
                    errors.append(f"src/{rel}:{n}: gRPC header {inc} outside the boundary modules")
                continue
            if not (src / inc).exists():
                continue  # system, third-party or generated proto header
            other = module_of(pathlib.PurePosixPath(inc))
            if other is None or other == mod or mod.startswith(other + "/") or other.startswith(mod + "/"):
                if other and other != mod and other.startswith(mod + "/"):
                    errors.append(f"src/{rel}:{n}: {mod} may not include its child {other}")
                continue
            if RANKS[other] >= RANKS[mod]:
                errors.append(f"src/{rel}:{n}: {mod} (rank {RANKS[mod]}) may not use {other} "
                              f"(rank {RANKS[other]})")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check-layering: {len(errors)} violation(s)", file=sys.stderr)
        return 1
    print("check-layering: module order respected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
