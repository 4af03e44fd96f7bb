//! The start page's view of every recorder: the recorder, its open positions and when its
//! last signal arrived, in three queries whatever the number of recorders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::recorders::{Recorder, list_recorders};
use crate::{RecorderId, StoreError, TenantTx};

/// One recorder as the start page lists it.
#[derive(Debug, Clone)]
pub struct RecorderOverview {
    /// The recorder.
    pub recorder: Recorder,
    /// Roots with a non-zero position and their signed quantity, by root.
    pub open_positions: Vec<(String, i64)>,
    /// Arrival of the newest stored signal (any status), if any.
    pub last_signal_at: Option<DateTime<Utc>>,
}

/// The user's recorders (not deleted), oldest first, with open positions and last signal.
pub async fn list_recorder_overviews(
    tx: &mut TenantTx,
) -> Result<Vec<RecorderOverview>, StoreError> {
    let recorders = list_recorders(tx).await?;
    let open: Vec<(RecorderId, String, i64)> = sqlx::query_as(
        "select recorder_id, root, quantity from recorder_positions
         where quantity <> 0 order by root",
    )
    .fetch_all(tx.conn())
    .await?;
    // One index probe per recorder on (recorder_id, seq): the newest row only.
    let last: Vec<(RecorderId, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select r.id, (select s.received_at from recorded_signals s
                       where s.recorder_id = r.id order by s.seq desc limit 1)
         from recorders r where r.status <> 'deleted'",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut open_by_recorder: HashMap<RecorderId, Vec<(String, i64)>> = HashMap::new();
    for (recorder, root, quantity) in open {
        open_by_recorder
            .entry(recorder)
            .or_default()
            .push((root, quantity));
    }
    let last_by_recorder: HashMap<RecorderId, Option<DateTime<Utc>>> = last.into_iter().collect();
    Ok(recorders
        .into_iter()
        .map(|recorder| RecorderOverview {
            open_positions: open_by_recorder.remove(&recorder.id).unwrap_or_default(),
            last_signal_at: last_by_recorder.get(&recorder.id).copied().flatten(),
            recorder,
        })
        .collect())
}
