//! Ingest that never misses a signal (issue 8): hang-ups, group commit, admission, shutdown.

mod admission;
mod group_commit;
mod hangups;
mod remembered_facts;

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use jt_store::ingest::{Ingestor, SignalArrival, Submitted, WebhookTarget};
use jt_store::{RecorderId, Store, TenantTx, UserId};
use jt_web::testing::{TestApp, TestUser};
use tokio::io::AsyncWriteExt;

/// The live recorder behind a webhook URL, as `ingestor` knows it.
async fn target_of(ingestor: &Ingestor, url: &str) -> WebhookTarget {
    let token = url.rsplit('/').next().unwrap();
    ingestor.target(token).await.unwrap().expect("live token")
}

/// Submits `body` as TradingView sends it (`text/plain`) straight to `ingestor`, no HTTP.
fn submit_text(ingestor: &Ingestor, target: WebhookTarget, body: impl Into<Vec<u8>>) -> Submitted {
    ingestor
        .submit(SignalArrival {
            target,
            body: body.into(),
            content_type: Some("text/plain".to_owned()),
            source_ip: None,
            received_at: Utc::now().trunc_subsecs(6),
        })
        .expect("admitted")
}

/// A recorder of `user`: its id and webhook URL.
async fn recorder(app: &TestApp, user: &TestUser, name: &str) -> (RecorderId, String) {
    let recorder = app.create_recorder(user, name).await;
    let id = RecorderId::from_str(recorder["id"].as_str().unwrap()).unwrap();
    (id, recorder["webhook_url"].as_str().unwrap().to_owned())
}

/// How a sender leaves after writing its request.
#[derive(Clone, Copy)]
enum HangUp {
    /// Closes at once (FIN).
    Close,
    /// Resets the connection (SO_LINGER 0) once the server has read the body. A reset sent
    /// sooner can make the server's kernel drop bytes the application never read: a body
    /// that never arrived cannot be recorded by anyone.
    ResetAfterReceipt,
}

/// Sends a webhook over a raw connection and hangs up before the answer.
async fn send_and_hang_up(app: &TestApp, url: &str, body: &str, how: HangUp) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let admitted = app.ingest.admitted();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "POST /{path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    match how {
        HangUp::Close => stream.shutdown().await.unwrap(),
        HangUp::ResetAfterReceipt => {
            let deadline = Instant::now() + Duration::from_secs(60);
            while app.ingest.admitted() == admitted {
                assert!(Instant::now() < deadline, "the body was never read");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            #[allow(deprecated, reason = "set_linger is the way to send a reset")]
            stream.set_linger(Some(Duration::ZERO)).unwrap();
        }
    }
    drop(stream);
}

/// Signals stored for a recorder, by status.
async fn stored(store: &Store, user: UserId, recorder: RecorderId) -> Vec<(i64, String)> {
    let mut tx = store.tenant(user).await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select seq, status from recorded_signals where recorder_id = $1 order by seq",
    )
    .bind(recorder)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows
}

/// Waits (generously) until the recorder has `count` stored signals.
async fn wait_for_stored(store: &Store, user: UserId, recorder: RecorderId, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = stored(store, user, recorder).await.len();
        if now >= count {
            assert_eq!(now, count, "more signals stored than sent");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {now} of {count} signals stored"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Holds the recorder's row lock in an open transaction: ingest of its signals waits.
async fn lock_recorder(store: &Store, user: UserId, recorder: RecorderId) -> TenantTx {
    let mut tx = store.tenant(user).await.unwrap();
    sqlx::query("select 1 from recorders where id = $1 for update")
        .bind(recorder)
        .execute(tx.conn())
        .await
        .unwrap();
    tx
}

/// Waits until at least `n` other sessions wait for a lock: the batch is blocked.
async fn wait_for_lock_waiters(lock: &mut TenantTx, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar("select count(*) from pg_locks where not granted")
            .fetch_one(lock.conn())
            .await
            .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no batch is waiting for the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the server holds `n` admitted, unanswered signals.
async fn wait_for_in_flight(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.ingest.in_flight() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} signals admitted",
            app.ingest.in_flight()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Replaying the recorder's stored signals gives exactly its stored positions and trades.
async fn assert_replay_matches(store: &Store, recorder: RecorderId, signals: usize) {
    let report = jt_store::rebuild::rebuild_recorder(store, recorder, false)
        .await
        .unwrap();
    assert_eq!(report.signals, signals);
    assert_eq!(report.differences, Vec::<String>::new());
}
