//! The signal log: every webhook a recorder received, whatever became of it (append-only).

use chrono::{DateTime, Utc};
use jt_engine::Note;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::paging::split_page;
use crate::{RecorderId, StoreError, TenantTx};

/// What became of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum SignalStatus {
    /// Applied to the position.
    Accepted,
    /// Refused; `error` says why.
    Rejected,
    /// Repeat of an accepted signal.
    Duplicate,
    /// The recorder was paused.
    Ignored,
}

/// A signal as the log shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SignalRow {
    /// Id.
    pub id: i64,
    /// Per-recorder sequence number.
    pub seq: i64,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// Fate.
    pub status: SignalStatus,
    /// Action as parsed.
    pub action: Option<String>,
    /// Ticker as given.
    pub ticker: Option<String>,
    /// Quantity as given.
    pub quantity: Option<i64>,
    /// Price used (the alert's, or the last known one).
    pub price: Option<Decimal>,
    /// Signed position of the root afterwards.
    pub position_after: Option<i64>,
    /// Notes (resync, close when flat, …) in words.
    #[sqlx(skip)]
    pub note: Option<String>,
    /// Why it was rejected.
    pub error: Option<String>,
    #[serde(skip)]
    notes: serde_json::Value,
}

impl SignalRow {
    /// Whether applying it healed a missed or extra signal (a resync note), which the log
    /// marks so the user notices.
    pub fn is_resync(&self) -> bool {
        serde_json::from_value::<Vec<Note>>(self.notes.clone())
            .is_ok_and(|notes| notes.iter().any(|n| matches!(n, Note::Resync { .. })))
    }
}

/// Newest first; `before` is a `seq` cursor. Returns up to `limit` rows and the next cursor.
/// (No `$2 is null or …`: a cached generic plan could not use the index bound with it, and
/// a deep page of a 1 M-signal log would scan from the newest row.)
pub async fn list_signals(
    tx: &mut TenantTx,
    recorder: RecorderId,
    limit: i64,
    before: Option<i64>,
) -> Result<(Vec<SignalRow>, Option<i64>), StoreError> {
    let rows: Vec<SignalRow> = sqlx::query_as(
        "select id, seq, received_at, status, action, ticker, quantity,
                coalesce(price_used, price) as price, position_after, error, notes
         from recorded_signals
         where recorder_id = $1 and seq < coalesce($2, 9223372036854775807)
         order by seq desc limit $3",
    )
    .bind(recorder)
    .bind(before)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let (mut rows, next) = split_page(rows, limit, |r| r.seq);
    for row in &mut rows {
        row.note = notes_text(&row.notes);
    }
    Ok((rows, next))
}

/// The stored engine notes in words, for the signal log.
pub(crate) fn notes_text(notes: &serde_json::Value) -> Option<String> {
    let notes: Vec<Note> = serde_json::from_value(notes.clone()).ok()?;
    let text: Vec<String> = notes.iter().map(note_text).collect();
    (!text.is_empty()).then(|| text.join("; "))
}

fn note_text(note: &Note) -> String {
    match note {
        Note::Resync {
            from_action,
            target,
        } => format!(
            "resync: the alert's target position {target} differs from {from_action} expected from the action; the target was applied"
        ),
        Note::CloseWhenFlat => "close while flat: nothing to do".to_owned(),
        Note::CloseOtherSide { action, quantity } => {
            format!("{action} while the position is {quantity}: nothing to do")
        }
        Note::PriceFromLastKnown { price } => {
            format!("no price in the alert: used the last known price {price}")
        }
        Note::ClosedWithoutPrice => {
            "closed without any known price: booked at the average entry (zero P&L)".to_owned()
        }
        Note::NotExecutable { root } => {
            format!("{root} has no built-in contract spec: tracked in points, not executable")
        }
        Note::HeldContract { held, current } => {
            format!("added to the held contract {held} (new entries now go to {current})")
        }
    }
}

/// Exactly what arrived for one signal (as stored: at most the body limit), with its
/// content type; `None` when the recorder has no signal with that number.
pub async fn signal_raw_body(
    tx: &mut TenantTx,
    recorder: RecorderId,
    seq: i64,
) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "select raw_body, content_type from recorded_signals where recorder_id = $1 and seq = $2",
    )
    .bind(recorder)
    .bind(seq)
    .fetch_optional(tx.conn())
    .await?)
}
