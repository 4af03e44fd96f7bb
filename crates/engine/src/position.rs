//! [`Position`]: the tracked state of one product root of one recorder.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contract::{Contract, ContractSpec};
use crate::root::Root;
use crate::trade::{OpenTrade, Side};

/// Position per (recorder, root). Everything needed to apply the next signal is in here, so a
/// persisted and reloaded position continues exactly (serde round trip is lossless: decimals
/// are serialized as strings with their scale).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Product root.
    pub root: Root,
    /// Contract held while open; `None` when flat (or for unknown roots without one).
    pub contract: Option<Contract>,
    /// Signed contracts: > 0 long, < 0 short, 0 flat.
    pub quantity: i64,
    /// Weighted average entry price at full precision; 0 when flat.
    pub avg_entry_price: Decimal,
    /// All-time realized P&L in dollars, gross of commission.
    pub realized_pnl: Decimal,
    /// All-time commission in dollars.
    pub commission: Decimal,
    /// Last price carried by a signal of this position.
    pub last_price: Option<Decimal>,
    /// Signals applied (including no-ops such as close when flat).
    pub signal_count: u64,
    /// `id` of the last applied signal (`None` if it had none).
    pub last_signal_id: Option<String>,
    /// When the current position was opened; `None` when flat.
    pub opened_at: Option<DateTime<Utc>>,
    /// Time of the last applied signal.
    pub updated_at: Option<DateTime<Utc>>,
    /// The round trip in progress; `None` when flat.
    pub open_trade: Option<OpenTrade>,
}

impl Position {
    /// A flat position with no history.
    pub fn flat(root: Root) -> Position {
        Position {
            root,
            contract: None,
            quantity: 0,
            avg_entry_price: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            commission: Decimal::ZERO,
            last_price: None,
            signal_count: 0,
            last_signal_id: None,
            opened_at: None,
            updated_at: None,
            open_trade: None,
        }
    }

    /// Whether the position is flat.
    pub fn is_flat(&self) -> bool {
        self.quantity == 0
    }

    /// Long, short, or `None` when flat.
    pub fn side(&self) -> Option<Side> {
        Side::of(self.quantity)
    }

    /// Dollars per point for this root (1 for unknown roots, tracked in points).
    pub fn point_value(&self) -> Decimal {
        ContractSpec::point_value_of(&self.root)
    }

    /// Open P&L in dollars if marked at `price`: `(price − avg) × quantity × point value`.
    /// `None` only on arithmetic overflow.
    pub fn unrealized_pnl(&self, price: Decimal) -> Option<Decimal> {
        price
            .checked_sub(self.avg_entry_price)?
            .checked_mul(Decimal::from(self.quantity))?
            .checked_mul(self.point_value())
    }

    /// All-time realized P&L net of commission.
    pub fn net_realized_pnl(&self) -> Option<Decimal> {
        self.realized_pnl.checked_sub(self.commission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_unrealized() {
        let root = Root::parse("NQ").expect("root");
        let mut p = Position::flat(root);
        assert!(p.is_flat());
        assert_eq!(p.side(), None);
        p.quantity = -2;
        p.avg_entry_price = Decimal::from(25600);
        assert_eq!(p.side(), Some(Side::Short));
        // Short 2 NQ from 25600 marked at 25590: +10 points × 2 × $20.
        assert_eq!(
            p.unrealized_pnl(Decimal::from(25590)),
            Some(Decimal::from(400))
        );
        p.realized_pnl = Decimal::from(100);
        p.commission = Decimal::from(4);
        assert_eq!(p.net_realized_pnl(), Some(Decimal::from(96)));
    }
}
