//! The dashboard (`/`): every recorder with its positions per root, unrealized P&L, today's
//! and all-time P&L of closed trades, win rate, an equity sparkline and its last signal, plus
//! a totals row. Read in one tenant transaction with a fixed number of queries.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jt_engine::Side;
use jt_store::performance::{TradeSummary, last_trade_ids, trade_summaries};
use jt_store::recorder_overview::{RecorderOverview, list_recorder_overviews};
use jt_store::state::{PositionRow, user_time_zone};
use jt_store::{RecorderId, TenantTx};
use rust_decimal::Decimal;

use super::charts::sparkline;
use super::display::{self, dollars};
use super::recorder_views::{PositionView, signal_status_text, status_text, unrealized_pnl};
use crate::AppState;
use crate::auth::AuthUser;
use crate::date_range::start_of_today;
use crate::page_error::PageError;

/// Points of a sparkline.
const SPARK_POINTS: i64 = 60;
/// Shown where a value does not apply.
const NONE: &str = "—";

/// What the dashboard shows.
pub(super) struct Dashboard {
    pub rows: Vec<DashboardRow>,
    pub totals: Totals,
}

/// Sums over every recorder.
pub(super) struct Totals {
    pub unrealized: Money,
    pub today: Money,
    pub all_time: Money,
}

/// Dollars as shown, and whether to mark them as a loss.
pub(super) struct Money {
    pub text: String,
    pub negative: bool,
}

impl Money {
    fn of(value: Decimal) -> Self {
        Self {
            text: dollars(value),
            negative: value.is_sign_negative() && !value.round_dp(2).is_zero(),
        }
    }
}

/// One recorder.
pub(super) struct DashboardRow {
    pub id: RecorderId,
    pub name: String,
    pub status: &'static str,
    pub positions: Vec<RootPosition>,
    pub today: Money,
    pub all_time: Money,
    pub trades: i64,
    pub win_rate: String,
    /// Inline SVG built from numbers only (safe to print unescaped).
    pub sparkline: String,
    pub last_signal: String,
    pub last_status: &'static str,
}

/// One root of a recorder: the positions table's row, plus side and size apart and the
/// unrealized P&L as money (for the totals' colours).
pub(super) struct RootPosition {
    pub view: PositionView,
    pub side: &'static str,
    pub size: i64,
    pub unrealized: Money,
}

/// Reads and formats the dashboard of `user`.
pub(super) async fn read_dashboard(
    state: &AppState,
    user: &AuthUser,
) -> Result<Dashboard, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let zone = user_time_zone(&mut tx).await?;
    let overviews = list_recorder_overviews(&mut tx).await?;
    let mut summaries = summaries(state, &mut tx, start_of_today(zone, Utc::now())).await?;
    tx.commit().await?;
    let mut totals = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let rows = overviews
        .into_iter()
        .map(|overview| {
            let summary = summaries.remove(&overview.recorder.id).unwrap_or_default();
            let summary = summary.as_ref();
            let unrealized: Decimal = overview.positions.iter().filter_map(unrealized_pnl).sum();
            totals.0 += unrealized;
            totals.1 += summary.net_pnl_today;
            totals.2 += summary.net_pnl;
            row(overview, summary, zone)
        })
        .collect();
    Ok(Dashboard {
        rows,
        totals: Totals {
            unrealized: Money::of(totals.0),
            today: Money::of(totals.1),
            all_time: Money::of(totals.2),
        },
    })
}

/// Every recorder's trade summary: from the cache for recorders whose newest trade is the
/// one it was computed at (and the same "today"), from the database for the others.
async fn summaries(
    state: &AppState,
    tx: &mut TenantTx,
    today_start: DateTime<Utc>,
) -> Result<HashMap<RecorderId, Arc<TradeSummary>>, PageError> {
    let cache = &state.caches.summaries;
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for (recorder, last) in last_trade_ids(tx).await? {
        match cache.get(&(recorder, last, today_start)) {
            Some(summary) => drop(found.insert(recorder, summary)),
            None => missing.push((recorder, last)),
        }
    }
    if !missing.is_empty() {
        let ids: Vec<RecorderId> = missing.iter().map(|(recorder, _)| *recorder).collect();
        let mut fresh = trade_summaries(tx, &ids, today_start, SPARK_POINTS).await?;
        for (recorder, last) in missing {
            let summary = Arc::new(fresh.remove(&recorder).unwrap_or_default());
            cache.put((recorder, last, today_start), summary.clone());
            found.insert(recorder, summary);
        }
    }
    Ok(found)
}

fn row(overview: RecorderOverview, summary: &TradeSummary, zone: Tz) -> DashboardRow {
    let mut equity = Vec::with_capacity(summary.equity.len() + 1);
    equity.push(Decimal::ZERO);
    equity.extend_from_slice(&summary.equity);
    let (last_signal, last_status) = match overview.last_signal {
        Some((at, status)) => (display::time(at, zone), signal_status_text(status)),
        None => ("none yet".to_owned(), ""),
    };
    DashboardRow {
        id: overview.recorder.id,
        name: overview.recorder.name.clone(),
        status: status_text(overview.recorder.status),
        positions: overview.positions.iter().map(root_position).collect(),
        today: Money::of(summary.net_pnl_today),
        all_time: Money::of(summary.net_pnl),
        trades: summary.trades,
        win_rate: win_rate(summary),
        sparkline: sparkline(&equity),
        last_signal,
        last_status,
    }
}

fn win_rate(summary: &TradeSummary) -> String {
    if summary.trades == 0 {
        return NONE.to_owned();
    }
    let rate = Decimal::from(summary.wins * 100) / Decimal::from(summary.trades);
    format!("{}%", rate.round_dp(1))
}

fn root_position(row: &PositionRow) -> RootPosition {
    let position = &row.position;
    let open = !position.is_flat();
    RootPosition {
        side: match (open, position.quantity > 0) {
            (false, _) => "flat",
            (true, true) => side_word(Side::Long),
            (true, false) => side_word(Side::Short),
        },
        size: position.quantity.abs(),
        unrealized: unrealized_pnl(row).map_or(
            Money {
                text: NONE.to_owned(),
                negative: false,
            },
            Money::of,
        ),
        view: PositionView::new(row),
    }
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}
