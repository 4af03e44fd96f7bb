//! HTTP for Just.Trades: the axum router, handlers and the application server.

mod api;
mod app;
pub mod auth;
mod csv_export;
mod date_range;
mod health;
mod live;
pub mod page_error;
mod pages;
mod position_json;
mod request_span;
mod static_assets;
#[cfg(feature = "test-support")]
pub mod testing;
mod webhook;

pub use app::{AppState, Application, WebConfig, router};
pub use auth::spawn_expired_session_cleanup;
