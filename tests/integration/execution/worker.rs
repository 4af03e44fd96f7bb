//! The apalis worker: an order queued in a committed transaction reaches the fake without
//! any sweep or poll (LISTEN/NOTIFY wake-up).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jt_jobs::{SystemClock, WorkerConfig, run_worker};
use jt_store::account_links::LinkSettings;

use super::support::{buy, set_up};

#[tokio::test]
async fn the_worker_wakes_on_commit_and_sends_the_order() {
    let exec = set_up().await;
    let account = exec.tradovate_account("live-wire").await;
    exec.link(account, LinkSettings::default()).await;
    let executor = Arc::new(jt_jobs::Executor::new(
        exec.app.store.clone(),
        exec.key.clone(),
        Arc::new(SystemClock),
        exec.executor_config(),
    ));
    // Polling and sweeping far slower than the deadline below: only the wake-up can win.
    let config = WorkerConfig {
        concurrency: 2,
        poll_interval: Duration::from_secs(600),
        sweep_interval: Duration::from_secs(600),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(
        "test-worker",
        executor,
        exec.app.store.job_queue_pool(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));
    // Let the first sweep (at start) pass and the listener connect.
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = Instant::now();
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    while exec.fake.orders().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the order never reached the fake"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("signal → order at the fake: {:?}", started.elapsed());
    assert_eq!(exec.fake.orders().len(), 1);
    let _ = stop.send(());
    let _ = worker.await;
}
