//! The apalis worker: wake-ups pushed by `store::orders::enqueue_orders` (in the signal's
//! transaction) arrive through LISTEN/NOTIFY at commit; a sweep every second is the fallback
//! (lost wake-ups, retries after backoff, lock-outs ending).

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use jt_store::orders::EXECUTION_QUEUE;
use jt_store::{BrokerAccountId, UserId};
use serde::{Deserialize, Serialize};

use crate::executor::Executor;

/// The wake-up job: "this account has orders to send". Its JSON is written by SQL in
/// `enqueue_orders` (`{"user_id", "account_id"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecuteAccount {
    /// The account's owner.
    pub user_id: UserId,
    /// The account.
    pub account_id: BrokerAccountId,
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once (accounts in parallel; one account is never parallel).
    pub concurrency: usize,
    /// How often the apalis queue is polled when no notification comes.
    pub poll_interval: Duration,
    /// How often due orders are swept for.
    pub sweep_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            poll_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(1),
        }
    }
}

async fn execute_account(
    job: ExecuteAccount,
    executor: Data<Arc<Executor>>,
) -> Result<(), BoxDynError> {
    executor.run_account(job.user_id, job.account_id).await?;
    Ok(())
}

/// Runs the execution worker (apalis) and the sweep until `shutdown` completes.
pub async fn run_worker(
    name: &str,
    executor: Arc<Executor>,
    pool: sqlx::PgPool,
    config: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let backend = PostgresStorage::<ExecuteAccount>::new(&pool)
        .with_config(Config::default().queue(EXECUTION_QUEUE))
        .with_pubsub()
        .poll_with_interval(config.poll_interval);
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .concurrency(config.concurrency)
        .data(executor.clone())
        .build(execute_account);
    let sweep = tokio::spawn(sweep(executor, config.sweep_interval));
    let result = worker
        .run_until(async move {
            shutdown.await;
            Ok::<(), std::io::Error>(())
        })
        .await;
    sweep.abort();
    result
}

async fn sweep(executor: Arc<Executor>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = executor.run_due().await {
            tracing::warn!(%error, "order sweep failed; retrying");
        }
    }
}
