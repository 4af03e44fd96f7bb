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
    /// The equity curve (running Σ net P&L), sampled to at most `points` + 1 values, oldest
    /// first; the last value is always the current equity.
    pub equity: Vec<Decimal>,
}

/// Totals and a sampled equity curve of every recorder of the user that has closed trades.
/// `today_start` is midnight of the user's day, in UTC; `points` the sparkline's width.
pub async fn trade_summaries(
    tx: &mut TenantTx,
    today_start: DateTime<Utc>,
    points: i64,
) -> Result<HashMap<RecorderId, TradeSummary>, StoreError> {
    let totals: Vec<(RecorderId, i64, i64, Decimal, Decimal)> = sqlx::query_as(
        "select recorder_id, count(*), count(*) filter (where net_pnl > 0),
                coalesce(sum(net_pnl), 0), coalesce(sum(net_pnl) filter (where closed_at >= $1), 0)
         from trades group by recorder_id",
    )
    .bind(today_start)
    .fetch_all(tx.conn())
    .await?;
    // Every n-th point of the running sum (and the last one), computed by the database so a
    // long history does not travel to the web process.
    let samples: Vec<(RecorderId, Decimal)> = sqlx::query_as(
        "select recorder_id, equity from (
            select recorder_id, sum(net_pnl) over w as equity, row_number() over w as n,
                   count(*) over (partition by recorder_id) as total
            from trades window w as (partition by recorder_id order by id)) curve
         where n = total or n % greatest(total / $1, 1) = 0
         order by recorder_id, n",
    )
    .bind(points.max(1))
    .fetch_all(tx.conn())
    .await?;
    let mut summaries: HashMap<RecorderId, TradeSummary> = totals
        .into_iter()
        .map(|(recorder, trades, wins, net_pnl, net_pnl_today)| {
            let summary = TradeSummary {
                trades,
                wins,
                net_pnl,
                net_pnl_today,
                equity: Vec::new(),
            };
            (recorder, summary)
        })
        .collect();
    for (recorder, equity) in samples {
        if let Some(summary) = summaries.get_mut(&recorder) {
            summary.equity.push(equity);
        }
    }
    Ok(summaries)
}
