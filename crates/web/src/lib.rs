//! HTTP for Just.Trades: the axum router, handlers and the application server.

mod admin;
mod api;
mod app;
pub mod auth;
mod health;
pub mod metrics;
pub mod page_error;
mod pages;
mod position_json;
mod request_span;
mod static_assets;
#[cfg(feature = "test-support")]
pub mod testing;
mod webhook;

pub use admin::spawn_signal_stats_folding;
pub use app::{AppState, Application, WebConfig, router};
pub use auth::spawn_expired_session_cleanup;
