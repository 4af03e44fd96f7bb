//! Folding a recorder's accepted signals through [`apply`]: the `rebuild` operation and the
//! reference the property tests compare incremental application against.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::applied::{Applied, ApplyContext};
use crate::error::{ApplyError, ReplayError};
use crate::position::Position;
use crate::position_engine::apply;
use crate::root::Root;
use crate::trade::Trade;

/// A recorder's positions (one per root) and its closed trades in closing order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Position per root; roots never signalled are absent (= flat).
    pub positions: BTreeMap<Root, Position>,
    /// Closed trades, oldest first.
    pub trades: Vec<Trade>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book::default()
    }

    /// The position of a root (flat if never signalled).
    pub fn position(&self, root: Root) -> Position {
        self.positions
            .get(&root)
            .cloned()
            .unwrap_or_else(|| Position::flat(root))
    }

    /// Applies one signal to the position of its root and records the outcome.
    /// On error nothing changes.
    pub fn apply(&mut self, alert: &Alert, ctx: &ApplyContext) -> Result<Applied, ApplyError> {
        let root = alert.symbol.root;
        let applied = match self.positions.get(&root) {
            Some(position) => apply(position, alert, ctx)?,
            None => apply(&Position::flat(root), alert, ctx)?,
        };
        self.positions.insert(root, applied.position.clone());
        self.trades.extend(applied.closed_trade.iter().cloned());
        Ok(applied)
    }
}

/// Replays signals, each with the context it was first applied with, from an empty book.
///
/// For exact rebuilds the context must be the original one: the receive time, the recorder
/// settings of the time, and as `last_known_price` the price that was used when the signal
/// had none (`Applied::price`).
pub fn replay<A, I>(signals: I) -> Result<Book, ReplayError>
where
    A: Borrow<Alert>,
    I: IntoIterator<Item = (A, ApplyContext)>,
{
    let mut book = Book::new();
    for (index, (alert, ctx)) in signals.into_iter().enumerate() {
        let root = alert.borrow().symbol.root;
        // Moves the position in and out of the map instead of cloning it twice per signal.
        let position = book
            .positions
            .remove(&root)
            .unwrap_or_else(|| Position::flat(root));
        match apply(&position, alert.borrow(), &ctx) {
            Ok(applied) => {
                book.trades.extend(applied.closed_trade);
                book.positions.insert(root, applied.position);
            }
            Err(source) => return Err(ReplayError { index, source }),
        }
    }
    Ok(book)
}
