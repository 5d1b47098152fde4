#!/usr/bin/env bash
# build.rs warns when a backend feature is enabled on a target it cannot apply to (the backend
# is then left out); on this Linux host, `gcd` (without LIBDISPATCH_DIR), `win-threadpool` and `cloudflare` must warn.
set -euo pipefail
cd "$(dirname "$0")/.."

for feature in gcd win-threadpool cloudflare; do
  out=$(env -u LIBDISPATCH_DIR cargo check --features "$feature" --message-format short 2>&1)
  grep -q "feature \`$feature\` does nothing on target" <<<"$out" \
    || { echo "no build.rs warning for --features $feature:" >&2; echo "$out" >&2; exit 1; }
done
