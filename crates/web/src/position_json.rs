//! A position as JSON (webhook answers and the API): decimals as strings, quantities as
//! integers. Decimals are shown without trailing zeros (`25624.5`, not `25624.50000…`):
//! the stored values keep full precision.

use jt_engine::Position;
use rust_decimal::Decimal;
use serde::Serialize;

/// SPEC §10's position object.
#[derive(Debug, Serialize)]
pub struct PositionJson {
    root: String,
    contract: Option<String>,
    quantity: i64,
    avg_entry_price: Decimal,
    realized_pnl: Decimal,
    unrealized_pnl: Option<Decimal>,
    last_price: Option<Decimal>,
    signal_count: u64,
    last_signal_id: Option<i64>,
}

impl PositionJson {
    /// `mark` is the price unrealized P&L is computed at (the user's last price of the root).
    pub fn new(position: &Position, last_signal_id: Option<i64>, mark: Option<Decimal>) -> Self {
        Self {
            root: position.root.to_string(),
            contract: position.contract.map(|c| c.tradovate_symbol()),
            quantity: position.quantity,
            avg_entry_price: position.avg_entry_price.normalize(),
            realized_pnl: position.realized_pnl.normalize(),
            unrealized_pnl: mark
                .and_then(|price| position.unrealized_pnl(price))
                .map(|pnl| pnl.normalize()),
            last_price: position.last_price.map(|p| p.normalize()),
            signal_count: position.signal_count,
            last_signal_id,
        }
    }
}
