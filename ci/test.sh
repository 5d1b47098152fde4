#!/usr/bin/env bash
# The test command the README gives new users, run exactly as they would, after checking that
# README.md still says it: the README and CI cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

test_command="cargo test --all-features"
grep -qF "$test_command" README.md || { echo "README.md no longer says: $test_command" >&2; exit 1; }
$test_command
