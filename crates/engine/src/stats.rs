//! Trade statistics (SPEC §7), built incrementally with [`Stats::add`] or in one go with
//! [`Stats::from_trades`]; both run the same code in the same order, so they are identical.
//!
//! Conventions:
//! - everything is on a trade's **net** P&L (after commission): a win is net > 0, a loss net < 0,
//!   a net of exactly 0 is a breakeven trade (counted in `trade_count`, neither win nor loss);
//! - the equity curve is the running sum of net P&L of closed trades in the order added
//!   (callers combining recorders add trades ordered by `closed_at`), starting at 0;
//! - drawdown = running peak (≥ 0, the start counts as a peak) − equity, in dollars; drawdown
//!   percent = drawdown / peak × 100 and is only defined while the peak is > 0 (a curve that
//!   never made money has no percent drawdown: `None`); it may exceed 100 when equity goes
//!   below zero after a positive peak;
//! - percentages are on a 0–100 scale; ratios are at full decimal precision (display rounds).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::trade::Trade;

/// Accumulated statistics of closed trades.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Time zone of `daily_pnl` dates (the user's).
    pub time_zone: Tz,
    /// Closed trades.
    pub trade_count: u64,
    /// Trades with net P&L > 0.
    pub wins: u64,
    /// Trades with net P&L < 0.
    pub losses: u64,
    /// Σ net P&L of winning trades (≥ 0).
    pub gross_profit: Decimal,
    /// Σ net P&L of losing trades (≤ 0).
    pub gross_loss: Decimal,
    /// Σ net P&L: the equity at the end of the curve.
    pub net_pnl: Decimal,
    /// Σ commission.
    pub commission: Decimal,
    /// Best trade net P&L (0 without wins).
    pub largest_win: Decimal,
    /// Worst trade net P&L (≤ 0; 0 without losses).
    pub largest_loss: Decimal,
    /// Highest equity reached (≥ 0).
    pub peak_equity: Decimal,
    /// Largest peak-to-trough drop of the equity curve, dollars (≥ 0).
    pub max_drawdown: Decimal,
    /// Largest drawdown as a percent of its peak; `None` while the peak was never > 0.
    pub max_drawdown_pct: Option<Decimal>,
    /// Net P&L per local date (in `time_zone`) of the trades' close time.
    pub daily_pnl: BTreeMap<NaiveDate, Decimal>,
}

impl Stats {
    /// Empty statistics for a time zone.
    pub fn new(time_zone: Tz) -> Stats {
        Stats {
            time_zone,
            trade_count: 0,
            wins: 0,
            losses: 0,
            gross_profit: Decimal::ZERO,
            gross_loss: Decimal::ZERO,
            net_pnl: Decimal::ZERO,
            commission: Decimal::ZERO,
            largest_win: Decimal::ZERO,
            largest_loss: Decimal::ZERO,
            peak_equity: Decimal::ZERO,
            max_drawdown: Decimal::ZERO,
            max_drawdown_pct: None,
            daily_pnl: BTreeMap::new(),
        }
    }

    /// Statistics of `trades` in order (full replay).
    pub fn from_trades<'a>(trades: impl IntoIterator<Item = &'a Trade>, time_zone: Tz) -> Stats {
        let mut stats = Stats::new(time_zone);
        for trade in trades {
            stats.add(trade);
        }
        stats
    }

    /// Adds one closed trade (incremental update). Sums saturate instead of overflowing: they
    /// are far beyond any real account long before that.
    pub fn add(&mut self, trade: &Trade) {
        self.add_result(trade.net_pnl, trade.commission, trade.closed_at);
    }

    /// Adds one closed trade given only what statistics use of it: its net P&L, commission
    /// and close time. Lets callers that hold many trades (pages with 20,000 of them) read
    /// three columns instead of whole trades; [`Stats::add`] is this on a [`Trade`].
    pub fn add_result(&mut self, net: Decimal, commission: Decimal, closed_at: DateTime<Utc>) {
        self.trade_count = self.trade_count.saturating_add(1);
        if net > Decimal::ZERO {
            self.wins = self.wins.saturating_add(1);
            self.gross_profit = self.gross_profit.saturating_add(net);
            self.largest_win = self.largest_win.max(net);
        } else if net < Decimal::ZERO {
            self.losses = self.losses.saturating_add(1);
            self.gross_loss = self.gross_loss.saturating_add(net);
            self.largest_loss = self.largest_loss.min(net);
        }
        self.net_pnl = self.net_pnl.saturating_add(net);
        self.commission = self.commission.saturating_add(commission);
        self.peak_equity = self.peak_equity.max(self.net_pnl);
        let drawdown = self.current_drawdown();
        self.max_drawdown = self.max_drawdown.max(drawdown);
        if let Some(pct) = self.current_drawdown_pct() {
            self.max_drawdown_pct = Some(self.max_drawdown_pct.map_or(pct, |m| m.max(pct)));
        }
        let date = closed_at.with_timezone(&self.time_zone).date_naive();
        let day = self.daily_pnl.entry(date).or_insert(Decimal::ZERO);
        *day = day.saturating_add(net);
    }

    /// Breakeven trades (net exactly 0).
    pub fn breakevens(&self) -> u64 {
        self.trade_count - self.wins - self.losses
    }

    /// Wins / trades × 100; `None` without trades.
    pub fn win_rate_pct(&self) -> Option<Decimal> {
        percent(Decimal::from(self.wins), Decimal::from(self.trade_count))
    }

    /// Average net P&L of winning trades; `None` without wins.
    pub fn avg_win(&self) -> Option<Decimal> {
        self.gross_profit.checked_div(Decimal::from(self.wins))
    }

    /// Average net P&L of losing trades (negative); `None` without losses.
    pub fn avg_loss(&self) -> Option<Decimal> {
        self.gross_loss.checked_div(Decimal::from(self.losses))
    }

    /// Gross profit / |gross loss|; `None` without losses (infinite or undefined).
    pub fn profit_factor(&self) -> Option<Decimal> {
        self.gross_profit.checked_div(self.gross_loss.abs())
    }

    /// Average net P&L per trade; `None` without trades.
    pub fn expectancy(&self) -> Option<Decimal> {
        self.net_pnl.checked_div(Decimal::from(self.trade_count))
    }

    /// Peak − current equity, dollars (≥ 0).
    pub fn current_drawdown(&self) -> Decimal {
        self.peak_equity.saturating_sub(self.net_pnl)
    }

    /// Current drawdown as a percent of the peak; `None` while the peak is ≤ 0.
    pub fn current_drawdown_pct(&self) -> Option<Decimal> {
        percent(self.current_drawdown(), self.peak_equity)
    }
}

/// `part / whole × 100`, `None` when `whole` ≤ 0.
fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole <= Decimal::ZERO {
        return None;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(whole)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::root::Root;
    use crate::trade::Side;

    fn trade(net: i64, closed_hour_utc: u32) -> Trade {
        let at = Utc
            .with_ymd_and_hms(2025, 11, 3, closed_hour_utc, 0, 0)
            .single()
            .expect("time");
        Trade {
            root: Root::parse("NQ").expect("root"),
            contract: None,
            side: Side::Long,
            entries: 1,
            exits: 1,
            entry_quantity: 1,
            exit_quantity: 1,
            max_quantity: 1,
            avg_entry_price: Decimal::from(100),
            avg_exit_price: Decimal::from(100),
            realized_points: Decimal::ZERO,
            realized_pnl: Decimal::from(net + 1),
            commission: Decimal::ONE,
            net_pnl: Decimal::from(net),
            opened_at: at,
            closed_at: at,
            duration_seconds: 0,
            mae: Decimal::ZERO,
            mfe: Decimal::ZERO,
        }
    }

    #[test]
    fn hand_checked_curve() {
        // Equity: +100, +50, +250, −50, −50(0 trade) → peak 250, max dd 300 (120 %).
        let trades = [
            trade(100, 1),
            trade(-50, 2),
            trade(200, 3),
            trade(-300, 4),
            trade(0, 5),
        ];
        let stats = Stats::from_trades(&trades, chrono_tz::America::New_York);
        assert_eq!(stats.trade_count, 5);
        assert_eq!((stats.wins, stats.losses, stats.breakevens()), (2, 2, 1));
        assert_eq!(stats.net_pnl, Decimal::from(-50));
        assert_eq!(stats.gross_profit, Decimal::from(300));
        assert_eq!(stats.gross_loss, Decimal::from(-350));
        assert_eq!(stats.largest_win, Decimal::from(200));
        assert_eq!(stats.largest_loss, Decimal::from(-300));
        assert_eq!(stats.win_rate_pct(), Some(Decimal::from(40)));
        assert_eq!(stats.avg_win(), Some(Decimal::from(150)));
        assert_eq!(stats.avg_loss(), Some(Decimal::from(-175)));
        assert_eq!(stats.expectancy(), Some(Decimal::from(-10)));
        assert_eq!(
            stats.profit_factor(),
            Decimal::from(300).checked_div(Decimal::from(350))
        );
        assert_eq!(stats.peak_equity, Decimal::from(250));
        assert_eq!(stats.max_drawdown, Decimal::from(300));
        assert_eq!(stats.max_drawdown_pct, Some(Decimal::from(120)));
        assert_eq!(stats.current_drawdown(), Decimal::from(300));
        assert_eq!(stats.commission, Decimal::from(5));
        // 01:00–04:00 UTC on Nov 3 is Nov 2 in New York (UTC−5); 05:00 UTC is Nov 3.
        let nov2 = NaiveDate::from_ymd_opt(2025, 11, 2).expect("date");
        let nov3 = NaiveDate::from_ymd_opt(2025, 11, 3).expect("date");
        assert_eq!(stats.daily_pnl.get(&nov2), Some(&Decimal::from(-50)));
        assert_eq!(stats.daily_pnl.get(&nov3), Some(&Decimal::ZERO));
    }

    #[test]
    fn never_profitable_has_no_percent_drawdown() {
        let stats = Stats::from_trades(&[trade(-10, 1), trade(-5, 2)], chrono_tz::UTC);
        assert_eq!(stats.max_drawdown, Decimal::from(15));
        assert_eq!(stats.max_drawdown_pct, None);
        assert_eq!(stats.profit_factor(), Some(Decimal::ZERO));
        assert_eq!(Stats::new(chrono_tz::UTC).win_rate_pct(), None);
        assert_eq!(Stats::new(chrono_tz::UTC).profit_factor(), None);
    }
}
