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
use jt_store::Store;
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

/// What a scrape needs: who may scrape, and the database for the cluster-wide gauges.
struct Scrape {
    config: MetricsConfig,
    store: Store,
}

/// The `/metrics` route, for any router state. Installs the recorder now, so metrics
/// recorded through the facade before the first webhook (e.g. by the store) are kept.
pub fn router<S>(config: &MetricsConfig, store: Store) -> Router<S> {
    super::handle();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(Scrape {
            config: config.clone(),
            store,
        }))
}

/// Serves only `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve_separately(
    listener: TcpListener,
    config: &MetricsConfig,
    store: Store,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router::<()>(config, store))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(scrape): State<Arc<Scrape>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &scrape.config.token {
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
    super::cluster_gauges::refresh(&scrape.store).await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        super::handle().render(),
    )
        .into_response()
}
