//! HTTP for Just.Trades: the axum router, handlers and the application server.

mod admin;
mod api;
mod app;
pub mod auth;
pub mod client_ip;
mod csv_export;
mod date_range;
mod health;
mod in_flight;
mod live;
pub mod metrics;
pub mod page_error;
mod pages;
mod position_json;
mod request_span;
mod security_headers;
mod server;
mod static_assets;
#[cfg(feature = "test-support")]
pub mod testing;
mod webhook;
mod webhook_answer;
pub mod webhook_body;

pub use admin::spawn_signal_stats_folding;
pub use app::{AppState, Application, WebConfig, router};
pub use auth::spawn_expired_session_cleanup;
pub use server::{BodyTimedOut, ServerLimits};
