#!/usr/bin/env bash
# Make `cargo test --target x86_64-pc-windows-gnu` runnable under Wine on a
# Debian 12 machine. Idempotent: when everything is already in place this only
# does a few cheap checks (well under a second).
#
# Can be executed, or sourced (test.sh does that) to get these exported:
#   WINE_LOADER  the wine64 loader binary (Debian does not put it on PATH)
#   WINESERVER   the matching wineserver binary
#   WINEPREFIX   private prefix under the cargo target dir
#   WINEDEBUG, WINEDLLOVERRIDES  quiet, headless-friendly defaults
#   WINE_ROOT    the repository root (two levels above this script)
set -euo pipefail

WINE_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WINE_ROOT="$(cd "$WINE_HERE/../.." && pwd)"
WINE_RUST_TARGET=x86_64-pc-windows-gnu
WINE_APT_PACKAGES=(gcc-mingw-w64-x86-64 wine64)

wine_log() { printf '[ci/wine] %s\n' "$*" >&2; }
wine_die() { wine_log "ERROR: $*"; exit 1; }

# Root in CI containers; fall back to sudo on developer machines.
wine_sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || wine_die "not root and no sudo: cannot apt-get install"
    wine_sudo=(sudo)
fi

wine_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# --- 1. System packages (mingw cross compiler + 64-bit wine) ----------------
wine_missing=()
for p in "${WINE_APT_PACKAGES[@]}"; do
    wine_pkg_installed "$p" || wine_missing+=("$p")
done
if ((${#wine_missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when apt does not know a package yet
    # (fresh container with empty lists); a retry below covers stale lists.
    for p in "${wine_missing[@]}"; do
        # (capture first: `apt-cache | grep -q` would SIGPIPE under pipefail)
        wine_policy="$(LC_ALL=C apt-cache policy "$p" 2>/dev/null || true)"
        if [[ $wine_policy != *"Candidate: "[0-9]* ]]; then
            wine_log "apt-get update (no candidate for $p)"
            "${wine_sudo[@]}" apt-get update -q </dev/null
            break
        fi
    done
    # --no-install-recommends: recommends are ~70 extra packages (fonts, X,
    # GL, audio) that console test binaries do not need.
    wine_apt_install() {
        "${wine_sudo[@]}" apt-get install -y -q --no-install-recommends "${wine_missing[@]}" </dev/null
    }
    wine_log "apt-get install ${wine_missing[*]}"
    if ! wine_apt_install; then
        wine_log "install failed; refreshing package lists and retrying once"
        "${wine_sudo[@]}" apt-get update -q </dev/null
        wine_apt_install
    fi
else
    wine_log "apt packages present: ${WINE_APT_PACKAGES[*]}"
fi

# --- 2. Rust std for the target ---------------------------------------------
# Run rustup from the repo root so a rust-toolchain(.toml) there is honoured.
command -v rustup >/dev/null || wine_die "rustup not found on PATH"
wine_targets="$(cd "$WINE_ROOT" && rustup target list --installed)"
if grep -qx "$WINE_RUST_TARGET" <<<"$wine_targets"; then
    wine_log "rust target present: $WINE_RUST_TARGET"
else
    wine_log "rustup target add $WINE_RUST_TARGET"
    (cd "$WINE_ROOT" && rustup target add "$WINE_RUST_TARGET")
fi

# --- 3. Locate wine binaries -------------------------------------------------
# Debian's wine64 package ships the loader in /usr/lib/wine without a PATH entry
# (/usr/bin/wine comes from the separate `wine` package).
wine_find_in_pkg() { # <package> <basename>
    dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | while read -r f; do
        [[ -f $f && -x $f ]] && { echo "$f"; break; }
    done || true
}
: "${WINE_LOADER:=$(wine_find_in_pkg wine64 wine64)}"
[[ -n $WINE_LOADER && -x $WINE_LOADER ]] || wine_die "wine64 loader not found (dpkg -L wine64)"
: "${WINESERVER:=$(wine_find_in_pkg wine64 wineserver64)}"
: "${WINESERVER:=$(wine_find_in_pkg wine64 wineserver)}"
[[ -n $WINESERVER && -x $WINESERVER ]] || wine_die "wineserver not found (dpkg -L wine64)"
export WINE_LOADER WINESERVER WINE_ROOT

# Cargo target dir; a relative CARGO_TARGET_DIR is taken relative to the repo
# root (test.sh runs cargo from there, so both agree).
wine_target_dir="${CARGO_TARGET_DIR:-target}"
[[ $wine_target_dir == /* ]] || wine_target_dir="$WINE_ROOT/$wine_target_dir"
mkdir -p "$wine_target_dir"

# --- 4. bcryptprimitives.dll shim (ProcessPrng) -----------------------------
# Rust std imports ProcessPrng from bcryptprimitives.dll; Wine 8 has no such
# DLL, so every test exe would fail to start (exit 53). See bcryptprimitives.c.
wine_shim_dir="$wine_target_dir/wine-shim"
wine_dll="$wine_shim_dir/bcryptprimitives.dll"
if [[ ! -f $wine_dll || $WINE_HERE/bcryptprimitives.c -nt $wine_dll || $WINE_HERE/bcryptprimitives.def -nt $wine_dll ]]; then
    wine_log "building $wine_dll"
    mkdir -p "$wine_shim_dir"
    x86_64-w64-mingw32-gcc -shared -O2 -s -o "$wine_dll.tmp" \
        "$WINE_HERE/bcryptprimitives.c" "$WINE_HERE/bcryptprimitives.def" -ladvapi32
    mv -f "$wine_dll.tmp" "$wine_dll"
else
    wine_log "shim up to date: $wine_dll"
fi

# --- 5. Private wine prefix ---------------------------------------------------
export WINEPREFIX="$wine_target_dir/wine-prefix"
# Quiet by default (caller may override); skip the mono/gecko installers and
# menu/desktop integration, which need a display or network and slow boot.
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;winemenubuilder.exe=d}"
# Headless: console programs need no X server; with DISPLAY unset wine uses its
# null display driver instead of trying (and maybe failing) to connect.
unset DISPLAY WAYLAND_DISPLAY

wine_stamp="$WINEPREFIX/.ci-wine-ready"
if [[ ! -f $wine_stamp ]]; then
    # A prefix without the stamp is a half-finished boot: start over.
    rm -rf "$WINEPREFIX"
    wine_log "creating wine prefix $WINEPREFIX (first time: may take a minute)"
    "$WINE_LOADER" wineboot -i </dev/null
    # wineboot returns before the wineserver (and its services) finish;
    # wait so nothing is left running and the registry is flushed.
    "$WINESERVER" -w
    touch "$wine_stamp"
else
    wine_log "wine prefix present: $WINEPREFIX"
fi

wine_sys32="$WINEPREFIX/drive_c/windows/system32"
[[ -d $wine_sys32 ]] || wine_die "$wine_sys32 missing: delete $WINEPREFIX and rerun"
if ! cmp -s "$wine_dll" "$wine_sys32/bcryptprimitives.dll"; then
    wine_log "installing shim into $wine_sys32"
    cp -f "$wine_dll" "$wine_sys32/bcryptprimitives.dll"
fi

wine_log "ready: WINE_LOADER=$WINE_LOADER WINEPREFIX=$WINEPREFIX"
