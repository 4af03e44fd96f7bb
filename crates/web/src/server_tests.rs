//! Graceful shutdown of our accept loop, over real TCP with a tiny router.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// `GET /slow` reports that it started, then answers (with the peer's port) once the test
/// adds a permit to `release`.
#[derive(Clone)]
struct Slow {
    started: mpsc::UnboundedSender<()>,
    release: Arc<Semaphore>,
}

async fn slow(State(slow): State<Slow>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    let _ = slow.started.send(());
    let _permit = slow.release.acquire().await.unwrap();
    format!("done for port {}", peer.port())
}

struct Running {
    addr: SocketAddr,
    started: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ServerLimits) -> Running {
    let (started_tx, started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let router = Router::new().route("/slow", get(slow)).with_state(Slow {
        started: started_tx,
        release: Arc::clone(&release),
    });
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        started,
        release,
        stop,
        served,
    }
}

/// Sends `GET /slow` and waits until the handler runs.
async fn request_in_flight(running: &mut Running) -> TcpStream {
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(DEADLINE, running.started.recv())
        .await
        .unwrap()
        .unwrap();
    stream
}

async fn read_all(mut stream: TcpStream) -> String {
    let mut text = Vec::new();
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut text))
        .await
        .unwrap();
    String::from_utf8_lossy(&text).into_owned()
}

/// Waits until the listener is gone (connecting is refused).
async fn wait_until_refused(addr: SocketAddr) {
    let deadline = Instant::now() + DEADLINE;
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after shutdown");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_the_request_in_flight_finish() {
    let mut running = start(ServerLimits::default()).await;
    let stream = request_in_flight(&mut running).await;
    let local_port = stream.local_addr().unwrap().port();
    running.stop.send(()).unwrap();
    wait_until_refused(running.addr).await;
    assert!(!running.served.is_finished(), "waits for the request");

    running.release.add_permits(1);
    let answer = read_all(stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The handler saw the client's address (ConnectInfo).
    assert!(
        answer.ends_with(&format!("done for port {local_port}")),
        "{answer}"
    );
    tokio::time::timeout(DEADLINE, running.served)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_that_outlast_the_grace_period() {
    let grace = Duration::from_millis(300);
    let mut running = start(ServerLimits {
        shutdown_grace: grace,
        ..ServerLimits::default()
    })
    .await;
    let stream = request_in_flight(&mut running).await;
    let stopping = Instant::now();
    running.stop.send(()).unwrap();
    tokio::time::timeout(DEADLINE, running.served)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() >= grace);
    assert_eq!(read_all(stream).await, "", "dropped without an answer");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_byte_timeout() {
    // The header timer is long here: only the first-byte timeout can close it this early.
    let first_byte = Duration::from_millis(300);
    let running = start(ServerLimits {
        first_byte_timeout: first_byte,
        header_read_timeout: Duration::from_secs(60),
        ..ServerLimits::default()
    })
    .await;
    let opened = Instant::now();
    let silent = TcpStream::connect(running.addr).await.unwrap();
    assert_eq!(read_all(silent).await, "");
    let closed_after = opened.elapsed();
    assert!(
        closed_after >= first_byte && closed_after < Duration::from_secs(10),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn shutdown_drops_connections_still_waiting_for_a_request_head() {
    // Long timeouts and grace: only the shutdown can close these connections quickly.
    let mut running = start(ServerLimits {
        header_read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(60),
        ..ServerLimits::default()
    })
    .await;
    let mut half_header = TcpStream::connect(running.addr).await.unwrap();
    half_header
        .write_all(b"GET /slow HTTP/1.1\r\nhost: te")
        .await
        .unwrap();
    let in_flight = request_in_flight(&mut running).await;
    let stopping = Instant::now();
    running.stop.send(()).unwrap();
    assert_eq!(read_all(half_header).await, "", "dropped without an answer");
    assert!(stopping.elapsed() < Duration::from_secs(10));
    // The request in flight is still served.
    running.release.add_permits(1);
    assert!(read_all(in_flight).await.starts_with("HTTP/1.1 200"));
    tokio::time::timeout(DEADLINE, running.served)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
