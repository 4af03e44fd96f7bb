//! Building the router and running the server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use jt_store::{SecretKey, Store};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{self, AuthLimits, AuthState};
use crate::{api, health, pages, request_span, static_assets, webhook};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Tenant-safe database handle.
    pub store: Store,
    /// Settings fixed at start.
    pub config: Arc<WebConfig>,
    /// Log-in and sign-up attempt limiters.
    pub auth: Arc<AuthState>,
    /// Where brokers are (connection tests of broker accounts).
    pub execution: Arc<jt_jobs::ExecutorConfig>,
}

impl AppState {
    /// State for a server over `store`, with the default attempt limits.
    pub fn new(store: Store, config: WebConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            auth: Arc::new(AuthState::default()),
            execution: Arc::new(jt_jobs::ExecutorConfig::default()),
        }
    }

    /// The same state with these broker URLs and timeouts (e.g. the fake Tradovate).
    pub fn with_execution(self, execution: jt_jobs::ExecutorConfig) -> Self {
        Self {
            execution: Arc::new(execution),
            ..self
        }
    }

    /// The same state with other log-in and sign-up limits (fresh limiters).
    pub fn with_auth_limits(self, limits: AuthLimits) -> Self {
        Self {
            auth: Arc::new(AuthState::new(limits)),
            ..self
        }
    }
}

/// Web settings, validated at start.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Public URL without a trailing slash (webhook URLs are built on it).
    pub base_url: String,
    /// Derives webhook tokens.
    pub secret_key: SecretKey,
}

impl WebConfig {
    /// True when cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// The whole router; tests call this too.
pub fn router(state: AppState) -> Router {
    // Pages show private data (and webhook URLs, which are secrets): never store them in a
    // shared or browser cache.
    let browser_pages =
        auth::router()
            .merge(pages::router())
            .layer(SetResponseHeaderLayer::if_not_present(
                CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ));
    Router::new()
        .merge(health::router())
        .merge(static_assets::router())
        // Sessions and CSRF checks for browser pages only; the JSON API and webhooks are
        // merged beside this, cookie-free.
        .merge(auth::with_browser_session(browser_pages, &state))
        .merge(api::router())
        .merge(webhook::router())
        .fallback(unknown_route)
        .with_state(state)
        // Layers run bottom-up: the request id is set first, so the span can carry it and
        // the response echoes it. The span is named by route template, never the URI
        // (webhook URIs carry secrets).
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span::make_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// No route matched: the API answers JSON, everything else the 404 page.
async fn unknown_route(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        api::unknown_route()
    } else {
        axum::response::IntoResponse::into_response(crate::page_error::PageError::NotFound)
    }
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
        Ok(Self::from_listener(TcpListener::bind(addr).await?, state))
    }

    /// Serves on a listener bound by the caller (who then knows the port before the state
    /// is built, e.g. for the base URL).
    pub fn from_listener(listener: TcpListener, state: AppState) -> Self {
        Self {
            listener,
            router: router(state),
        }
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
