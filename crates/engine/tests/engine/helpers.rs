//! A small driver that applies alert bodies one after another, like the store does.

use chrono::{DateTime, Duration, TimeZone, Utc};
use jt_engine::{
    Applied, ApplyContext, ApplyError, Limits, Note, Position, Root, Trade, apply, parse_alert,
};
use rust_decimal::Decimal;

/// A decimal from text (test input only).
pub fn d(text: &str) -> Decimal {
    text.parse().expect("test decimal")
}

/// A UTC time (test input only).
pub fn utc(y: i32, mo: u32, day: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, day, h, mi, 0)
        .single()
        .expect("test time")
}

/// The trade the signal closed (must exist).
pub fn closed(applied: &Applied) -> &Trade {
    applied
        .closed_trade
        .as_ref()
        .expect("the signal closes a trade")
}

/// One recorder's position of one root, fed alert bodies.
pub struct Session {
    pub position: Position,
    pub ctx: ApplyContext,
    pub trades: Vec<Trade>,
    pub last: Option<Applied>,
}

impl Session {
    /// A flat position of `root`, signals at 2025-11-03 15:00 UTC, one minute apart.
    pub fn new(root: &str) -> Session {
        let root: Root = root.parse().expect("test root");
        Session {
            position: Position::flat(root),
            ctx: ApplyContext::new(utc(2025, 11, 3, 15, 0)),
            trades: Vec::new(),
            last: None,
        }
    }

    /// Applies one body; panics on a parse error (tests send valid bodies here).
    pub fn try_send(&mut self, body: &str) -> Result<&Applied, ApplyError> {
        let alert = parse_alert(body, &Limits::default())
            .unwrap_or_else(|e| panic!("test alert {body:?} should parse: {e}"));
        let applied = apply(&self.position, &alert, &self.ctx)?;
        self.position = applied.position.clone();
        self.trades.extend(applied.closed_trade.iter().cloned());
        self.ctx.now += Duration::minutes(1);
        Ok(self.last.insert(applied))
    }

    /// Applies one body that must apply.
    pub fn send(&mut self, body: &str) -> &Applied {
        match self.try_send(body) {
            Ok(_) => self.last.as_ref().expect("just applied"),
            Err(e) => panic!("{body:?} should apply: {e}"),
        }
    }

    /// Notes of the last applied signal.
    pub fn notes(&self) -> &[Note] {
        self.last.as_ref().map_or(&[], |a| a.notes.as_slice())
    }
}
