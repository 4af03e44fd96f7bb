//! Our own accept loop (instead of `axum::serve`): timeouts for slow or silent clients, a cap
//! on open connections and a bounded graceful shutdown.
//!
//! Why not `axum::serve`: axum 0.8 builds hyper's connection without a timer, so hyper's
//! header read timeout silently does nothing, and it has no connection cap or body timeout.
//! A client that sends half a header, or promises a body and stalls, would hold its
//! connection (and its task) forever.
//!
//! Only HTTP/1.1 is served (the `auto` builder's protocol sniffing reads without any timeout,
//! hyper #3756; no client of ours needs HTTP/2 without TLS).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::Service;

/// Timeouts and caps of the HTTP server. `Default` gives the production values (README,
/// "Configuration"); tests set small ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A new connection must send its first byte within this time, or it is closed.
    pub first_byte_timeout: Duration,
    /// A request's head (request line and headers) must be complete within this time of
    /// hyper starting to wait for it. hyper starts the same timer when a kept-alive
    /// connection waits for its next request, so this is also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// The whole request body must have arrived within this time of its head; a body that
    /// stalls past it fails with [`BodyTimedOut`] (the handler answers, the connection
    /// closes).
    pub body_read_timeout: Duration,
    /// Most connections open at once. At the cap the server stops accepting: new
    /// connections wait in the kernel's listen backlog until a slot frees (every slot is
    /// freed within the timeouts above), rather than being refused.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            first_byte_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The error a request body yields when it has not fully arrived within
/// [`ServerLimits::body_read_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets
/// in-flight requests finish (at most [`ServerLimits::shutdown_grace`]) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut http = http1::Builder::new();
    // half_close: a sender that shuts its side right after the body (TradingView hanging up)
    // must not make hyper drop a request it has already read; the webhook records it.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .half_close(true);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Reap finished connection tasks so the set stays small.
            Some(_) = connections.join_next() => {}
            accepted = accept_within_cap(&listener, &slots) => {
                let Some((stream, peer, slot)) = accepted else { continue };
                let connection = Connection {
                    router: router.clone(),
                    http: http.clone(),
                    limits,
                    peer,
                    stopping: stopping.clone(),
                    _slot: slot,
                };
                connections.spawn(connection.run(stream));
            }
        }
    }
    drop(listener);
    // Connections finish their current request and close; idle ones close at once.
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still busy after the shutdown grace period: closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Waits for a free connection slot, then accepts. `None` after an accept error (logged);
/// errors such as "too many open files" are retried after a pause rather than ending the
/// server. Cancel-safe: dropping it before the accept releases the slot.
async fn accept_within_cap(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this only fails if that changes.
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, peer)) => Some((stream, peer, slot)),
        Err(error) => {
            tracing::warn!(%error, "accepting a connection failed");
            if !is_connection_error(&error) {
                // Out of file descriptors or similar: give the process a moment.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None
        }
    }
}

/// Errors that concern only the one connection being accepted.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// One accepted connection and what it needs; holds its slot until it ends.
struct Connection {
    router: Router,
    http: http1::Builder,
    limits: ServerLimits,
    peer: SocketAddr,
    stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        // A connection that never sends a byte: hyper's header timer is not trusted with it
        // (hyper #3756), so it gets its own, shorter deadline.
        // `peek`, not `readable()`: readiness may be reported before any byte is there.
        let mut first = [0u8; 1];
        let first_byte =
            tokio::time::timeout(self.limits.first_byte_timeout, stream.peek(&mut first));
        tokio::select! {
            peeked = first_byte => match peeked {
                // Data (or a clean close, which hyper handles).
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return,
            },
            () = stop_requested(&mut self.stopping) => return,
        }
        // Answers are small and written whole: send them without Nagle's delay.
        let _ = stream.set_nodelay(true);
        let (router, peer, body_timeout) = (self.router, self.peer, self.limits.body_read_timeout);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&in_flight);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let body = DeadlineBody::new(body, body_timeout);
            let guard = InFlight::enter(&counter);
            let answer = router.clone().call(hyper::Request::from_parts(parts, body));
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| GuardedBody {
                    body,
                    _guard: guard,
                }))
            }
        });
        let connection = self.http.serve_connection(TokioIo::new(stream), service);
        let mut connection = pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stop_requested(&mut self.stopping) => {
                connection.as_mut().graceful_shutdown();
                finish_or_drop_when_idle(connection, &in_flight).await
            }
        };
        if let Err(error) = result {
            // Timeouts, resets and malformed requests: the client's problem, not ours.
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}

/// After `graceful_shutdown`, hyper finishes a request in flight, and closes an idle
/// connection at once; but a connection still receiving a request head would be kept until
/// its header timeout. Such a connection (nothing handed to the router, checked a few times a
/// second) is dropped: nothing was received from it yet.
async fn finish_or_drop_when_idle<C>(
    mut connection: Pin<&mut C>,
    in_flight: &AtomicUsize,
) -> C::Output
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    loop {
        tokio::select! {
            biased;
            result = connection.as_mut() => return result,
            () = tokio::time::sleep(IDLE_CHECK) => {
                if in_flight.load(Ordering::Acquire) == 0 {
                    return Ok(());
                }
            }
        }
    }
}

/// How often a stopping connection checks whether it still serves a request.
const IDLE_CHECK: Duration = Duration::from_millis(250);

/// Counts a request from the moment hyper hands it to the router until hyper drops its
/// response body (the answer has been written out).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted while hyper writes it.
struct GuardedBody {
    body: axum::body::Body,
    _guard: InFlight,
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Resolves once shutdown begins (or the server is gone).
async fn stop_requested(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here.
    let _ = stopping.wait_for(|stop| *stop).await.is_ok();
}

/// A request body that must be complete by a deadline set when its head arrived. The timer
/// is only created if the body is not already there when first read (most bodies are).
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            timer: None,
            timed_out: false,
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            this.timed_out = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
