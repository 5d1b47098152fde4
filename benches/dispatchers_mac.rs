//! The `dispatchers` bench as the target Apple builds: `benches/dispatchers.rs`, included
//! whole. It is a third target because cargo's `required-features` is a conjunction: the
//! `dispatchers` target needs `linux-calloop`, this one `gcd` (see Cargo.toml). It has
//! `bench = false`, so name it:
//!
//! `cargo bench --features gcd --bench dispatchers_mac`

// `benches/common/floor.rs` names `alloc`, which only the crate root can bring in.
extern crate alloc;

#[path = "dispatchers.rs"]
mod dispatchers;

fn main() {
    dispatchers::main();
}
