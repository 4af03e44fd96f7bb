//! Building the router and running the server.

use std::net::SocketAddr;

use axum::Router;
use jt_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::{health, request_span};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Tenant-safe database handle.
    pub store: Store,
}

/// The whole router; tests call this too.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .with_state(state)
        // Outermost, so every request gets a span (named by route template, never the URI:
        // webhook URIs carry secrets).
        .layer(TraceLayer::new_for_http().make_span_with(request_span::make_span))
}

/// A bound listener plus the router: binding happens before serving so callers (and tests,
/// with port 0) know the real address.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            router: router(state),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
