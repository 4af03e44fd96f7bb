//! Rows of the recorder page's tables, formatted for display (see [`super::display`]).

use chrono_tz::Tz;
use jt_engine::{Side, Symbol, Trade};
use jt_store::recorders::RecorderStatus;
use jt_store::signal_log::{SignalRow, SignalStatus};
use jt_store::state::PositionRow;
use rust_decimal::Decimal;

use super::display::{dollars, price, signed_quantity, time};

/// Shown where a value does not apply (a flat position has no average entry).
const NONE: &str = "—";

/// A recorder status as a word (also the CSS class suffix).
pub(crate) fn status_text(status: RecorderStatus) -> &'static str {
    match status {
        RecorderStatus::Active => "active",
        RecorderStatus::Paused => "paused",
        RecorderStatus::Deleted => "deleted",
    }
}

/// A signal's fate as a word (also the CSS class suffix).
pub(super) fn signal_status_text(status: SignalStatus) -> &'static str {
    match status {
        SignalStatus::Accepted => "accepted",
        SignalStatus::Rejected => "rejected",
        SignalStatus::Duplicate => "duplicate",
        SignalStatus::Ignored => "ignored",
    }
}

/// Unrealized P&L of an open position at the user's mark price (none when flat or unmarked).
pub(super) fn unrealized_pnl(row: &PositionRow) -> Option<Decimal> {
    let position = &row.position;
    row.mark_price
        .filter(|_| !position.is_flat())
        .and_then(|mark| position.unrealized_pnl(mark))
}

/// One row of the positions table.
pub(super) struct PositionView {
    pub root: String,
    pub contract: String,
    pub quantity: String,
    pub avg_entry: String,
    pub last_price: String,
    pub realized: String,
    pub unrealized: String,
}

impl PositionView {
    pub(super) fn new(row: &PositionRow) -> Self {
        let position = &row.position;
        let root = position.root.to_string();
        let open = !position.is_flat();
        let unrealized = unrealized_pnl(row);
        Self {
            contract: position
                .contract
                .map_or_else(|| NONE.to_owned(), |c| c.tradovate_symbol()),
            quantity: if open {
                signed_quantity(position.quantity)
            } else {
                "flat".to_owned()
            },
            avg_entry: if open {
                price(position.avg_entry_price, Some(&root))
            } else {
                NONE.to_owned()
            },
            last_price: position
                .last_price
                .map_or_else(|| NONE.to_owned(), |p| price(p, Some(&root))),
            realized: dollars(position.realized_pnl),
            unrealized: unrealized.map_or_else(|| NONE.to_owned(), dollars),
            root,
        }
    }
}

/// One row of the signal log.
pub(super) struct SignalView {
    pub id: i64,
    pub seq: i64,
    pub received: String,
    pub status: &'static str,
    pub action: String,
    pub ticker: String,
    pub quantity: String,
    pub price: String,
    pub position_after: String,
    /// The rejection reason, or the engine's notes.
    pub detail: String,
    /// Applying it healed a missed or extra signal: marked in the log.
    pub resync: bool,
    /// Its orders: (account id, status), filled in by the page.
    pub orders: Vec<(jt_store::BrokerAccountId, String)>,
}

impl SignalView {
    pub(super) fn new(row: SignalRow, zone: Tz) -> Self {
        let root = row
            .ticker
            .as_deref()
            .and_then(|ticker| Symbol::parse(ticker).ok())
            .map(|symbol| symbol.root.to_string());
        Self {
            id: row.id,
            seq: row.seq,
            received: time(row.received_at, zone),
            resync: row.is_resync(),
            status: signal_status_text(row.status),
            action: row.action.unwrap_or_default(),
            ticker: row.ticker.unwrap_or_default(),
            quantity: row.quantity.map(|q| q.to_string()).unwrap_or_default(),
            price: row
                .price
                .map(|p| price(p, root.as_deref()))
                .unwrap_or_default(),
            position_after: row.position_after.map(signed_quantity).unwrap_or_default(),
            detail: row.error.or(row.note).unwrap_or_default(),
            orders: Vec::new(),
        }
    }
}

/// One row of the trades table.
pub(super) struct TradeView {
    pub root: String,
    pub contract: String,
    pub side: &'static str,
    pub quantity: i64,
    pub entry: String,
    pub exit: String,
    pub realized: String,
    pub commission: String,
    pub net: String,
    pub opened: String,
    pub closed: String,
}

impl TradeView {
    pub(super) fn new(trade: &Trade, zone: Tz) -> Self {
        let root = trade.root.to_string();
        Self {
            contract: trade
                .contract
                .map_or_else(|| NONE.to_owned(), |c| c.tradovate_symbol()),
            side: match trade.side {
                Side::Long => "long",
                Side::Short => "short",
            },
            quantity: trade.max_quantity,
            entry: price(trade.avg_entry_price, Some(&root)),
            exit: price(trade.avg_exit_price, Some(&root)),
            realized: dollars(trade.realized_pnl),
            commission: dollars(trade.commission),
            net: dollars(trade.net_pnl),
            opened: time(trade.opened_at, zone),
            closed: time(trade.closed_at, zone),
            root,
        }
    }
}
