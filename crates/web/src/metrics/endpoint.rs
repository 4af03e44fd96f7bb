//! `GET /metrics`: the Prometheus text format. Open by default (as is usual inside a private
//! network), or behind `Authorization: Bearer $JT_METRICS_TOKEN`; on the main listener, or
//! on a listener of its own (`JT_METRICS_BIND`, e.g. fly.toml's `[metrics]` port).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;

/// Where and to whom `/metrics` is served.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// When set, scrapes must send `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Served by [`serve_separately`] on its own listener, not on the main one.
    pub separate_listener: bool,
}

/// The `/metrics` route, for any router state. Installs the recorder now, so metrics
/// recorded through the facade before the first webhook (e.g. by the store) are kept.
pub fn router<S>(config: &MetricsConfig) -> Router<S> {
    super::handle();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(config.clone()))
}

/// Serves only `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve_separately(
    listener: TcpListener,
    config: &MetricsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router::<()>(config))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(config): State<Arc<MetricsConfig>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &config.token {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Bearer")],
                "metrics need Authorization: Bearer <JT_METRICS_TOKEN>\n",
            )
                .into_response();
        }
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        super::handle().render(),
    )
        .into_response()
}
