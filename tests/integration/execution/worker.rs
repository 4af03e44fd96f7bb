//! The apalis worker: an order queued in a committed transaction reaches the fake without
//! any sweep or poll (LISTEN/NOTIFY wake-up); with two workers, per-account order holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jt_jobs::{SystemClock, WorkerConfig, run_worker};
use jt_store::account_links::LinkSettings;
use tokio::sync::oneshot;

use super::support::{Execution, buy, sell, set_up};

/// Starts a worker on the system clock; polling and sweeping far slower than any deadline
/// below, so only the wake-up can deliver.
pub fn start_worker(
    exec: &Execution,
    name: &str,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let executor = Arc::new(jt_jobs::Executor::new(
        exec.app.store.clone(),
        exec.key.clone(),
        Arc::new(SystemClock),
        exec.executor_config(),
    ));
    let config = WorkerConfig {
        concurrency: 4,
        poll_interval: Duration::from_secs(600),
        sweep_interval: Duration::from_secs(600),
        ..WorkerConfig::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let pool = exec.app.store.job_queue_pool();
    let name = name.to_owned();
    let task = tokio::spawn(async move {
        let _ = run_worker(&name, executor, pool, config, async move {
            let _ = stopped.await;
        })
        .await;
    });
    (stop, task)
}

/// Waits until `listeners` worker processes are LISTENing for apalis jobs (a notification
/// sent earlier is lost; the web server's own listeners do not count).
pub async fn wait_for_listeners(exec: &Execution, listeners: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
        let count: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and query ilike 'listen%apalis::job::insert%'",
        )
        .fetch_one(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        if count >= listeners {
            return;
        }
        assert!(Instant::now() < deadline, "the workers never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_orders(exec: &Execution, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while exec.fake.orders().len() < count {
        assert!(Instant::now() < deadline, "orders never reached the fake");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn the_worker_wakes_on_commit_and_sends_the_order() {
    let exec = set_up().await;
    let account = exec.tradovate_account("live-wire").await;
    exec.link(account, LinkSettings::default()).await;
    let (stop, worker) = start_worker(&exec, "test-worker");
    wait_for_listeners(&exec, 1).await;
    let mut latencies = Vec::new();
    for i in 0..20i64 {
        let intent = exec
            .accepted(&buy(1, &format!("{}", 25600 + i)), "NQZ6", 1)
            .await;
        let started = Instant::now();
        exec.enqueue(&[intent]).await;
        wait_for_orders(&exec, usize::try_from(i + 1).unwrap()).await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    eprintln!(
        "enqueue commit → order at the fake, 20 orders: p50 {:?}, max {:?}",
        latencies[10], latencies[19]
    );
    assert_eq!(exec.fake.orders().len(), 20);
    let _ = stop.send(());
    let _ = worker.await;
}

#[tokio::test]
async fn two_workers_keep_one_accounts_orders_in_signal_order() {
    let exec = set_up().await;
    let account = exec.tradovate_account("two-workers").await;
    exec.link(account, LinkSettings::default()).await;
    let (stop_a, a) = start_worker(&exec, "worker-a");
    let (stop_b, b) = start_worker(&exec, "worker-b");
    wait_for_listeners(&exec, 2).await;
    let mut expected = Vec::new();
    for i in 0..40i64 {
        let price = format!("{}", 25600 + i);
        let (body, delta) = if i % 2 == 0 {
            (buy(1, &price), 1)
        } else {
            (sell(2, &price), -2)
        };
        expected.push(exec.signal(&body, "NQZ6", delta).await);
    }
    wait_for_orders(&exec, 40).await;
    let sent: Vec<i64> = exec
        .fake
        .orders()
        .iter()
        .filter_map(|o| o.cl_ord_id.as_deref())
        .map(|cl| cl.split('-').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sent, expected, "in signal order, each once");
    let _ = stop_a.send(());
    let _ = stop_b.send(());
    let _ = a.await;
    let _ = b.await;
}

/// Webhook + enqueue (what ingest will do in one transaction) for `count` signals, each
/// buying 1; returns the sorted latencies.
async fn timed_signals(exec: &Execution, from: i64, count: i64) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for i in from..from + count {
        let started = Instant::now();
        exec.signal(&buy(1, &format!("{}", 25000 + i)), "NQZ6", 1)
            .await;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

#[tokio::test]
async fn a_hanging_broker_slows_neither_signals_nor_tracking() {
    let exec = set_up().await;
    let account = exec.tradovate_account("down").await;
    exec.link(account, LinkSettings::default()).await;
    let (stop, worker) = start_worker(&exec, "worker-down");
    wait_for_listeners(&exec, 1).await;
    let up = timed_signals(&exec, 0, 100).await;
    wait_for_orders(&exec, 100).await;
    // From now on every order request hangs until the client's timeout.
    exec.fake.inject(
        jt_tradovate::fake::FaultRequest::on_orders(
            "down",
            jt_tradovate::fake::FaultKind::Hang,
            100_000,
        )
        .on_endpoint("any"),
    );
    let down = timed_signals(&exec, 100, 200).await;
    let p = |l: &[Duration], q: usize| l[(l.len() * q / 100).min(l.len() - 1)];
    eprintln!(
        "webhook + enqueue: broker up p50 {:?} p99 {:?}; broker hanging p50 {:?} p99 {:?}",
        p(&up, 50),
        p(&up, 99),
        p(&down, 50),
        p(&down, 99)
    );
    // Generous bound for a loaded machine: the hang (400 ms timeouts, retries) never shows.
    assert!(p(&down, 99) < Duration::from_secs(1), "{down:?}");
    let positions = exec
        .app
        .api_json(
            &exec.user,
            &format!("/api/v1/recorders/{}/positions", exec.recorder),
        )
        .await;
    assert_eq!(positions[0]["quantity"], 300, "tracking is exact");
    assert_eq!(positions[0]["signal_count"], 300);
    assert_eq!(
        exec.fake.orders().len(),
        100,
        "nothing placed while the broker hangs"
    );
    let _ = stop.send(());
    let _ = worker.await;
}
