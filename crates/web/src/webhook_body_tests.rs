//! `read_webhook_body` over real HTTP: our server, a tiny router, raw TCP clients.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::*;
use crate::ServerLimits;

const LIMIT: usize = 16;
/// Generous: only a broken implementation waits this long.
const DEADLINE: Duration = Duration::from_secs(20);

type Outcome = Result<WebhookBody, BodyError>;

/// A server whose only route reads the body with `read_webhook_body` and reports the result
/// both in its answer and on the returned channel.
struct BodyServer {
    addr: SocketAddr,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    _stop: oneshot::Sender<()>,
}

async fn spawn(body_read_timeout: Duration) -> BodyServer {
    let (report, outcomes) = mpsc::unbounded_channel();
    let router = Router::new()
        .route("/hook", post(read_and_report))
        .with_state(report);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits {
        body_read_timeout,
        ..ServerLimits::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(crate::server::serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    BodyServer {
        addr,
        outcomes,
        _stop: stop,
    }
}

async fn read_and_report(
    State(report): State<mpsc::UnboundedSender<Outcome>>,
    body: Body,
) -> (axum::http::StatusCode, String) {
    let outcome = read_webhook_body(body, LIMIT).await;
    let answer = match &outcome {
        Ok(read) => (
            axum::http::StatusCode::OK,
            format!("len={} over={}", read.bytes.len(), read.over_limit),
        ),
        Err(error) => (error.status(), error.to_string()),
    };
    let _ = report.send(outcome);
    answer
}

impl BodyServer {
    /// Opens a connection and sends `head` (request line and headers, without the blank
    /// line), then `body_parts` one write each.
    async fn send(&self, head: &str, body_parts: &[&[u8]]) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let head = format!("POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{head}\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        for part in body_parts {
            stream.write_all(part).await.unwrap();
            stream.flush().await.unwrap();
        }
        stream
    }

    async fn next_outcome(&mut self) -> Outcome {
        tokio::time::timeout(DEADLINE, self.outcomes.recv())
            .await
            .expect("the handler reported in time")
            .expect("the server is running")
    }
}

/// Reads the answer until the server closes the connection.
async fn answer(mut stream: TcpStream) -> String {
    let mut text = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut text))
        .await
        .expect("the server answered and closed in time")
        .unwrap();
    String::from_utf8_lossy(&text).into_owned()
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
    framed.extend_from_slice(data);
    framed.extend_from_slice(b"\r\n");
    framed
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_read_whole() {
    let mut server = spawn(DEADLINE).await;
    let body = [b'a'; LIMIT];
    let stream = server.send("content-length: 16\r\n", &[&body]).await;
    let read = server.next_outcome().await.unwrap();
    assert_eq!(read.bytes.as_ref(), &body[..]);
    assert!(!read.over_limit);
    assert!(answer(stream).await.ends_with("len=16 over=false"));
}

#[tokio::test]
async fn a_body_over_the_limit_keeps_limit_plus_one_bytes() {
    let mut server = spawn(DEADLINE).await;
    let body: Vec<u8> = (0..100u8).collect();
    let stream = server.send("content-length: 100\r\n", &[&body]).await;
    let read = server.next_outcome().await.unwrap();
    assert_eq!(read.bytes.as_ref(), &body[..=LIMIT]);
    assert!(read.over_limit);
    assert!(answer(stream).await.ends_with("len=17 over=true"));
}

#[tokio::test]
async fn chunked_bodies_are_joined() {
    let mut server = spawn(DEADLINE).await;
    let parts = [
        chunk(b"{\"a\":"),
        chunk(b"1"),
        chunk(b"}"),
        b"0\r\n\r\n".to_vec(),
    ];
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let _stream = server.send("transfer-encoding: chunked\r\n", &parts).await;
    let read = server.next_outcome().await.unwrap();
    assert_eq!(read.bytes.as_ref(), b"{\"a\":1}");
    assert!(!read.over_limit);
}

#[tokio::test]
async fn reading_stops_at_limit_plus_one_without_waiting_for_the_rest() {
    // 17 bytes in chunks, then the sender stalls without ending the body: the reader must
    // answer at once, not wait for (or read) the rest.
    let mut server = spawn(DEADLINE).await;
    let parts = [chunk(&[b'x'; 10]), chunk(&[b'y'; 10])];
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let stream = server.send("transfer-encoding: chunked\r\n", &parts).await;
    let read = server.next_outcome().await.unwrap();
    assert_eq!(read.bytes.as_ref(), b"xxxxxxxxxxyyyyyyy");
    assert!(read.over_limit);
    assert!(answer(stream).await.ends_with("len=17 over=true"));
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    let timeout = Duration::from_millis(300);
    let mut server = spawn(timeout).await;
    let started = std::time::Instant::now();
    let stream = server.send("content-length: 10\r\n", &[b"abc"]).await;
    assert_eq!(
        server.next_outcome().await,
        Err(BodyError::TimedOut(timeout))
    );
    assert!(started.elapsed() >= timeout);
    let answer = answer(stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 0.3 s"), "{answer}");
}

#[tokio::test]
async fn a_body_cut_short_is_broken() {
    let mut server = spawn(DEADLINE).await;
    let mut stream = server.send("content-length: 10\r\n", &[b"abc"]).await;
    stream.shutdown().await.unwrap();
    assert_eq!(server.next_outcome().await, Err(BodyError::Broken));
}
