//! Positions and closed trades of recorders: written by ingest and rebuild, read by the API.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jt_engine::{Contract, Position, Root, Side, Symbol, Trade};
use rust_decimal::Decimal;

use crate::paging::split_page;
use crate::{RecorderId, StoreError, TenantTx};

/// The stored position of a root (flat with no history if never signalled).
pub async fn load_position(
    tx: &mut TenantTx,
    recorder: RecorderId,
    root: Root,
) -> Result<Position, StoreError> {
    let state: Option<serde_json::Value> = sqlx::query_scalar(
        "select engine_state from recorder_positions where recorder_id = $1 and root = $2",
    )
    .bind(recorder)
    .bind(root.as_str())
    .fetch_optional(tx.conn())
    .await?;
    match state {
        None => Ok(Position::flat(root)),
        Some(state) => serde_json::from_value(state)
            .map_err(|e| StoreError::Corrupt(format!("position {recorder}/{root}: {e}"))),
    }
}

/// The user's freshest signal price of a root, across all their recorders.
pub async fn last_known_price(
    tx: &mut TenantTx,
    root: Root,
) -> Result<Option<Decimal>, StoreError> {
    Ok(sqlx::query_scalar("select user_last_price($1)")
        .bind(root.as_str())
        .fetch_one(tx.conn())
        .await?)
}

/// The recorder's pinned contract, when it is for this root.
pub fn contract_override(pinned: Option<&str>, root: Root, now: DateTime<Utc>) -> Option<Contract> {
    let symbol = Symbol::parse(pinned?).ok()?;
    (symbol.root == root)
        .then(|| symbol.resolve(now.date_naive()))
        .flatten()
}

/// Writes a position (insert or replace). `price_at` is set when the signal carried a price.
pub async fn save_position(
    tx: &mut TenantTx,
    recorder: RecorderId,
    position: &Position,
    last_signal_id: i64,
    price_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let user = tx.user_id();
    let state = serde_json::to_value(position)
        .map_err(|e| StoreError::Corrupt(format!("position does not serialize: {e}")))?;
    sqlx::query(
        "insert into recorder_positions (user_id, recorder_id, root, contract, side, quantity,
            avg_entry_price, realized_pnl, commission, last_price, last_price_at, signal_count,
            last_signal_id, opened_at, engine_state)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict (recorder_id, root) do update set
            contract = excluded.contract, side = excluded.side, quantity = excluded.quantity,
            avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
            commission = excluded.commission, last_price = excluded.last_price,
            last_price_at = coalesce(excluded.last_price_at, recorder_positions.last_price_at),
            signal_count = excluded.signal_count, last_signal_id = excluded.last_signal_id,
            opened_at = excluded.opened_at, engine_state = excluded.engine_state",
    )
    .bind(user)
    .bind(recorder)
    .bind(position.root.as_str())
    .bind(position.contract.map(|c| c.tradovate_symbol()))
    .bind(side_of(position.quantity))
    .bind(position.quantity)
    .bind(position.avg_entry_price)
    .bind(position.realized_pnl)
    .bind(position.commission)
    .bind(position.last_price)
    .bind(price_at)
    .bind(i64::try_from(position.signal_count).unwrap_or(i64::MAX))
    .bind(last_signal_id)
    .bind(position.opened_at)
    .bind(state)
    .execute(tx.conn())
    .await?;
    Ok(())
}

fn side_of(quantity: i64) -> &'static str {
    match quantity.signum() {
        1 => "long",
        -1 => "short",
        _ => "flat",
    }
}

fn side_text(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}

/// Stores trades closed by one signal.
pub async fn save_trades(
    tx: &mut TenantTx,
    recorder: RecorderId,
    closing_signal_id: i64,
    trades: &[Trade],
) -> Result<(), StoreError> {
    let user = tx.user_id();
    for trade in trades {
        let json = serde_json::to_value(trade)
            .map_err(|e| StoreError::Corrupt(format!("trade does not serialize: {e}")))?;
        sqlx::query(
            "insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
                quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
                realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at,
                duration_seconds, engine_trade)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18, $19, $20, $21)",
        )
        .bind(user)
        .bind(recorder)
        .bind(closing_signal_id)
        .bind(trade.root.as_str())
        .bind(trade.contract.map(|c| c.tradovate_symbol()))
        .bind(side_text(trade.side))
        .bind(trade.max_quantity)
        .bind(i64::try_from(trade.entries).unwrap_or(i64::MAX))
        .bind(i64::try_from(trade.exits).unwrap_or(i64::MAX))
        .bind(trade.avg_entry_price)
        .bind(trade.avg_exit_price)
        .bind(trade.realized_points)
        .bind(trade.realized_pnl)
        .bind(trade.commission)
        .bind(trade.net_pnl)
        .bind(trade.mae)
        .bind(trade.mfe)
        .bind(trade.opened_at)
        .bind(trade.closed_at)
        .bind(trade.duration_seconds)
        .bind(json)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

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
