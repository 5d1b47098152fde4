#!/usr/bin/env bash
# The performance gate: instruction counts (valgrind's callgrind) of the single-threaded hot
# paths, as ratios against the floor and the peers measured in the same run
# (benches/instructions.rs). Instruction counts repeat exactly on a loaded machine, so the
# gate never flakes the way a timed check would; it fails when a ratio passes its ceiling and
# prints every figure. Criterion's times stay in `cargo bench` (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q </dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends valgrind </dev/null
fi

cargo bench --profile instructions --bench instructions -- --gate
