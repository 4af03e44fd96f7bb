//! `/api/v1/recorders/{id}/positions|signals|trades|stats`: what the signals produced.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use jt_engine::{Side, Stats, Trade};
use jt_store::orders::orders_of_signals;
use jt_store::signal_log::{SignalRow, list_signals};
use jt_store::state::{all_trades, list_positions, list_trades, user_time_zone};
use jt_store::{RecorderId, TenantTx, recorders};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{ApiQuery, ApiUser, recorder_id};
use crate::AppState;
use crate::position_json::PositionJson;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// `?limit=&before=` of the paged lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    limit: Option<i64>,
    before: Option<i64>,
}

impl Paging {
    /// The `before` cursor.
    pub fn before(&self) -> Option<i64> {
        self.before
    }

    /// The checked `limit` (default 50).
    pub fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if (1..=MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::Invalid(format!(
                "limit {limit} is out of range: use 1 to {MAX_LIMIT}"
            )))
        }
    }
}

/// A tenant transaction on a recorder the user owns (404 otherwise).
async fn owned_recorder(
    state: &AppState,
    user: ApiUser,
    id: &str,
) -> Result<(TenantTx, RecorderId), ApiError> {
    let id = recorder_id(id)?;
    let mut tx = state.store.tenant(user.0).await?;
    recorders::get_recorder(&mut tx, id).await?;
    Ok((tx, id))
}

pub async fn positions(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<PositionJson>>, ApiError> {
    let (mut tx, id) = owned_recorder(&state, user, &id).await?;
    let rows = list_positions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(
        rows.iter()
            .map(|row| PositionJson::new(&row.position, row.last_signal_id, row.mark_price))
            .collect(),
    ))
}

pub async fn signals(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    let limit = paging.limit()?;
    let (mut tx, id) = owned_recorder(&state, user, &id).await?;
    let (rows, next): (Vec<SignalRow>, _) = list_signals(&mut tx, id, limit, paging.before).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let orders = orders_of_signals(&mut tx, &ids).await?;
    tx.commit().await?;
    let signals: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut entry = json!(row);
            let of_signal: Vec<Value> = orders
                .iter()
                .filter(|o| o.signal_id == row.id)
                .map(|o| json!({ "id": o.id, "account_id": o.account_id, "status": o.status }))
                .collect();
            entry["orders"] = Value::Array(of_signal);
            entry
        })
        .collect();
    Ok(Json(json!({ "signals": signals, "next": next })))
}

/// A closed trade as the API shows it.
#[derive(Debug, Serialize)]
struct TradeJson {
    id: i64,
    root: String,
    contract: Option<String>,
    side: &'static str,
    quantity: i64,
    entry_price: Decimal,
    exit_price: Decimal,
    realized_pnl: Decimal,
    commission: Decimal,
    net_pnl: Decimal,
    mae: Decimal,
    mfe: Decimal,
    opened_at: DateTime<Utc>,
    closed_at: DateTime<Utc>,
    duration_seconds: i64,
}

impl TradeJson {
    fn new(id: i64, trade: &Trade) -> Self {
        Self {
            id,
            root: trade.root.to_string(),
            contract: trade.contract.map(|c| c.tradovate_symbol()),
            side: match trade.side {
                Side::Long => "long",
                Side::Short => "short",
            },
            quantity: trade.max_quantity,
            entry_price: trade.avg_entry_price.normalize(),
            exit_price: trade.avg_exit_price.normalize(),
            realized_pnl: trade.realized_pnl.normalize(),
            commission: trade.commission.normalize(),
            net_pnl: trade.net_pnl.normalize(),
            mae: trade.mae.normalize(),
            mfe: trade.mfe.normalize(),
            opened_at: trade.opened_at,
            closed_at: trade.closed_at,
            duration_seconds: trade.duration_seconds,
        }
    }
}

pub async fn trades(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    let limit = paging.limit()?;
    let (mut tx, id) = owned_recorder(&state, user, &id).await?;
    let (rows, next) = list_trades(&mut tx, id, limit, paging.before).await?;
    tx.commit().await?;
    let trades: Vec<TradeJson> = rows.iter().map(|(id, t)| TradeJson::new(*id, t)).collect();
    Ok(Json(json!({ "trades": trades, "next": next })))
}

pub async fn stats(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (mut tx, id) = owned_recorder(&state, user, &id).await?;
    let time_zone = user_time_zone(&mut tx).await?;
    let trades = all_trades(&mut tx, id).await?;
    tx.commit().await?;
    let stats = Stats::from_trades(&trades, time_zone);
    Ok(Json(stats_json(&stats)))
}

fn stats_json(stats: &Stats) -> Value {
    let daily: serde_json::Map<String, Value> = stats
        .daily_pnl
        .iter()
        .map(|(day, pnl)| (day.to_string(), json!(pnl.normalize())))
        .collect();
    json!({
        "time_zone": stats.time_zone.name(),
        "trade_count": stats.trade_count,
        "wins": stats.wins,
        "losses": stats.losses,
        "win_rate_pct": stats.win_rate_pct().map(|d| d.normalize()),
        "net_pnl": stats.net_pnl.normalize(),
        "gross_profit": stats.gross_profit.normalize(),
        "gross_loss": stats.gross_loss.normalize(),
        "commission": stats.commission.normalize(),
        "avg_win": stats.avg_win().map(|d| d.normalize()),
        "avg_loss": stats.avg_loss().map(|d| d.normalize()),
        "profit_factor": stats.profit_factor().map(|d| d.normalize()),
        "expectancy": stats.expectancy().map(|d| d.normalize()),
        "largest_win": stats.largest_win.normalize(),
        "largest_loss": stats.largest_loss.normalize(),
        "max_drawdown": stats.max_drawdown.normalize(),
        "max_drawdown_pct": stats.max_drawdown_pct.map(|d| d.normalize()),
        "current_drawdown": stats.current_drawdown().normalize(),
        "current_drawdown_pct": stats.current_drawdown_pct().map(|d| d.normalize()),
        "daily_pnl": daily,
    })
}
