//! # jt-engine: the pure signal engine of Just.Trades
//!
//! Turns TradingView webhook bodies into typed signals ([`parse_alert`]) and applies them to
//! positions ([`apply`]), producing fills, closed trades ([`Trade`]) and statistics
//! ([`Stats`]). No I/O, no async, no clock: time is passed in ([`ApplyContext::now`]), so the
//! same signals always give the same positions, trades and statistics, and [`replay`]
//! rebuilds them exactly.
//!
//! Semantics in a few lines (every open choice is listed in `SEMANTICS.md` next to
//! `Cargo.toml`):
//! - BUY adds, SELL subtracts and flips through zero; CLOSE (`exit`, `flat`, `close_all`)
//!   goes flat; `close_long`/`close_short` close only that side; close when flat is a no-op
//!   with a note.
//! - An explicit target (`position_size`, `market_position` + `_size`) wins; when it differs
//!   from what action and quantity alone give, a [`Note::Resync`] is recorded.
//! - Adds average the entry at full precision; reductions keep it and realize
//!   `(exit − avg) × qty × direction × point value`; a flip closes the whole trade and opens
//!   the rest at the signal price as a new trade. The exit that ends a trade books the
//!   trade's exact result (`Σ exit value − Σ entry value`) minus what its earlier exits
//!   booked, so closed trades and flat positions carry no rounding from the average.
//! - A trade is a flat → flat round trip; commission is per contract per side.
//!
//! The seed example, on NQ (point value $20):
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use jt_engine::{ApplyContext, Limits, Position, apply, parse_alert};
//! use rust_decimal::Decimal;
//!
//! let ctx = ApplyContext::new(Utc.with_ymd_and_hms(2025, 11, 3, 15, 0, 0).unwrap());
//! let mut position = Position::flat("NQ".parse().unwrap());
//! let mut send = |body: &str| {
//!     let alert = parse_alert(body, &Limits::default()).unwrap();
//!     position = apply(&position, &alert, &ctx).unwrap().position;
//!     (position.quantity, position.avg_entry_price, position.realized_pnl)
//! };
//! let n = Decimal::from;
//! assert_eq!(send("BUY 1 NQ1! @ 25600"), (1, n(25600), n(0)));
//! assert_eq!(send("BUY 1 NQ1! @ 25610"), (2, n(25605), n(0)));
//! // (25620 − 25605) × 1 × $20 = $300; the average is unchanged by the reduction
//! assert_eq!(send("SELL 1 NQ1! @ 25620"), (1, n(25605), n(300)));
//! // no price: the last signal price 25620 is used, another $300
//! assert_eq!(send("CLOSE NQ1!"), (0, n(0), n(600)));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alert;
mod alert_caps;
mod alert_json;
mod alert_text;
mod alert_values;
mod applied;
mod contract;
pub mod contract_calendar;
mod error;
mod fills;
mod position;
mod position_engine;
mod replay;
mod root;
mod stats;
mod symbol;
mod trade;

pub use alert::{Action, Alert, AlertFormat, Limits, parse_alert};
pub use alert_caps::{
    MAX_ACTION_CHARS, MAX_EXTRA_KEY_CHARS, MAX_EXTRA_TEXT_CHARS, MAX_ID_CHARS, MAX_NUMBER_CHARS,
    MAX_TICKER_CHARS, MAX_TIME_CHARS, excerpt,
};
pub use applied::{Applied, ApplyContext, Fill, FillKind, Note, PriceSource};
pub use contract::{CONTRACT_SPECS, Contract, ContractSpec, Month, Schedule};
pub use contract_calendar::{front_month, nth_contract};
pub use error::{AlertError, ApplyError, ReplayError, SymbolError};
pub use fills::{Fills, MAX_FILLS};
pub use position::Position;
pub use position_engine::apply;
pub use replay::{Book, replay};
pub use root::{MAX_ROOT_LEN, Root};
pub use stats::Stats;
pub use symbol::{Symbol, SymbolContract, YearSpec};
pub use trade::{OpenTrade, Side, Trade};
