//! What applying a signal needs besides the alert ([`ApplyContext`]) and what it produces
//! ([`Applied`]: the new position, fills, the closed trade, notes, price source).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::alert::Action;
use crate::contract::Contract;
use crate::fills::Fills;
use crate::position::Position;
use crate::root::Root;
use crate::trade::Trade;

/// Everything outside the alert that applying it depends on. The store fills it in from the
/// recorder's settings and the signal's arrival; replay must pass the same values again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyContext {
    /// When the signal was received (drives the roll calendar, trade times, durations).
    pub now: DateTime<Utc>,
    /// Contracts when the alert has no quantity (recorder setting, normally 1).
    pub default_quantity: u32,
    /// Commission per contract per side, in dollars (recorder setting).
    pub commission_per_contract: Decimal,
    /// The user's last known price of this root (across recorders), used when the alert has
    /// no price. Replay passes the price that was used when the signal was first applied.
    pub last_known_price: Option<Decimal>,
    /// Per-recorder pinned contract: used for new entries of its root instead of the calendar.
    pub contract_override: Option<Contract>,
}

impl ApplyContext {
    /// Default quantity 1, no commission, no last known price, no override.
    pub fn new(now: DateTime<Utc>) -> ApplyContext {
        ApplyContext {
            now,
            default_quantity: 1,
            commission_per_contract: Decimal::ZERO,
            last_known_price: None,
            contract_override: None,
        }
    }
}

/// Where the price used for a signal came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The alert's own price.
    Signal,
    /// No price in the alert: the last known price of the root.
    LastKnown,
    /// No price anywhere. Only possible for no-ops and closes; a close is then booked at the
    /// average entry (zero P&L, see [`Note::ClosedWithoutPrice`]).
    None,
}

/// Whether a fill opens/adds or reduces/closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillKind {
    /// Opens or adds to the position.
    Entry,
    /// Reduces or closes the position.
    Exit,
}

/// A change of position in one contract: what execution turns into an order. A flip yields
/// two fills (exit of the old side, entry of the new); execution may net fills of the same
/// contract into one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// Signed contracts: + buys, − sells.
    pub quantity: i64,
    /// Price the fill was booked at.
    pub price: Decimal,
    /// Contract (`None` for unknown roots without an explicit contract: not executable).
    pub contract: Option<Contract>,
    /// Entry or exit.
    pub kind: FillKind,
}

/// Something worth telling the user about a signal, stored with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// The target disagreed with what action/quantity alone would give; the target was applied
    /// (a missed or extra signal upstream was healed).
    Resync {
        /// Position the action and quantity alone would have produced.
        from_action: i64,
        /// Target position that was applied.
        target: i64,
    },
    /// A close while already flat: nothing to do.
    CloseWhenFlat,
    /// `close_long` while short (or `close_short` while long): nothing to do.
    CloseOtherSide {
        /// The action.
        action: Action,
        /// The position, unchanged.
        quantity: i64,
    },
    /// The alert had no price; the last known price of the root was used.
    PriceFromLastKnown {
        /// The price used.
        price: Decimal,
    },
    /// A close without any known price: the quantity went flat at the average entry, so the
    /// recorded P&L of this exit is zero.
    ClosedWithoutPrice,
    /// The root has no built-in spec: tracked in points (point value 1), not executable.
    NotExecutable {
        /// The root.
        root: Root,
    },
    /// An add went to the contract the position is held in, which differs from the contract a
    /// new entry would use now (e.g. after the roll).
    HeldContract {
        /// Contract the position is held in (and the add went to).
        held: Contract,
        /// Contract a new entry would use.
        current: Contract,
    },
}

/// The result of applying one signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The position after the signal.
    pub position: Position,
    /// Fills in order (exit before entry on a flip), at most two, inline (no allocation).
    /// Σ quantity = `delta`.
    pub fills: Fills,
    /// The trade this signal closed, if any (at most one: a flip closes one and opens the next).
    pub closed_trade: Option<Trade>,
    /// Notes for the signal log.
    pub notes: Vec<Note>,
    /// Change of signed position: new quantity − old quantity.
    pub delta: i64,
    /// Price used (`None` only if none was known).
    pub price: Option<Decimal>,
    /// Where the price came from.
    pub price_source: PriceSource,
}
