//! Gauges of the whole cluster, set from the database just before each scrape renders: a
//! per-process counter could not know what other web and worker processes did.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jt_store::Store;
use jt_store::job_queue::cluster_gauges;
use jt_store::orders::EXECUTION_QUEUE;

use super::{DISCREPANCIES_OPEN, JOBS_QUEUED, JOBS_RUNNING};

/// A scrape waits this long for the database at most; then it shows the last figures.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Queues this process has reported: one that empties must drop to 0, not keep its last
/// value (an empty queue has no rows to report).
static SEEN_QUEUES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Reads the gauges and sets them. On a database error or timeout the previous values stay
/// (logged): a scrape still answers, with `/readyz` telling that the database is away.
pub(super) async fn refresh(store: &Store) {
    let gauges = match tokio::time::timeout(READ_TIMEOUT, cluster_gauges(store)).await {
        Ok(Ok(gauges)) => gauges,
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: could not read the job queue and discrepancies");
            return;
        }
        Err(_) => {
            tracing::warn!("metrics: the job queue and discrepancies took too long to read");
            return;
        }
    };
    let mut seen = SEEN_QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
    seen.insert(EXECUTION_QUEUE.to_owned());
    seen.extend(gauges.queues.iter().map(|depth| depth.queue.clone()));
    for queue in seen.iter() {
        let depth = gauges.queues.iter().find(|depth| &depth.queue == queue);
        let (queued, running) = depth.map_or((0, 0), |depth| (depth.queued, depth.running));
        metrics::gauge!(JOBS_QUEUED, "queue" => queue.clone()).set(queued as f64);
        metrics::gauge!(JOBS_RUNNING, "queue" => queue.clone()).set(running as f64);
    }
    metrics::gauge!(DISCREPANCIES_OPEN).set(gauges.discrepancies_open as f64);
}
