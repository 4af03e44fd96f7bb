//! `sqlx::migrate!` embeds the migrations at compile time but cannot tell cargo to watch the
//! directory on stable Rust: without this, a new migration file is silently left out of an
//! incremental build.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
