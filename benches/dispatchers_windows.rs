//! The `dispatchers` bench as the target Windows builds: `benches/dispatchers.rs`, included
//! whole. It is a second target because cargo's `required-features` is a conjunction: the
//! `dispatchers` target needs `linux-calloop`, this one `win-threadpool` (see Cargo.toml).
//! It has `bench = false`, so name it:
//!
//! `cargo bench --features win-threadpool --bench dispatchers_windows`

// `benches/common/floor.rs` names `alloc`, which only the crate root can bring in.
extern crate alloc;

#[path = "dispatchers.rs"]
mod dispatchers;

fn main() {
    dispatchers::main();
}
