//! The dashboard's view of every recorder: the recorder, its positions and its last signal,
//! in three queries whatever the number of recorders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::recorders::{Recorder, list_recorders};
use crate::signal_log::SignalStatus;
use crate::state::PositionRow;
use crate::{RecorderId, StoreError, TenantTx};

/// One recorder as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct RecorderOverview {
    /// The recorder.
    pub recorder: Recorder,
    /// Every root it ever traded (flat ones too), by root, with the user's mark price.
    pub positions: Vec<PositionRow>,
    /// Arrival and fate of the newest stored signal, if any.
    pub last_signal: Option<(DateTime<Utc>, SignalStatus)>,
}

impl RecorderOverview {
    /// Roots with a non-zero position and their signed quantity, by root.
    pub fn open_positions(&self) -> Vec<(String, i64)> {
        self.positions
            .iter()
            .filter(|row| !row.position.is_flat())
            .map(|row| (row.position.root.to_string(), row.position.quantity))
            .collect()
    }

    /// Arrival of the newest stored signal (any status), if any.
    pub fn last_signal_at(&self) -> Option<DateTime<Utc>> {
        self.last_signal.map(|(at, _)| at)
    }
}

/// The user's recorders (not deleted), oldest first, with positions and last signal.
pub async fn list_recorder_overviews(
    tx: &mut TenantTx,
) -> Result<Vec<RecorderOverview>, StoreError> {
    let recorders = list_recorders(tx).await?;
    let rows: Vec<(RecorderId, serde_json::Value, Option<i64>, Option<Decimal>)> = sqlx::query_as(
        "select recorder_id, engine_state, last_signal_id, user_last_price(root)
         from recorder_positions order by root",
    )
    .fetch_all(tx.conn())
    .await?;
    // One index probe per recorder on (recorder_id, seq): the newest row only.
    let last: Vec<(RecorderId, Option<DateTime<Utc>>, Option<SignalStatus>)> = sqlx::query_as(
        "select r.id, s.received_at, s.status from recorders r
         left join lateral (select received_at, status from recorded_signals
                            where recorder_id = r.id order by seq desc limit 1) s on true
         where r.status <> 'deleted'",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut positions: HashMap<RecorderId, Vec<PositionRow>> = HashMap::new();
    for (recorder, state, last_signal_id, mark) in rows {
        let row = PositionRow::decode(recorder, state, last_signal_id, mark)?;
        positions.entry(recorder).or_default().push(row);
    }
    let last_by_recorder: HashMap<RecorderId, (DateTime<Utc>, SignalStatus)> = last
        .into_iter()
        .filter_map(|(recorder, at, status)| Some((recorder, (at?, status?))))
        .collect();
    Ok(recorders
        .into_iter()
        .map(|recorder| RecorderOverview {
            positions: positions.remove(&recorder.id).unwrap_or_default(),
            last_signal: last_by_recorder.get(&recorder.id).copied(),
            recorder,
        })
        .collect())
}
