//! HTTP for Just.Trades: the axum router, handlers and the application server.

mod api;
mod app;
mod health;
mod position_json;
mod request_span;
#[cfg(feature = "test-support")]
pub mod testing;
mod webhook;

pub use app::{AppState, Application, WebConfig, router};
