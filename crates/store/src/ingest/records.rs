//! The rows ingest (and rebuild) write, as JSON objects whose keys are the column names the
//! SQL functions `ingest_apply`, `write_positions` and `write_trades` read.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use jt_engine::{Alert, Applied, Note, Position, Trade};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::RecorderId;
use crate::apply_settings::{ApplySettings, price_source_text};
use crate::signal_log::SignalStatus;

/// One row of `recorded_signals`.
#[derive(Debug, Serialize)]
pub(crate) struct SignalRecord {
    pub recorder_id: RecorderId,
    pub seq: i64,
    pub received_at: DateTime<Utc>,
    pub status: SignalStatus,
    #[serde(flatten)]
    pub alert: Option<AlertFields>,
    #[serde(flatten)]
    pub applied: Option<AppliedFields>,
    /// The settings an accepted signal was applied with (replay needs them).
    #[serde(flatten)]
    pub settings: Option<ApplySettings>,
    pub notes: Vec<Note>,
    #[serde(serialize_with = "pg_text_opt")]
    pub error: Option<String>,
    #[serde(serialize_with = "hex")]
    pub raw_body: Vec<u8>,
    #[serde(serialize_with = "hex")]
    pub body_sha256: Vec<u8>,
    #[serde(serialize_with = "pg_text_opt")]
    pub content_type: Option<String>,
    pub source_ip: Option<IpAddr>,
}

/// What the alert said.
#[derive(Debug, Serialize)]
pub(crate) struct AlertFields {
    action: &'static str,
    #[serde(serialize_with = "pg_text")]
    ticker: String,
    root: String,
    quantity: Option<i64>,
    price: Option<Decimal>,
    target_position: Option<i64>,
    #[serde(serialize_with = "pg_text_opt")]
    client_signal_id: Option<String>,
    #[serde(serialize_with = "pg_text_opt")]
    alert_time: Option<String>,
}

impl AlertFields {
    pub fn of(alert: &Alert) -> Self {
        Self {
            action: alert.action.as_str(),
            ticker: alert.ticker.clone(),
            root: alert.symbol.root.to_string(),
            quantity: alert.quantity.map(i64::from),
            price: alert.price,
            target_position: alert.target,
            client_signal_id: alert.id.clone(),
            alert_time: alert.time.clone(),
        }
    }
}

/// What applying it did.
#[derive(Debug, Serialize)]
pub(crate) struct AppliedFields {
    contract: Option<String>,
    price_used: Option<Decimal>,
    price_source: &'static str,
    position_after: i64,
    delta: i64,
}

impl AppliedFields {
    pub fn of(applied: &Applied) -> Self {
        Self {
            contract: applied
                .fills
                .iter()
                .find_map(|f| f.contract)
                .or(applied.position.contract)
                .map(|c| c.tradovate_symbol()),
            price_used: applied.price,
            price_source: price_source_text(applied.price_source),
            position_after: applied.position.quantity,
            delta: applied.delta,
        }
    }
}

/// One row of `recorder_positions`; names its last signal by sequence number.
#[derive(Debug, Serialize)]
pub(crate) struct PositionRecord<'a> {
    recorder_id: RecorderId,
    root: &'a str,
    contract: Option<String>,
    side: &'static str,
    quantity: i64,
    avg_entry_price: Decimal,
    realized_pnl: Decimal,
    commission: Decimal,
    last_price: Option<Decimal>,
    /// Set when a signal carried its own price: the root's last price is then fresh.
    last_price_at: Option<DateTime<Utc>>,
    signal_count: u64,
    last_signal_seq: i64,
    opened_at: Option<DateTime<Utc>>,
    engine_state: &'a Position,
}

impl<'a> PositionRecord<'a> {
    pub fn new(
        recorder_id: RecorderId,
        position: &'a Position,
        last_signal_seq: i64,
        last_price_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            recorder_id,
            root: position.root.as_str(),
            contract: position.contract.map(|c| c.tradovate_symbol()),
            side: match position.quantity.signum() {
                1 => "long",
                -1 => "short",
                _ => "flat",
            },
            quantity: position.quantity,
            avg_entry_price: position.avg_entry_price,
            realized_pnl: position.realized_pnl,
            commission: position.commission,
            last_price: position.last_price,
            last_price_at,
            signal_count: position.signal_count,
            last_signal_seq,
            opened_at: position.opened_at,
            engine_state: position,
        }
    }
}

/// One row of `trades`; names its closing signal by sequence number.
#[derive(Debug, Serialize)]
pub(crate) struct TradeRecord<'a> {
    recorder_id: RecorderId,
    closing_seq: i64,
    root: &'a str,
    contract: Option<String>,
    side: jt_engine::Side,
    quantity: i64,
    entries: u64,
    exits: u64,
    avg_entry_price: Decimal,
    avg_exit_price: Decimal,
    realized_points: Decimal,
    realized_pnl: Decimal,
    commission: Decimal,
    net_pnl: Decimal,
    mae: Decimal,
    mfe: Decimal,
    opened_at: DateTime<Utc>,
    closed_at: DateTime<Utc>,
    duration_seconds: i64,
    engine_trade: &'a Trade,
}

impl<'a> TradeRecord<'a> {
    pub fn new(recorder_id: RecorderId, closing_seq: i64, trade: &'a Trade) -> Self {
        Self {
            recorder_id,
            closing_seq,
            root: trade.root.as_str(),
            contract: trade.contract.map(|c| c.tradovate_symbol()),
            side: trade.side,
            quantity: trade.max_quantity,
            entries: trade.entries,
            exits: trade.exits,
            avg_entry_price: trade.avg_entry_price,
            avg_exit_price: trade.avg_exit_price,
            realized_points: trade.realized_points,
            realized_pnl: trade.realized_pnl,
            commission: trade.commission,
            net_pnl: trade.net_pnl,
            mae: trade.mae,
            mfe: trade.mfe,
            opened_at: trade.opened_at,
            closed_at: trade.closed_at,
            duration_seconds: trade.duration_seconds,
            engine_trade: trade,
        }
    }
}

fn hex<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// PostgreSQL text (and jsonb) cannot hold NUL. Parsing rejects control characters before
/// anything is stored; this is the last guard, so one odd value can never fail a batch.
fn pg_text<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    if text.contains('\0') {
        serializer.serialize_str(&text.replace('\0', "\u{fffd}"))
    } else {
        serializer.serialize_str(text)
    }
}

fn pg_text_opt<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => pg_text(text, serializer),
        None => serializer.serialize_none(),
    }
}
