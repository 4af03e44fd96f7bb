//! Positions and closed trades of recorders as the API and pages read them (ingest and
//! rebuild write them through the SQL functions `write_positions` and `write_trades`).

use chrono_tz::Tz;
use jt_engine::{Position, Trade};
use rust_decimal::Decimal;

use crate::paging::split_page;
use crate::{RecorderId, StoreError, TenantTx};

/// A position row with the last signal id, as the API shows it.
#[derive(Debug, Clone)]
pub struct PositionRow {
    /// The engine's position.
    pub position: Position,
    /// The last accepted signal of this root.
    pub last_signal_id: Option<i64>,
    /// The user's freshest price of the root (any recorder), for unrealized P&L.
    pub mark_price: Option<Decimal>,
}

/// Every root the recorder ever traded, flat ones included, by root.
pub async fn list_positions(
    tx: &mut TenantTx,
    recorder: RecorderId,
) -> Result<Vec<PositionRow>, StoreError> {
    let rows: Vec<(serde_json::Value, Option<i64>, Option<Decimal>)> = sqlx::query_as(
        "select engine_state, last_signal_id, user_last_price(root)
         from recorder_positions where recorder_id = $1 order by root",
    )
    .bind(recorder)
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|(state, last_signal_id, mark_price)| {
            PositionRow::decode(recorder, state, last_signal_id, mark_price)
        })
        .collect()
}

impl PositionRow {
    /// A row from the stored engine state, its last signal and the mark price.
    pub(crate) fn decode(
        recorder: RecorderId,
        state: serde_json::Value,
        last_signal_id: Option<i64>,
        mark_price: Option<Decimal>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            position: serde_json::from_value(state)
                .map_err(|e| StoreError::Corrupt(format!("position of {recorder}: {e}")))?,
            last_signal_id,
            mark_price,
        })
    }
}

/// Closed trades newest first; `before` is a trade-id cursor.
pub async fn list_trades(
    tx: &mut TenantTx,
    recorder: RecorderId,
    limit: i64,
    before: Option<i64>,
) -> Result<(Vec<(i64, Trade)>, Option<i64>), StoreError> {
    let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select id, engine_trade from trades
         where recorder_id = $1 and id < coalesce($2, 9223372036854775807)
         order by id desc limit $3",
    )
    .bind(recorder)
    .bind(before)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let (rows, next) = split_page(rows, limit, |(id, _)| *id);
    let trades = rows
        .into_iter()
        .map(|(id, json)| Ok((id, parse_trade(json)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((trades, next))
}

/// Every closed trade of the recorder, oldest first (for statistics and rebuild).
pub async fn all_trades(tx: &mut TenantTx, recorder: RecorderId) -> Result<Vec<Trade>, StoreError> {
    let rows: Vec<serde_json::Value> =
        sqlx::query_scalar("select engine_trade from trades where recorder_id = $1 order by id")
            .bind(recorder)
            .fetch_all(tx.conn())
            .await?;
    rows.into_iter().map(parse_trade).collect()
}

fn parse_trade(json: serde_json::Value) -> Result<Trade, StoreError> {
    serde_json::from_value(json).map_err(|e| StoreError::Corrupt(format!("trade: {e}")))
}

/// The user's time zone (daily P&L, times on pages). A name the time-zone database does not
/// know (never stored by us, but possible by hand) falls back to UTC rather than failing.
pub async fn user_time_zone(tx: &mut TenantTx) -> Result<Tz, StoreError> {
    let name: String = sqlx::query_scalar("select time_zone from users where id = app_user_id()")
        .fetch_one(tx.conn())
        .await?;
    Ok(name.parse().unwrap_or(Tz::UTC))
}
