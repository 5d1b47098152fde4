#!/usr/bin/env bash
# The docs build without warnings: a broken intra-doc link fails.
set -euo pipefail
cd "$(dirname "$0")/.."

RUSTDOCFLAGS="-D warnings" cargo doc --all-features --no-deps
