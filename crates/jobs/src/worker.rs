//! The apalis workers. Execution: wake-ups pushed by `store::orders::enqueue_orders` (in the
//! signal's transaction) arrive through LISTEN/NOTIFY at commit; a sweep every second is the
//! fallback (lost wake-ups, retries after backoff, lock-outs ending). Verification: every
//! worker process claims the accounts whose check is due once a second (row locks make each
//! claim one process's) and queues a job each, which any worker runs.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use jt_store::job_queue::prune_finished_jobs;
use jt_store::orders::EXECUTION_QUEUE;
use jt_store::verification::{VERIFICATION_QUEUE, queue_due_verifications};
use jt_store::{BrokerAccountId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::executor::Executor;
use crate::verifier::Verifier;

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
    /// How often due verification checks are claimed and queued, and the verification
    /// queue polled.
    pub verification_tick: Duration,
}

/// A verification check: "compare this account with its broker now". Its JSON is written
/// by SQL in `queue_due_verifications` (`{"user_id", "account_id"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyAccount {
    /// The account's owner.
    pub user_id: UserId,
    /// The account.
    pub account_id: BrokerAccountId,
}

/// Verification checks claimed per tick and process (the rest wait for the next tick).
const VERIFICATIONS_PER_TICK: i32 = 200;
/// How often finished jobs are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            poll_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(1),
            verification_tick: Duration::from_secs(1),
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

async fn verify_account(
    job: VerifyAccount,
    verifier: Data<Arc<Verifier>>,
) -> Result<(), BoxDynError> {
    verifier.verify(job.user_id, job.account_id).await?;
    Ok(())
}

/// Runs the execution and verification workers (apalis), the order sweep and the
/// verification scheduler until `shutdown` completes.
pub async fn run_worker(
    name: &str,
    executor: Arc<Executor>,
    pool: sqlx::PgPool,
    config: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
            Ok::<(), std::io::Error>(())
        }
    };
    let execution = WorkerBuilder::new(name)
        .backend(
            PostgresStorage::<ExecuteAccount>::new(&pool)
                .with_config(Config::default().queue(EXECUTION_QUEUE))
                .with_pubsub()
                .poll_with_interval(config.poll_interval),
        )
        .concurrency(config.concurrency)
        .data(executor.clone())
        .build(execute_account);
    let verification = WorkerBuilder::new(format!("{name}-verify"))
        .backend(
            // Polled, not woken: checks are periodic, and a LISTEN would hold one more
            // pooled connection for good.
            PostgresStorage::<VerifyAccount>::new(&pool)
                .with_config(Config::default().queue(VERIFICATION_QUEUE))
                .poll_with_interval(config.verification_tick),
        )
        .concurrency(config.concurrency)
        .data(Arc::new(Verifier::new(executor.clone())))
        .build(verify_account);
    let sweep = tokio::spawn(sweep(executor.clone(), config.sweep_interval));
    let schedule = tokio::spawn(schedule_verifications(
        executor.clone(),
        config.verification_tick,
    ));
    let prune = tokio::spawn(prune_jobs(executor));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let (executed, verified) = tokio::join!(
        execution.run_until(until_stopped()),
        verification.run_until(until_stopped())
    );
    sweep.abort();
    schedule.abort();
    prune.abort();
    executed.and(verified)
}

async fn schedule_verifications(executor: Arc<Executor>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let queued =
            queue_due_verifications(executor.store(), executor.now(), VERIFICATIONS_PER_TICK).await;
        if let Err(error) = queued {
            tracing::warn!(%error, "verification scheduling failed; retrying");
        }
    }
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

async fn prune_jobs(executor: Arc<Executor>) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match prune_finished_jobs(executor.store()).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "finished jobs deleted"),
            Err(error) => tracing::warn!(%error, "finished jobs could not be deleted"),
        }
    }
}
