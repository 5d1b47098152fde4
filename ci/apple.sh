#!/usr/bin/env bash
# clippy for both Apple targets on every target kind (lib, tests, benches, examples), so the
# Apple build of the benches and tests is checked on this Linux machine (no macOS SDK, no
# linker: clippy only type-checks, it links nothing): with every feature, and with the GCD
# backend alone. Then the library itself is compiled with the backend (`build --lib` makes
# an rlib, which links nothing either, so the hand-written libdispatch declarations are
# compiled for real, code generation included).
#
# criterion depends on `alloca` on every unix, whose build script compiles a small C file.
# For an Apple target cc-rs passes Apple-only flags (`-arch`, `-mmacosx-version-min`) that the
# host gcc rejects, so clang (which targets any triple) is that target's C compiler here.
# Without a macOS SDK there are no system headers: `-ffreestanding` makes clang use its own
# <stddef.h>/<stdint.h>, the only headers alloca.c includes. Keeping criterion off Apple targets
# instead would leave the benches without their harness on macOS, where the GCD backend will
# be measured; this way they compile unchanged and keep criterion's stack-offset randomisation.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-apple-darwin x86_64-apple-darwin)
if ! command -v clang >/dev/null; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q </dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends clang </dev/null
fi
rustup component add clippy
rustup target add "${targets[@]}"

for target in "${targets[@]}"; do
  triple=${target//-/_}
  apple_cc=(env "CC_$triple=clang" "CFLAGS_$triple=-ffreestanding")
  "${apple_cc[@]}" cargo clippy --target "$target" --all-features --all-targets -- -D warnings
  "${apple_cc[@]}" cargo clippy --target "$target" --features gcd --all-targets -- -D warnings
  "${apple_cc[@]}" cargo build --target "$target" --lib --features gcd
done
