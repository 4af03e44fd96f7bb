//! Server timeouts and the connection cap over real TCP: stalled clients are cut off after
//! the (small, test-configured) timeouts while normal webhooks keep answering.

use std::time::{Duration, Instant};

use jt_web::ServerLimits;
use jt_web::testing::{TestApp, TestUser, spawn_app_with_server_limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: only a server that never cuts the client off waits this long.
const DEADLINE: Duration = Duration::from_secs(30);
const BUY: &str = r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":25600}"#;

/// An app with `limits`, a user and one recorder: `(app, user, recorder id, webhook URL)`.
pub(crate) async fn app_with_webhook(limits: ServerLimits) -> (TestApp, TestUser, String, String) {
    let app = spawn_app_with_server_limits(limits).await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "NQ strategy").await;
    let field = |name: &str| recorder[name].as_str().unwrap_or_default().to_owned();
    let (id, url) = (field("id"), field("webhook_url"));
    (app, user, id, url)
}

/// A raw client that has sent `bytes` and then stalls.
async fn stalled(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn until_closed(mut stream: TcpStream) -> (String, Instant) {
    let mut received = Vec::new();
    // A reset instead of a clean close also counts as closed.
    let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut received))
        .await
        .expect("the server closed the stalled connection");
    (
        String::from_utf8_lossy(&received).into_owned(),
        Instant::now(),
    )
}

/// A webhook on a fresh connection (so it cannot reuse a kept-alive one): status and time.
async fn timed_webhook(url: &str) -> (u16, Duration) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "text/plain")
        .body(BUY)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), started.elapsed())
}

#[tokio::test]
async fn stalled_clients_are_disconnected_while_a_normal_webhook_answers_fast() {
    let timeout = Duration::from_secs(2);
    let limits = ServerLimits {
        first_byte_timeout: timeout,
        header_read_timeout: timeout,
        body_read_timeout: timeout,
        ..ServerLimits::default()
    };
    let (app, _, _, url) = app_with_webhook(limits).await;
    let path = url.trim_start_matches(&app.address).to_owned();
    let started = Instant::now();

    let silent = stalled(&app, b"").await;
    let half_header = stalled(&app, b"POST /webhook/x HTTP/1.1\r\nhost: a\r\ncontent-le").await;
    let promised_body = format!(
        "POST {path} HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n{{\"action\""
    );
    let promised_body = stalled(&app, promised_body.as_bytes()).await;
    // A kept-alive connection that goes idle after one answered request.
    let mut idle = stalled(&app, b"GET /healthz HTTP/1.1\r\nhost: a\r\n\r\n").await;
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    // Meanwhile a normal webhook is answered at once: nothing waits for the stalled ones.
    let (status, took) = timed_webhook(&url).await;
    assert_eq!(status, 200);
    assert!(took < timeout, "the webhook took {took:?}");

    let (sent, silent_closed) = until_closed(silent).await;
    assert_eq!(sent, "", "nothing is sent to a silent connection");
    let (_, half_closed) = until_closed(half_header).await;
    let (answer, body_closed) = until_closed(promised_body).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a stalled body gets a 4xx at most: {answer}"
    );
    let (_, idle_closed) = until_closed(idle).await;
    for (name, closed) in [
        ("silent", silent_closed),
        ("half header", half_closed),
        ("promised body", body_closed),
        ("idle keep-alive", idle_closed),
    ] {
        let after = closed - started;
        assert!(
            after >= timeout,
            "{name} closed before its timeout: {after:?}"
        );
    }

    // The server is still healthy afterwards.
    let (status, _) = timed_webhook(&url).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_connection_cap_holds_new_connections_until_a_slot_frees() {
    let timeout = Duration::from_millis(1500);
    let limits = ServerLimits {
        first_byte_timeout: timeout,
        // Also closes the set-up client's kept-alive connection after the same time.
        header_read_timeout: timeout,
        max_connections: 2,
        ..ServerLimits::default()
    };
    let (app, _, _, url) = app_with_webhook(limits).await;
    // Two silent connections fill the cap (with the set-up client's idle one, one waits in
    // the listen backlog).
    let first = stalled(&app, b"").await;
    let second = stalled(&app, b"").await;

    let (status, took) = timed_webhook(&url).await;
    assert_eq!(status, 200, "answered once a slot freed");
    assert!(
        took >= Duration::from_secs(1),
        "a connection over the cap waits for a slot; answered after {took:?}"
    );
    let (first_sent, _) = until_closed(first).await;
    let (second_sent, _) = until_closed(second).await;
    assert_eq!((first_sent.as_str(), second_sent.as_str()), ("", ""));

    // With the silent ones gone, new connections are served at once again.
    let (status, took) = timed_webhook(&url).await;
    assert_eq!(status, 200);
    assert!(took < timeout, "took {took:?}");
}
