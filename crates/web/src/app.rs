//! Building the router and running the server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use jt_store::ingest::{IngestConfig, Ingestor};
use jt_store::{SecretKey, Store};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{self, AuthLimits, AuthState};
use crate::client_ip::TrustedProxies;
use crate::in_flight::InFlight;
use crate::live::LiveEvents;
use crate::metrics::endpoint::MetricsConfig;
use crate::pages::PageCaches;
use crate::server::ServerLimits;
use crate::{
    admin, api, health, metrics, pages, request_span, security_headers, static_assets, webhook,
};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Tenant-safe database handle.
    pub store: Store,
    /// Settings fixed at start.
    pub config: Arc<WebConfig>,
    /// Log-in and sign-up attempt limiters.
    pub auth: Arc<AuthState>,
    /// Webhook ingest (group commit). Its tasks run on the runtime that built the state.
    pub ingest: Ingestor,
    /// Webhook tasks still running (shutdown waits for them).
    pub webhooks: InFlight,
    /// Who may scrape `/metrics`, and whether the main listener serves it.
    pub metrics: Arc<MetricsConfig>,
    /// Stored-signal notifications for live pages.
    pub live: LiveEvents,
    /// Statistics and summaries of recorders whose trades have not changed.
    pub caches: PageCaches,
    /// Where brokers are (connection tests of broker accounts).
    pub execution: Arc<jt_jobs::ExecutorConfig>,
}

impl AppState {
    /// State for a server over `store`, with the default attempt and ingest limits. Starts
    /// the ingest tasks, so it must be called inside a tokio runtime.
    pub fn new(store: Store, config: WebConfig) -> Self {
        Self::with_ingest(store, config, IngestConfig::default())
    }

    /// [`AppState::new`] with other ingest settings.
    pub fn with_ingest(store: Store, config: WebConfig, ingest: IngestConfig) -> Self {
        Self {
            ingest: Ingestor::start(store.clone(), ingest),
            live: LiveEvents::new(store.clone()),
            caches: PageCaches::default(),
            store,
            config: Arc::new(config),
            auth: Arc::new(AuthState::default()),
            webhooks: InFlight::default(),
            metrics: Arc::new(MetricsConfig::default()),
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

    /// The same state with `/metrics` guarded or moved as `metrics` says.
    pub fn with_metrics(self, metrics: MetricsConfig) -> Self {
        Self {
            metrics: Arc::new(metrics),
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
    /// `JT_TRUSTED_PROXIES`: whose `Fly-Client-IP`/`X-Forwarded-For` to believe.
    pub trusted_proxies: TrustedProxies,
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
    let browser_pages = auth::router()
        .merge(pages::router())
        .merge(admin::router())
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let metrics = if state.metrics.separate_listener {
        Router::new()
    } else {
        metrics::endpoint::router(&state.metrics, state.store.clone())
    };
    let https = state.config.secure_cookies();
    let router = Router::new()
        .merge(health::router())
        .merge(metrics)
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
        // Outermost: a client's request id is vetted before anything logs or echoes it.
        .layer(axum::middleware::map_request(
            request_span::drop_unsafe_request_id,
        ));
    security_headers::add(router, https)
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
    ingest: Ingestor,
    webhooks: InFlight,
    limits: ServerLimits,
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
            ingest: state.ingest.clone(),
            webhooks: state.webhooks.clone(),
            router: router(state),
            limits: ServerLimits::default(),
        }
    }

    /// The same application with other server timeouts and caps (tests use small ones).
    pub fn with_limits(self, limits: ServerLimits) -> Self {
        Self { limits, ..self }
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests (within the
    /// limits' shutdown grace) and every signal that was received, even from senders that
    /// hung up.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = crate::server::serve(self.listener, self.router, self.limits, shutdown).await;
        drain_webhooks(&self.webhooks, &self.ingest).await;
        served
    }
}

/// Waits for detached webhook tasks and the signals they handed to the ingestor.
async fn drain_webhooks(webhooks: &InFlight, ingest: &Ingestor) {
    let running = webhooks.running();
    if running > 0 || ingest.in_flight() > 0 {
        tracing::info!(
            running,
            queued = ingest.in_flight(),
            "finishing received signals"
        );
    }
    webhooks.idle().await;
    ingest.close();
    // Signals answered "not confirmed" are still being written.
    while ingest.in_flight() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
