//! The recorder page's statistics panel (SPEC §7): all time and a chosen date range in the
//! user's time zone, the equity curve and drawdown as inline SVG, and daily P&L. The numbers
//! are the engine's [`Stats`]; this module only chooses trades and formats.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jt_engine::Stats;
use jt_store::exports::TimeRange;
use jt_store::performance::TradeResult;
use rust_decimal::{Decimal, RoundingStrategy};

use super::charts::line_chart;
use super::display::dollars;

/// Days of daily P&L listed (the newest of the range).
const DAYS_SHOWN: usize = 31;
/// Shown where a figure is undefined (no trades, no losses).
const NONE: &str = "—";

/// One column of figures.
pub(super) struct StatsView {
    pub title: String,
    pub net_pnl: String,
    pub negative: bool,
    pub trades: u64,
    pub wins: u64,
    pub losses: u64,
    pub win_rate: String,
    pub profit_factor: String,
    pub expectancy: String,
    pub avg_win: String,
    pub avg_loss: String,
    pub largest_win: String,
    pub largest_loss: String,
    pub max_drawdown: String,
    pub max_drawdown_pct: String,
    pub commission: String,
}

impl StatsView {
    fn new(title: String, stats: &Stats) -> Self {
        let optional = |value: Option<Decimal>| value.map_or_else(|| NONE.to_owned(), dollars);
        Self {
            title,
            net_pnl: dollars(stats.net_pnl),
            negative: stats.net_pnl.is_sign_negative() && !stats.net_pnl.is_zero(),
            trades: stats.trade_count,
            wins: stats.wins,
            losses: stats.losses,
            win_rate: stats
                .win_rate_pct()
                .map_or_else(|| NONE.to_owned(), percent),
            profit_factor: stats.profit_factor().map_or_else(
                || {
                    if stats.wins > 0 {
                        "∞".to_owned()
                    } else {
                        NONE.to_owned()
                    }
                },
                |f| round(f, 2).to_string(),
            ),
            expectancy: optional(stats.expectancy()),
            avg_win: optional(stats.avg_win()),
            avg_loss: optional(stats.avg_loss()),
            largest_win: dollars(stats.largest_win),
            largest_loss: dollars(stats.largest_loss),
            max_drawdown: dollars(stats.max_drawdown),
            max_drawdown_pct: stats
                .max_drawdown_pct
                .map_or_else(|| NONE.to_owned(), percent),
            commission: dollars(stats.commission),
        }
    }
}

/// One day of daily P&L.
pub(super) struct DayView {
    pub date: String,
    pub pnl: String,
    pub negative: bool,
}

/// Everything the panel shows.
pub(super) struct StatsPanel {
    pub columns: Vec<StatsView>,
    /// Inline SVG (built from numbers only, safe to print unescaped).
    pub equity_svg: String,
    pub drawdown_svg: String,
    pub has_trades: bool,
    pub days: Vec<DayView>,
    /// What the charts and days cover, in words.
    pub scope: String,
}

/// The panel for the recorder's closed trades (oldest first) and the chosen `range`
/// (`range_label` describes it; `None` shows all time only).
pub(super) fn stats_panel(
    results: &[TradeResult],
    range: TimeRange,
    range_label: Option<String>,
    zone: Tz,
) -> StatsPanel {
    let all = stats_of(results.iter(), zone);
    let mut columns = vec![StatsView::new("All time".to_owned(), &all)];
    let (chosen, scope) = match range_label {
        Some(label) => {
            let in_range: Vec<&TradeResult> = results
                .iter()
                .filter(|r| range.contains(r.closed_at))
                .collect();
            let stats = stats_of(in_range.iter().copied(), zone);
            columns.push(StatsView::new(label.clone(), &stats));
            (in_range, label)
        }
        None => (results.iter().collect(), "all time".to_owned()),
    };
    let (equity, drawdown) = curves(&chosen);
    let start = chosen
        .first()
        .map_or_else(String::new, |r| day(r.closed_at, zone));
    let end = chosen
        .last()
        .map_or_else(String::new, |r| day(r.closed_at, zone));
    let daily = if chosen.len() == results.len() {
        all
    } else {
        stats_of(chosen.iter().copied(), zone)
    };
    StatsPanel {
        columns,
        equity_svg: line_chart(
            "Equity curve of closed trades",
            &equity,
            &start,
            &end,
            false,
        ),
        drawdown_svg: line_chart(
            "Drawdown from the equity peak",
            &drawdown,
            &start,
            &end,
            true,
        ),
        has_trades: !chosen.is_empty(),
        days: daily
            .daily_pnl
            .iter()
            .rev()
            .take(DAYS_SHOWN)
            .map(|(date, pnl)| DayView {
                date: date.format("%a %Y-%m-%d").to_string(),
                pnl: dollars(*pnl),
                negative: pnl.is_sign_negative() && !pnl.is_zero(),
            })
            .collect(),
        scope,
    }
}

fn stats_of<'a>(results: impl Iterator<Item = &'a TradeResult>, zone: Tz) -> Stats {
    let mut stats = Stats::new(zone);
    for result in results {
        stats.add_result(result.net_pnl, result.commission, result.closed_at);
    }
    stats
}

/// The equity after each trade (from 0) and the drawdown below the running peak (≤ 0).
fn curves(results: &[&TradeResult]) -> (Vec<Decimal>, Vec<Decimal>) {
    let mut equity = Vec::with_capacity(results.len() + 1);
    let mut drawdown = Vec::with_capacity(results.len() + 1);
    let (mut now, mut peak) = (Decimal::ZERO, Decimal::ZERO);
    equity.push(now);
    drawdown.push(Decimal::ZERO);
    for result in results {
        now = now.saturating_add(result.net_pnl);
        peak = peak.max(now);
        equity.push(now);
        drawdown.push(now - peak);
    }
    (equity, drawdown)
}

fn day(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

fn round(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
}

fn percent(value: Decimal) -> String {
    format!("{}%", round(value, 1))
}
