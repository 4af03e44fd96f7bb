//! Upkeep of the apalis job table: finished jobs are only wake-ups and check requests (the
//! orders, their events and the verification snapshots keep the history), so they are
//! deleted an hour after they end instead of piling up (one per check per account).

use crate::{Store, StoreError};

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
