//! Trades: flat → flat round trips of one position (a flip ends one trade and starts the next).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contract::Contract;
use crate::error::ApplyError;
use crate::root::Root;

/// Direction of a position or trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Bought first (positive quantity).
    Long,
    /// Sold first (negative quantity).
    Short,
}

impl Side {
    /// The side of a signed quantity; `None` when flat.
    pub fn of(quantity: i64) -> Option<Side> {
        match quantity.signum() {
            1 => Some(Side::Long),
            -1 => Some(Side::Short),
            _ => None,
        }
    }

    /// +1 for long, −1 for short.
    pub fn sign(self) -> i64 {
        match self {
            Side::Long => 1,
            Side::Short => -1,
        }
    }
}

/// The trade in progress while a position is open. Persisted inside the position so that
/// reloading a position and applying the next signal continues exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTrade {
    /// Long or short.
    pub side: Side,
    /// Contract the trade was opened in (`None` for unknown roots without an explicit contract).
    pub contract: Option<Contract>,
    /// Time of the opening signal.
    pub opened_at: DateTime<Utc>,
    /// Number of entry fills.
    pub entries: u64,
    /// Number of exit fills.
    pub exits: u64,
    /// Contracts entered, in total.
    pub entry_quantity: i64,
    /// Contracts exited, in total.
    pub exit_quantity: i64,
    /// Σ entry price × contracts (for the average entry of the whole trade).
    pub entry_value: Decimal,
    /// Σ exit price × contracts.
    pub exit_value: Decimal,
    /// Largest absolute position during the trade.
    pub max_quantity: i64,
    /// Realized so far, in points × contracts.
    pub realized_points: Decimal,
    /// Realized so far, in dollars, gross of commission.
    pub realized_pnl: Decimal,
    /// Commission so far (entries and exits).
    pub commission: Decimal,
    /// Worst trade P&L seen at signal prices, dollars (≤ 0).
    pub mae: Decimal,
    /// Best trade P&L seen at signal prices, dollars (≥ 0).
    pub mfe: Decimal,
    /// The position's all-time realized P&L when this trade opened (the exact sum of its
    /// earlier trades). While the trade is open the position's realized P&L is this plus
    /// `realized_pnl`, so the exact trade result at the close makes the position exact again.
    /// `None` for open trades persisted before the field existed (and from [`OpenTrade::new`]
    /// until the engine sets it): the position then accumulates exit by exit as before.
    #[serde(default)]
    pub realized_before: Option<Decimal>,
}

impl OpenTrade {
    /// A trade with nothing entered yet.
    pub fn new(side: Side, contract: Option<Contract>, opened_at: DateTime<Utc>) -> OpenTrade {
        OpenTrade {
            side,
            contract,
            opened_at,
            entries: 0,
            exits: 0,
            entry_quantity: 0,
            exit_quantity: 0,
            entry_value: Decimal::ZERO,
            exit_value: Decimal::ZERO,
            max_quantity: 0,
            realized_points: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            commission: Decimal::ZERO,
            mae: Decimal::ZERO,
            mfe: Decimal::ZERO,
            realized_before: None,
        }
    }

    /// Records the trade's P&L as seen at a signal price (for MAE/MFE).
    pub fn observe(&mut self, pnl: Decimal) {
        self.mae = self.mae.min(pnl);
        self.mfe = self.mfe.max(pnl);
    }

    /// Finishes the trade when the position is back to flat.
    pub fn close(self, root: Root, closed_at: DateTime<Utc>) -> Result<Trade, ApplyError> {
        let average = |value: Decimal, quantity: i64| {
            // Decimal division is the costliest operation here; most trades are 1 lot.
            if quantity == 0 {
                Ok(Decimal::ZERO)
            } else if quantity == 1 {
                Ok(value)
            } else {
                value
                    .checked_div(Decimal::from(quantity))
                    .ok_or(ApplyError::Overflow {
                        what: "trade average",
                    })
            }
        };
        let net_pnl = self
            .realized_pnl
            .checked_sub(self.commission)
            .ok_or(ApplyError::Overflow { what: "trade P&L" })?;
        Ok(Trade {
            root,
            contract: self.contract,
            side: self.side,
            entries: self.entries,
            exits: self.exits,
            entry_quantity: self.entry_quantity,
            exit_quantity: self.exit_quantity,
            max_quantity: self.max_quantity,
            avg_entry_price: average(self.entry_value, self.entry_quantity)?,
            avg_exit_price: average(self.exit_value, self.exit_quantity)?,
            realized_points: self.realized_points,
            realized_pnl: self.realized_pnl,
            commission: self.commission,
            net_pnl,
            opened_at: self.opened_at,
            closed_at,
            duration_seconds: (closed_at - self.opened_at).num_seconds(),
            // The final result is itself a P&L the trade reached: keep MAE ≤ result ≤ MFE even
            // when the last exit had no price to observe.
            mae: self.mae.min(self.realized_pnl),
            mfe: self.mfe.max(self.realized_pnl),
        })
    }
}

/// A closed round trip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// Product root.
    pub root: Root,
    /// Contract traded (`None` for unknown roots without an explicit contract).
    pub contract: Option<Contract>,
    /// Long or short.
    pub side: Side,
    /// Number of entry fills.
    pub entries: u64,
    /// Number of exit fills.
    pub exits: u64,
    /// Contracts entered in total.
    pub entry_quantity: i64,
    /// Contracts exited in total (equals `entry_quantity`).
    pub exit_quantity: i64,
    /// Largest absolute position during the trade.
    pub max_quantity: i64,
    /// Volume-weighted average of all entry prices.
    pub avg_entry_price: Decimal,
    /// Volume-weighted average of all exit prices.
    pub avg_exit_price: Decimal,
    /// Realized points × contracts (dollars = points × point value).
    pub realized_points: Decimal,
    /// Realized dollars, gross of commission.
    pub realized_pnl: Decimal,
    /// Commission for every contract entered and exited.
    pub commission: Decimal,
    /// `realized_pnl − commission`: what wins, losses and the equity curve use.
    pub net_pnl: Decimal,
    /// Time of the opening signal.
    pub opened_at: DateTime<Utc>,
    /// Time of the signal that made the position flat (or flipped it).
    pub closed_at: DateTime<Utc>,
    /// `closed_at − opened_at` in whole seconds.
    pub duration_seconds: i64,
    /// Maximum adverse excursion: worst trade P&L seen at signal prices, dollars (≤ 0).
    pub mae: Decimal,
    /// Maximum favorable excursion: best trade P&L seen at signal prices, dollars (≥ 0).
    pub mfe: Decimal,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn side_of_quantity() {
        assert_eq!(Side::of(3), Some(Side::Long));
        assert_eq!(Side::of(-1), Some(Side::Short));
        assert_eq!(Side::of(0), None);
        assert_eq!(Side::Short.sign(), -1);
    }

    #[test]
    fn close_computes_averages_and_duration() {
        let t0 = Utc
            .with_ymd_and_hms(2025, 11, 3, 14, 30, 0)
            .single()
            .expect("time");
        let t1 = Utc
            .with_ymd_and_hms(2025, 11, 3, 15, 0, 5)
            .single()
            .expect("time");
        let mut open = OpenTrade::new(Side::Long, None, t0);
        open.entry_quantity = 2;
        open.entry_value = Decimal::from(51210);
        open.exit_quantity = 2;
        open.exit_value = Decimal::from(51240);
        open.realized_pnl = Decimal::from(-10);
        open.commission = Decimal::from(2);
        open.observe(Decimal::from(50));
        let root = Root::parse("NQ").expect("root");
        let trade = open.close(root, t1).expect("closes");
        assert_eq!(trade.avg_entry_price, Decimal::from(25605));
        assert_eq!(trade.avg_exit_price, Decimal::from(25620));
        assert_eq!(trade.net_pnl, Decimal::from(-12));
        assert_eq!(trade.duration_seconds, 1805);
        assert_eq!(trade.mae, Decimal::from(-10));
        assert_eq!(trade.mfe, Decimal::from(50));
    }
}
