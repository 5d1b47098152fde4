//! Emits the cfgs the crate builds on: one per production backend that can apply to the target
//! (with a warning when a backend feature is enabled on a target where it cannot, so the
//! backend is left out), and `us_has_clock` where std can read a clock.

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

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
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
        } else {
            println!(
                "cargo::warning=feature `{}` does nothing on target `{}`: it needs {}; \
                 enable it only for that target (e.g. under [target.'cfg(...)'.dependencies])",
                backend.feature, target, backend.what
            );
        }
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
