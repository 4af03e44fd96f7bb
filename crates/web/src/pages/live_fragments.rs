//! The live parts of the dashboard and the recorder page, served alone: the page's script
//! (`static/live.js`) fetches one when a Server-Sent Event says its recorder received
//! signals, and swaps it in. Each is the same partial template the full page includes, so
//! the two never differ. Like pages, they answer 404 for other users' recorders.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use chrono_tz::Tz;
use jt_store::state::user_time_zone;
use jt_store::{RecorderId, TenantTx, recorders};

use super::dashboard::{Dashboard, read_dashboard};
use super::recorder_id;
use super::recorder_page::{
    PageQuery, SignalLog, TradeList, read_positions, read_signal_log, read_stats, read_trades,
};
use super::recorder_stats::StatsPanel;
use super::recorder_views::PositionView;
use crate::AppState;
use crate::auth::AuthUser;
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "positions_table.html")]
pub(super) struct PositionsFragment {
    positions: Vec<PositionView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "signal_log.html")]
pub(super) struct SignalLogFragment {
    log: SignalLog,
}

#[derive(Template, WebTemplate)]
#[template(path = "trade_list.html")]
pub(super) struct TradeListFragment {
    trades: TradeList,
}

#[derive(Template, WebTemplate)]
#[template(path = "stats_panel.html")]
pub(super) struct StatsFragment {
    stats: Arc<StatsPanel>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard_table.html")]
pub(super) struct DashboardFragment {
    dashboard: Dashboard,
}

/// A tenant transaction on a recorder of the user (404 otherwise), and the user's zone.
async fn open(
    state: &AppState,
    user: &AuthUser,
    raw_id: &str,
) -> Result<(TenantTx, RecorderId, Tz), PageError> {
    let id = recorder_id(raw_id)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    recorders::get_recorder(&mut tx, id).await?;
    let zone = user_time_zone(&mut tx).await?;
    Ok((tx, id, zone))
}

/// `GET /recorders/{id}/fragments/positions`.
pub(super) async fn positions(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<PositionsFragment, PageError> {
    let (mut tx, id, _) = open(&state, &user, &id).await?;
    let positions = read_positions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(PositionsFragment { positions })
}

/// `GET /recorders/{id}/fragments/signals`: the newest page of the log.
pub(super) async fn signals(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<SignalLogFragment, PageError> {
    let (mut tx, id, zone) = open(&state, &user, &id).await?;
    let log = read_signal_log(&mut tx, id, None, zone).await?;
    tx.commit().await?;
    Ok(SignalLogFragment { log })
}

/// `GET /recorders/{id}/fragments/trades`: the newest page of trades.
pub(super) async fn trades(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<TradeListFragment, PageError> {
    let (mut tx, id, zone) = open(&state, &user, &id).await?;
    let trades = read_trades(&mut tx, id, None, zone).await?;
    tx.commit().await?;
    Ok(TradeListFragment { trades })
}

/// `GET /recorders/{id}/fragments/stats?from=&to=`.
pub(super) async fn stats(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<StatsFragment, PageError> {
    let (mut tx, id, zone) = open(&state, &user, &id).await?;
    let stats = read_stats(&state, &mut tx, id, &query, zone).await?;
    tx.commit().await?;
    Ok(StatsFragment { stats })
}

/// `GET /fragments/dashboard`: the dashboard's table.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<DashboardFragment, PageError> {
    Ok(DashboardFragment {
        dashboard: read_dashboard(&state, &user).await?,
    })
}
