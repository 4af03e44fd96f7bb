//! Tradovate for Just.Trades: a typed REST client ([`TradovateClient`]) and a fake Tradovate
//! server ([`fake::FakeTradovate`]) with the same JSON shapes and fault injection, for tests,
//! benchmarks and local demos. This crate depends on nothing else of ours (SPEC §3).

mod client;
mod error;
pub mod fake;
pub mod model;

pub use client::{ClientConfig, Credentials, DEMO_URL, LIVE_URL, TokenStatus, TradovateClient};
pub use error::{ErrorClass, LOCK_OUT, LockOut, TradovateError};
