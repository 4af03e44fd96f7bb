//! What statistics, equity curves and dashboards read of closed trades: three columns per
//! trade rather than the whole stored trade, so 20,000 trades stay cheap (SPEC §7; the
//! arithmetic is the engine's [`jt_engine::Stats`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::{RecorderId, StoreError, TenantTx};

/// A closed trade as statistics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct TradeResult {
    /// P&L after commission.
    pub net_pnl: Decimal,
    /// Commission paid.
    pub commission: Decimal,
    /// When the trade went flat.
    pub closed_at: DateTime<Utc>,
}

/// Every closed trade of the recorder, oldest first (the order of the equity curve).
pub async fn trade_results(
    tx: &mut TenantTx,
    recorder: RecorderId,
) -> Result<Vec<TradeResult>, StoreError> {
    Ok(sqlx::query_as(
        "select net_pnl, commission, closed_at from trades where recorder_id = $1 order by id",
    )
    .bind(recorder)
    .fetch_all(tx.conn())
    .await?)
}

/// The newest trade id of the recorder (`None` without trades). Trades are only ever added
/// (a rebuild deletes and re-inserts, with new ids), so this names the state of its history:
/// statistics computed for one value stay right until it changes.
pub async fn last_trade_id(
    tx: &mut TenantTx,
    recorder: RecorderId,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("select max(id) from trades where recorder_id = $1")
            .bind(recorder)
            .fetch_one(tx.conn())
            .await?,
    )
}

/// The newest trade id of each of the user's recorders that has trades (one index probe per
/// recorder).
pub async fn last_trade_ids(tx: &mut TenantTx) -> Result<HashMap<RecorderId, i64>, StoreError> {
    let rows: Vec<(RecorderId, Option<i64>)> = sqlx::query_as(
        "select r.id, (select max(t.id) from trades t where t.recorder_id = r.id) from recorders r",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(recorder, last)| Some((recorder, last?)))
        .collect())
}

/// One recorder's closed-trade totals, as the dashboard shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeSummary {
    /// Closed trades.
    pub trades: i64,
    /// Trades with net P&L > 0.
    pub wins: i64,
    /// Σ net P&L, all time.
    pub net_pnl: Decimal,
    /// Σ net P&L of trades closed since the start of the user's day.
    pub net_pnl_today: Decimal,
    /// The equity curve (running Σ net P&L) after each of at most `points` equal slices of
    /// the history, oldest first; the last value is the current equity.
    pub equity: Vec<Decimal>,
}

/// Totals and a sampled equity curve of each of `recorders` that has closed trades.
/// `today_start` is midnight of the user's day, in UTC; `points` the sparkline's width.
pub async fn trade_summaries(
    tx: &mut TenantTx,
    recorders: &[RecorderId],
    today_start: DateTime<Utc>,
    points: i64,
) -> Result<HashMap<RecorderId, TradeSummary>, StoreError> {
    // One pass, no sort: trades are grouped into `points` buckets by their id's position in
    // the recorder's id range (ids grow with time), and each bucket's sums are added up here
    // into the totals and the running equity.
    let buckets: Vec<(RecorderId, i32, i64, i64, Decimal, Decimal)> = sqlx::query_as(
        "with bounds as (
             select r, (select min(id) from trades where recorder_id = r) as low,
                    (select max(id) from trades where recorder_id = r) as high
             from unnest($3::uuid[]) as r)
         select t.recorder_id, ((t.id - b.low) * $2 / (b.high - b.low + 1))::int as bucket,
                count(*), count(*) filter (where t.net_pnl > 0), sum(t.net_pnl),
                coalesce(sum(t.net_pnl) filter (where t.closed_at >= $1), 0)
         from trades t join bounds b on t.recorder_id = b.r
         group by 1, 2",
    )
    .bind(today_start)
    .bind(points.max(1))
    .bind(recorders)
    .fetch_all(tx.conn())
    .await?;
    let mut buckets = buckets;
    buckets.sort_unstable_by_key(|(recorder, bucket, ..)| (*recorder, *bucket));
    let mut summaries: HashMap<RecorderId, TradeSummary> = HashMap::new();
    for (recorder, _, trades, wins, net_pnl, net_pnl_today) in buckets {
        let summary = summaries.entry(recorder).or_default();
        summary.trades += trades;
        summary.wins += wins;
        summary.net_pnl += net_pnl;
        summary.net_pnl_today += net_pnl_today;
        summary.equity.push(summary.net_pnl);
    }
    Ok(summaries)
}
