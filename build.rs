//! Emits the cfgs the crate builds on: one per production backend that can apply to the target
//! (with a warning when a backend feature is enabled on a target where it cannot, so the
//! backend is left out), and `us_has_clock` where std can read a clock. The `gcd` backend
//! also builds on Linux when `LIBDISPATCH_DIR` names an installed libdispatch, which is then
//! linked (search path and rpath); nothing here downloads or builds one.

use std::env;

/// A backend feature, the cfg it turns on, and the targets it applies to: one of the listed
/// OSes (any OS if none is listed) on one of the listed architectures (any if none is).
struct Backend {
    feature: &'static str,
    cfg: &'static str,
    target_os: &'static [&'static str],
    target_arch: &'static [&'static str],
    what: &'static str,
}

impl Backend {
    fn applies_to(&self, os: &str, arch: &str) -> bool {
        (self.target_os.is_empty() || self.target_os.contains(&os))
            && (self.target_arch.is_empty() || self.target_arch.contains(&arch))
    }
}

const BACKENDS: &[Backend] = &[
    Backend {
        feature: "linux-calloop",
        cfg: "us_linux_calloop",
        target_os: &[
            "linux",
            "android",
            "freebsd",
            "netbsd",
            "openbsd",
            "dragonfly",
        ],
        target_arch: &[],
        what: "Linux or a BSD",
    },
    Backend {
        feature: "gcd",
        cfg: "us_gcd",
        target_os: &["macos", "ios", "tvos", "watchos", "visionos"],
        target_arch: &[],
        what: "an Apple OS",
    },
    Backend {
        feature: "win-threadpool",
        cfg: "us_win_threadpool",
        target_os: &["windows"],
        target_arch: &[],
        what: "Windows",
    },
    Backend {
        feature: "cloudflare",
        cfg: "us_cloudflare",
        target_os: &[],
        target_arch: &["wasm32"],
        what: "a wasm32 target (Cloudflare Workers runs wasm32-unknown-unknown)",
    },
];

/// The environment variable naming an installed libdispatch (its `lib/` is linked) for the
/// `gcd` backend on Linux.
const LIBDISPATCH_DIR: &str = "LIBDISPATCH_DIR";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed={LIBDISPATCH_DIR}");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    emit_clock_cfg(&target_os);
    for backend in BACKENDS {
        println!("cargo::rustc-check-cfg=cfg({})", backend.cfg);
        let env_name = format!(
            "CARGO_FEATURE_{}",
            backend.feature.to_uppercase().replace('-', "_")
        );
        if env::var_os(env_name).is_none() {
            continue;
        }
        if backend.applies_to(&target_os, &target_arch) {
            println!("cargo::rustc-cfg={}", backend.cfg);
        } else if backend.feature == "gcd" && target_os == "linux" {
            gcd_on_linux(backend, &target);
        } else {
            println!(
                "cargo::warning=feature `{}` does nothing on target `{}`: it needs {}; \
                 enable it only for that target (e.g. under [target.'cfg(...)'.dependencies])",
                backend.feature, target, backend.what
            );
        }
    }
}

/// The `gcd` backend on Linux: built and linked against `$LIBDISPATCH_DIR/lib` (with an rpath,
/// so the tests and benches of this package find it at run time) when the variable is set;
/// otherwise the usual warning, saying how to enable it.
fn gcd_on_linux(backend: &Backend, target: &str) {
    match env::var_os(LIBDISPATCH_DIR) {
        Some(dir) if !dir.is_empty() => {
            let lib = std::path::Path::new(&dir).join("lib");
            println!("cargo::rustc-cfg={}", backend.cfg);
            println!("cargo::rustc-link-search=native={}", lib.display());
            println!("cargo::rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
        _ => println!(
            "cargo::warning=feature `gcd` does nothing on target `{target}`: it needs {}, or \
             on Linux `{LIBDISPATCH_DIR}` set to an installed libdispatch (the directory \
             holding `lib/libdispatch.so`, e.g. from a Swift toolchain for Linux)",
            backend.what
        ),
    }
}

/// `us_has_clock`: `std` is on and the target has a clock std can read. On
/// wasm32-unknown-unknown, `std::time::Instant::now()` panics, so `Instant::now` is left out
/// there and a backend brings its own clock.
fn emit_clock_cfg(target_os: &str) {
    println!("cargo::rustc-check-cfg=cfg(us_has_clock)");
    let std = env::var_os("CARGO_FEATURE_STD").is_some();
    let wasm_unknown = env::var("CARGO_CFG_TARGET_FAMILY")
        .is_ok_and(|f| f.split(',').any(|f| f == "wasm"))
        && target_os == "unknown";
    if std && !wasm_unknown {
        println!("cargo::rustc-cfg=us_has_clock");
    }
}
