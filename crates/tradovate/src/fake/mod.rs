//! A fake Tradovate: the same endpoints and JSON shapes as the REST API, everything in
//! memory, and fault injection per account (latency, 5xx, penalty tickets, captcha, 423, 429,
//! hangs, connection resets, accept-then-timeout, rejections).
//!
//! Any username with a non-empty password logs in and gets one account named after it.
//! `GET /_fake/orders` lists every order placed in arrival order; `POST /_fake/faults` takes
//! `{"account", "fault", "count", "endpoint"?, "ms"?, "seconds"?}`.
//!
//! It runs its own accept loop (hyper, one task per connection) so a handler can drop its
//! connection without answering, which `axum::serve` does not allow.

mod faults;
mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

pub use faults::{FaultKind, FaultRequest};
pub use state::{FakeConfig, FakeOrder, FakeStats};

use state::FakeState;

/// Lets a handler drop the connection it is serving (the `reset` fault).
#[derive(Clone)]
pub(crate) struct ConnectionReset(Arc<Notify>);

/// A running fake Tradovate. Dropping it stops the server and every open connection.
pub struct FakeTradovate {
    address: SocketAddr,
    state: Arc<FakeState>,
    task: JoinHandle<()>,
}

impl FakeTradovate {
    /// Starts on an already bound listener (port 0 in tests).
    pub fn start(listener: TcpListener, config: FakeConfig) -> std::io::Result<Self> {
        let address = listener.local_addr()?;
        let state = Arc::new(FakeState::new(config));
        let router = routes::router(state.clone());
        let task = tokio::spawn(accept_loop(listener, router));
        Ok(Self {
            address,
            state,
            task,
        })
    }

    /// Binds `address` and starts.
    pub async fn bind(address: SocketAddr, config: FakeConfig) -> std::io::Result<Self> {
        Self::start(TcpListener::bind(address).await?, config)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The REST base URL to give the client (`http://{address}/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Every order placed so far, in arrival order.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state
            .lock()
            .orders
            .iter()
            .map(|(o, _)| o.clone())
            .collect()
    }

    /// Counters (logins, renewals, order requests).
    pub fn stats(&self) -> FakeStats {
        self.state.lock().stats
    }

    /// Injects a fault (as `POST /_fake/faults` does).
    pub fn inject(&self, fault: FaultRequest) {
        self.state.lock().faults.push(fault);
    }

    /// Invalidates every token handed out (the next authenticated call gets 401).
    pub fn expire_tokens(&self) {
        self.state.lock().tokens.clear();
    }

    /// Serves until `shutdown` completes (the CLI).
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) {
        shutdown.await;
        self.task.abort();
    }
}

impl Drop for FakeTradovate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, router: axum::Router) {
    // Connections live in the set, so aborting this task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let reset = Arc::new(Notify::new());
                let service = router.clone().layer(axum::Extension(ConnectionReset(reset.clone())));
                connections.spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    tokio::select! {
                        _ = connection => {}
                        () = reset.notified() => {}
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
