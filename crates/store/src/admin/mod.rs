//! Reads for the admin console, across tenants. Every function takes an [`AdminTx`]
//! (`app.role = 'admin'`, so the admin read policies apply): row-level security stays on.
//!
//! Per-user signal totals come from `user_signal_stats`, kept by a statement-level trigger
//! on `recorded_signals` (see the admin migration), never from scanning the signal log.
//!
//! [`AdminTx`]: crate::AdminTx

pub mod audit_log;
pub mod execution_health;
pub mod system_health;
pub mod user_detail;
pub mod user_execution;
pub mod user_list;

use crate::{AdminTx, Store, StoreError};

/// Folds the pending per-statement signal deltas into the per-user totals and the
/// per-minute rate, so what an admin page reads next is exact.
pub async fn fold_signal_deltas(tx: &mut AdminTx) -> Result<(), StoreError> {
    sqlx::query("select fold_user_signal_deltas()")
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// [`fold_signal_deltas`] in a transaction of its own: the periodic fold that keeps the
/// delta table small when nobody looks at the admin console.
pub async fn fold_signal_deltas_now(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.admin("fold").await?;
    fold_signal_deltas(&mut tx).await?;
    tx.commit().await
}
