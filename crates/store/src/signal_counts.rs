//! How many signals each recorder has stored, by status, across tenants: the ingest
//! benchmark's "every signal sent was stored" check (and any operator check like it).

use crate::{AdminTx, RecorderId, StoreError};

/// Stored signals of one recorder with one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalCount {
    /// The recorder.
    pub recorder_id: RecorderId,
    /// `accepted`, `rejected`, `duplicate` or `ignored`.
    pub status: String,
    /// How many.
    pub count: i64,
}

/// Every recorder's stored signals by status (recorders without signals are absent).
pub async fn count_signals_by_recorder(tx: &mut AdminTx) -> Result<Vec<SignalCount>, StoreError> {
    let rows: Vec<(RecorderId, String, i64)> = sqlx::query_as(
        "select recorder_id, status, count(*) from recorded_signals
         group by recorder_id, status order by recorder_id, status",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(recorder_id, status, count)| SignalCount {
            recorder_id,
            status,
            count,
        })
        .collect())
}
