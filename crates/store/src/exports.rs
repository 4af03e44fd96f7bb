//! Row streams for CSV export: one query whose rows are read from the socket as the
//! caller consumes them, so 1 M signals take constant memory (and the first row is ready as
//! soon as the database has it).

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use rust_decimal::Decimal;

use crate::signal_log::{SignalStatus, notes_text};
use crate::{RecorderId, StoreError, TenantTx};

/// A half-open time window `[from, to)`; `None` leaves that side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// First instant included.
    pub from: Option<DateTime<Utc>>,
    /// First instant excluded.
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Whether `at` lies in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

/// A signal with everything an export shows, oldest first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignalExport {
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
    /// Contract the fill went to.
    pub contract: Option<String>,
    /// Quantity as given.
    pub quantity: Option<i64>,
    /// Price as given.
    pub price: Option<Decimal>,
    /// Price applied (the alert's or the last known one).
    pub price_used: Option<Decimal>,
    /// Where the applied price came from.
    pub price_source: Option<String>,
    /// Signed position of the root afterwards.
    pub position_after: Option<i64>,
    /// The alert's `id`.
    pub client_signal_id: Option<String>,
    /// The alert's `time`, as given.
    pub alert_time: Option<String>,
    /// Why it was rejected.
    pub error: Option<String>,
    notes: serde_json::Value,
}

impl SignalExport {
    /// The engine's notes (resync, close while flat, …) in words.
    pub fn notes(&self) -> Option<String> {
        notes_text(&self.notes)
    }
}

/// The recorder's signals received in `range`, oldest first, as a stream borrowing `tx`.
pub fn export_signals(
    tx: &mut TenantTx,
    recorder: RecorderId,
    range: TimeRange,
) -> BoxStream<'_, Result<SignalExport, StoreError>> {
    Box::pin(
        sqlx::query_as(
            "select seq, received_at, status, action, ticker, contract, quantity, price,
                    price_used, price_source, position_after, client_signal_id, alert_time,
                    error, notes
             from recorded_signals
             where recorder_id = $1 and ($2::timestamptz is null or received_at >= $2)
               and ($3::timestamptz is null or received_at < $3)
             order by received_at, seq",
        )
        .bind(recorder)
        .bind(range.from)
        .bind(range.to)
        .fetch(tx.conn())
        .map_err(StoreError::from),
    )
}

/// A closed trade with everything an export shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TradeExport {
    /// Trade id.
    pub id: i64,
    /// Product root.
    pub root: String,
    /// Contract traded.
    pub contract: Option<String>,
    /// `long` or `short`.
    pub side: String,
    /// Largest size held.
    pub quantity: i64,
    /// Average entry price.
    pub avg_entry_price: Decimal,
    /// Average exit price.
    pub avg_exit_price: Decimal,
    /// Realized points.
    pub realized_points: Decimal,
    /// Realized dollars, gross of commission.
    pub realized_pnl: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// Realized dollars after commission.
    pub net_pnl: Decimal,
    /// Worst open P&L seen (signal prices).
    pub mae: Decimal,
    /// Best open P&L seen (signal prices).
    pub mfe: Decimal,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: DateTime<Utc>,
    /// Seconds open.
    pub duration_seconds: i64,
}

/// The recorder's trades closed in `range`, oldest first, as a stream borrowing `tx`.
pub fn export_trades(
    tx: &mut TenantTx,
    recorder: RecorderId,
    range: TimeRange,
) -> BoxStream<'_, Result<TradeExport, StoreError>> {
    Box::pin(
        sqlx::query_as(
            "select id, root, contract, side, quantity, avg_entry_price, avg_exit_price,
                    realized_points, realized_pnl, commission, net_pnl, mae, mfe, opened_at,
                    closed_at, duration_seconds
             from trades
             where recorder_id = $1 and ($2::timestamptz is null or closed_at >= $2)
               and ($3::timestamptz is null or closed_at < $3)
             order by closed_at, id",
        )
        .bind(recorder)
        .bind(range.from)
        .bind(range.to)
        .fetch(tx.conn())
        .map_err(StoreError::from),
    )
}
