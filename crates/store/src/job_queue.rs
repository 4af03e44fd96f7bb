//! The apalis job table (`apalis.jobs`, no tenant data): how much background work waits and
//! runs across every process, so the figure is right however many workers run; and its
//! upkeep. Finished jobs are only wake-ups and check requests (orders, their events and the
//! verification snapshots keep the history), so they are deleted an hour after they end
//! instead of piling up (one per check per account).

use sqlx::PgConnection;

use crate::{Store, StoreError};

/// One queue's unfinished jobs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueDepth {
    /// The queue (`apalis.jobs.job_type`), e.g. [`crate::orders::EXECUTION_QUEUE`].
    pub queue: String,
    /// Waiting: pending, fetched by a worker but not started, or failed with attempts left.
    pub queued: i64,
    /// Running now.
    pub running: i64,
}

/// Unfinished jobs per queue (queues with none are absent), by queue name.
pub(crate) async fn queue_depths(conn: &mut PgConnection) -> Result<Vec<QueueDepth>, StoreError> {
    // The predicate is the partial index jt_jobs_live's: apalis keeps finished jobs, and
    // this reads only the unfinished ones.
    Ok(sqlx::query_as(
        "select job_type as queue,
                count(*) filter (where status <> 'Running') as queued,
                count(*) filter (where status = 'Running') as running
         from apalis.jobs
         where status in ('Pending', 'Queued', 'Running')
            or (status = 'Failed' and attempts < max_attempts)
         group by job_type order by job_type",
    )
    .fetch_all(conn)
    .await?)
}

/// The cluster-wide gauges of `/metrics`, read at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterGauges {
    /// Unfinished jobs per queue.
    pub queues: Vec<QueueDepth>,
    /// Verification discrepancies not yet closed, all users.
    pub discrepancies_open: i64,
}

/// Reads [`ClusterGauges`] on one connection. Cross-tenant, but only counts: open
/// discrepancies come from a narrow `SECURITY DEFINER` function that returns one number.
pub async fn cluster_gauges(store: &Store) -> Result<ClusterGauges, StoreError> {
    let mut conn = store.unscoped_pool().acquire().await?;
    let queues = queue_depths(&mut conn).await?;
    let discrepancies_open: i64 = sqlx::query_scalar("select open_discrepancy_count()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(ClusterGauges {
        queues,
        discrepancies_open,
    })
}

/// How long finished jobs stay, for looking into a recent problem.
pub const FINISHED_JOB_RETENTION_SECS: i32 = 3_600;

/// Deletes jobs done, killed or out of attempts for longer than the retention. Returns how
/// many. Safe with several workers (a row is deleted once).
pub async fn prune_finished_jobs(store: &Store) -> Result<u64, StoreError> {
    let deleted = sqlx::query(
        "delete from apalis.jobs
         where (status in ('Done', 'Killed')
                or (status = 'Failed' and attempts >= max_attempts))
           and coalesce(done_at, run_at) < now() - make_interval(secs => $1)",
    )
    .bind(FINISHED_JOB_RETENTION_SECS)
    .execute(store.unscoped_pool())
    .await?;
    Ok(deleted.rows_affected())
}
