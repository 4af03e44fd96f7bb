//! HTTP for Just.Trades: the axum router, handlers and the application server.

mod app;
pub mod auth;
mod health;
pub mod page_error;
mod pages;
mod request_span;
mod static_assets;
#[cfg(feature = "test-support")]
pub mod testing;

pub use app::{AppState, Application, WebConfig, router};
pub use auth::spawn_expired_session_cleanup;
