//! The signal log: every webhook a recorder received, whatever became of it (append-only).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use jt_engine::{Alert, Applied, Note, PriceSource};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::ingest::{IncomingSignal, Rejection, body_hash};
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

/// A signal row about to be written.
#[derive(Debug, Clone)]
pub(crate) struct NewSignal {
    pub recorder_id: RecorderId,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
    pub status: SignalStatus,
    pub action: Option<String>,
    pub ticker: Option<String>,
    pub root: Option<String>,
    pub quantity: Option<i64>,
    pub price: Option<Decimal>,
    pub target_position: Option<i64>,
    pub client_signal_id: Option<String>,
    pub alert_time: Option<String>,
    pub contract: Option<String>,
    pub price_used: Option<Decimal>,
    pub price_source: Option<&'static str>,
    pub position_after: Option<i64>,
    pub delta: Option<i64>,
    pub default_quantity: Option<i32>,
    pub commission_per_contract: Option<Decimal>,
    pub contract_override: Option<String>,
    pub notes: serde_json::Value,
    pub error: Option<String>,
    pub raw_body: Vec<u8>,
    pub body_sha256: Vec<u8>,
    pub content_type: Option<String>,
    pub source_ip: Option<IpAddr>,
}

impl NewSignal {
    /// A rejected-by-default row for what arrived; `kept` is the stored part of the body.
    pub fn new(
        recorder_id: RecorderId,
        seq: i64,
        incoming: &IncomingSignal<'_>,
        kept: &[u8],
    ) -> Self {
        Self {
            recorder_id,
            seq,
            received_at: incoming.received_at,
            status: SignalStatus::Rejected,
            action: None,
            ticker: None,
            root: None,
            quantity: None,
            price: None,
            target_position: None,
            client_signal_id: None,
            alert_time: None,
            contract: None,
            price_used: None,
            price_source: None,
            position_after: None,
            delta: None,
            default_quantity: None,
            commission_per_contract: None,
            contract_override: None,
            notes: serde_json::Value::Array(Vec::new()),
            error: None,
            raw_body: kept.to_vec(),
            body_sha256: body_hash(incoming.body),
            content_type: incoming.content_type.map(str::to_owned),
            source_ip: incoming.source_ip,
        }
    }

    /// Copies what the alert said.
    pub fn describe(&mut self, alert: &Alert) {
        self.action = Some(alert.action.as_str().to_owned());
        self.ticker = Some(alert.ticker.clone());
        self.root = Some(alert.symbol.root.to_string());
        self.quantity = alert.quantity.map(i64::from);
        self.price = alert.price;
        self.target_position = alert.target;
        self.client_signal_id.clone_from(&alert.id);
        self.alert_time.clone_from(&alert.time);
    }

    /// Marks the row rejected with the reason.
    pub fn reject(&mut self, rejection: &Rejection) {
        self.status = SignalStatus::Rejected;
        self.error = Some(rejection.message().to_owned());
    }

    /// Copies what applying it did.
    pub fn record_applied(&mut self, applied: &Applied) {
        self.status = SignalStatus::Accepted;
        self.contract = applied
            .fills
            .iter()
            .find_map(|f| f.contract)
            .or(applied.position.contract)
            .map(|c| c.tradovate_symbol());
        self.price_used = applied.price;
        self.price_source = Some(match applied.price_source {
            PriceSource::Signal => "signal",
            PriceSource::LastKnown => "last_known",
            PriceSource::None => "none",
        });
        self.position_after = Some(applied.position.quantity);
        self.delta = Some(applied.delta);
        self.notes = serde_json::to_value(&applied.notes).unwrap_or_default();
    }
}

/// Inserts the row; returns its id.
pub(crate) async fn insert_signal(tx: &mut TenantTx, s: &NewSignal) -> Result<i64, StoreError> {
    let user = tx.user_id();
    Ok(sqlx::query_scalar(
        "insert into recorded_signals (user_id, recorder_id, seq, received_at, status, action, ticker,
            root, quantity, price, target_position, client_signal_id, alert_time, contract, price_used,
            price_source, position_after, delta, default_quantity, commission_per_contract,
            contract_override, notes, error, raw_body, body_sha256, content_type, source_ip)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
            $20, $21, $22, $23, $24, $25, $26, $27::inet)
         returning id",
    )
    .bind(user)
    .bind(s.recorder_id)
    .bind(s.seq)
    .bind(s.received_at)
    .bind(s.status)
    .bind(&s.action)
    .bind(&s.ticker)
    .bind(&s.root)
    .bind(s.quantity)
    .bind(s.price)
    .bind(s.target_position)
    .bind(&s.client_signal_id)
    .bind(&s.alert_time)
    .bind(&s.contract)
    .bind(s.price_used)
    .bind(s.price_source)
    .bind(s.position_after)
    .bind(s.delta)
    .bind(s.default_quantity)
    .bind(s.commission_per_contract)
    .bind(&s.contract_override)
    .bind(&s.notes)
    .bind(&s.error)
    .bind(&s.raw_body)
    .bind(&s.body_sha256)
    .bind(&s.content_type)
    .bind(s.source_ip.map(|ip| ip.to_string()))
    .fetch_one(tx.conn())
    .await?)
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
