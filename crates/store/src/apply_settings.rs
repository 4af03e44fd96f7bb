//! How a signal is applied: the recorder settings it is applied with, in one type used by
//! ingest and by rebuild. Every accepted signal stores these values, so a replay applies it
//! exactly as it was applied the first time.

use chrono::{DateTime, Utc};
use jt_engine::{ApplyContext, Contract, PriceSource, Root, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The recorder settings a signal is applied with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ApplySettings {
    /// Contracts when the alert has none.
    pub default_quantity: i32,
    /// Commission per contract per side, in dollars.
    pub commission_per_contract: Decimal,
    /// A pinned contract (e.g. `NQZ6`) for new entries of its root.
    pub contract_override: Option<String>,
}

impl ApplySettings {
    /// The engine's context for a signal of `root` received at `now`. `last_known_price` is
    /// the user's freshest price of the root (ingest) or the price that was used (replay).
    pub fn apply_context(
        &self,
        root: Root,
        now: DateTime<Utc>,
        last_known_price: Option<Decimal>,
    ) -> ApplyContext {
        ApplyContext {
            now,
            // The column's check keeps it in 1..=10,000; 1 is only a guard.
            default_quantity: u32::try_from(self.default_quantity).unwrap_or(1),
            commission_per_contract: self.commission_per_contract,
            last_known_price,
            contract_override: contract_override(self.contract_override.as_deref(), root, now),
        }
    }
}

/// The recorder's pinned contract, when it is for this root.
pub fn contract_override(pinned: Option<&str>, root: Root, now: DateTime<Utc>) -> Option<Contract> {
    let symbol = Symbol::parse(pinned?).ok()?;
    (symbol.root == root)
        .then(|| symbol.resolve(now.date_naive()))
        .flatten()
}

/// The stored text of a price source (the `price_source` column).
pub fn price_source_text(source: PriceSource) -> &'static str {
    match source {
        PriceSource::Signal => "signal",
        PriceSource::LastKnown => "last_known",
        PriceSource::None => "none",
    }
}
