//! Rows for CSV export, in keyset-paged chunks oldest first: each chunk is an index range
//! scan that starts at once, so 1 M signals take constant memory, the first row is ready in
//! milliseconds, and a client that hangs up leaves no million-row query to drain. (One
//! query streamed to the end would let the planner pick a full sort before the first row.)
//! Open bounds are ±infinity rather than `$n is null or …`, so even a generic plan is an
//! index range scan.

use chrono::{DateTime, Utc};
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

impl SignalExport {
    /// Where the next chunk starts (after this row).
    pub fn cursor(&self) -> (DateTime<Utc>, i64) {
        (self.received_at, self.seq)
    }
}

/// Up to `limit` of the recorder's signals received in `range`, oldest first, after `after`
/// (the previous chunk's last [`SignalExport::cursor`]).
pub async fn export_signals(
    tx: &mut TenantTx,
    recorder: RecorderId,
    range: TimeRange,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<SignalExport>, StoreError> {
    Ok(sqlx::query_as(
        "select seq, received_at, status, action, ticker, contract, quantity, price,
                price_used, price_source, position_after, client_signal_id, alert_time,
                error, notes
         from recorded_signals
         where recorder_id = $1
           and received_at >= coalesce($2, '-infinity') and received_at < coalesce($3, 'infinity')
           and (received_at, seq) > (coalesce($4, '-infinity'), $5)
         order by received_at, seq
         limit $6",
    )
    .bind(recorder)
    .bind(range.from)
    .bind(range.to)
    .bind(after.map(|(at, _)| at))
    .bind(after.map_or(i64::MIN, |(_, seq)| seq))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?)
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

impl TradeExport {
    /// Where the next chunk starts (after this row).
    pub fn cursor(&self) -> (DateTime<Utc>, i64) {
        (self.closed_at, self.id)
    }
}

/// Up to `limit` of the recorder's trades closed in `range`, oldest first, after `after`
/// (the previous chunk's last [`TradeExport::cursor`]).
pub async fn export_trades(
    tx: &mut TenantTx,
    recorder: RecorderId,
    range: TimeRange,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<TradeExport>, StoreError> {
    Ok(sqlx::query_as(
        "select id, root, contract, side, quantity, avg_entry_price, avg_exit_price,
                realized_points, realized_pnl, commission, net_pnl, mae, mfe, opened_at,
                closed_at, duration_seconds
         from trades
         where recorder_id = $1
           and closed_at >= coalesce($2, '-infinity') and closed_at < coalesce($3, 'infinity')
           and (closed_at, id) > (coalesce($4, '-infinity'), $5)
         order by closed_at, id
         limit $6",
    )
    .bind(recorder)
    .bind(range.from)
    .bind(range.to)
    .bind(after.map(|(at, _)| at))
    .bind(after.map_or(i64::MIN, |(_, id)| id))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?)
}
