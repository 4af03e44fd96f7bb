//! Statistics from engine trades, and replay (rebuild) against step-by-step application.

use chrono::Duration;
use jt_engine::{Alert, ApplyContext, Book, Limits, Position, Stats, parse_alert, replay};

use crate::helpers::{Session, closed, d, utc};

#[test]
fn drawdown_and_daily_pnl_from_engine_trades() {
    let mut s = Session::new("NQ");
    s.ctx.commission_per_contract = d("1");
    // Trades (gross / net with $2 round-trip commission):
    //   +10 pts = +200 / +198;  −20 pts = −400 / −402;  +5 pts = +100 / +98
    for (entry, exit) in [("100", "110"), ("110", "90"), ("90", "95")] {
        s.send(&format!("buy 1 NQ1! @ {entry}"));
        s.send(&format!("sell 1 NQ1! @ {exit}"));
    }
    let stats = Stats::from_trades(&s.trades, chrono_tz::UTC);
    assert_eq!(stats.trade_count, 3);
    assert_eq!(stats.net_pnl, d("-106"));
    assert_eq!(stats.peak_equity, d("198"));
    // Peak 198 → trough −204: 402 dollars, 402 / 198 = 203.03…%
    assert_eq!(stats.max_drawdown, d("402"));
    assert_eq!(stats.max_drawdown_pct, d("40200").checked_div(d("198")));
    assert_eq!(stats.current_drawdown(), d("304"));
    assert_eq!(stats.commission, d("6"));
    assert_eq!(stats.daily_pnl.len(), 1);

    let mut incremental = Stats::new(chrono_tz::UTC);
    for t in &s.trades {
        incremental.add(t);
    }
    assert_eq!(incremental, stats);
}

fn stream() -> Vec<(Alert, ApplyContext)> {
    let bodies = [
        "buy 2 NQ1! @ 25600",
        "buy 1 ES1! @ 6000",
        "sell 3 NQ1! @ 25650.25",
        r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":25640,"position_size":0}"#,
        "close ES1! @ 6010.5",
        "close NQ1!",
        "buy 1 MNQ1! @ 25600",
        "sell 1 MNQ1!",
    ];
    let mut ctx = ApplyContext::new(utc(2025, 12, 10, 23, 0));
    ctx.commission_per_contract = d("0.52");
    bodies
        .iter()
        .map(|body| {
            ctx.now += Duration::hours(3);
            (
                parse_alert(body, &Limits::default()).expect("valid"),
                ctx.clone(),
            )
        })
        .collect()
}

#[test]
fn replay_equals_step_by_step_with_persistence() {
    let signals = stream();
    let rebuilt = replay(signals.iter().map(|(a, c)| (a, c.clone()))).expect("replays");

    // Step by step, persisting the position as JSON between signals like the store does.
    let mut book = Book::new();
    for (alert, ctx) in &signals {
        let root = alert.symbol.root;
        if let Some(position) = book.positions.get_mut(&root) {
            let stored = serde_json::to_string(position).expect("serializes");
            *position = serde_json::from_str(&stored).expect("deserializes");
        }
        book.apply(alert, ctx).expect("applies");
    }
    assert_eq!(book, rebuilt);
    assert_eq!(rebuilt.trades.len(), 4);
    assert!(rebuilt.positions.values().all(Position::is_flat));
    // The MNQ round trip has no exit price: booked at its entry, zero gross.
    assert_eq!(rebuilt.trades[3].realized_pnl, d("0"));
}

#[test]
fn replay_reports_the_failing_signal() {
    let alert = parse_alert("buy 1 NQ1!", &Limits::default()).expect("valid");
    let err = replay([(alert, ApplyContext::new(utc(2025, 1, 2, 3, 4)))]).expect_err("no price");
    assert_eq!(err.index, 0);
    assert!(err.to_string().contains("price required"));
}

/// Positions persisted before `OpenTrade::realized_before` existed still load and continue; the
/// closed trade is exact, the position adds what the trade had not booked yet.
#[test]
fn open_trades_persisted_without_realized_before_continue() {
    let mut s = Session::new("NQ");
    s.send("buy 1 NQ1! @ 100");
    s.send("sell 1 NQ1! @ 101");
    s.send("buy 1 NQ1! @ 100");
    s.send("buy 2 NQ1! @ 101");
    let mut json: serde_json::Value = serde_json::to_value(&s.position).expect("serializes");
    let open = json["open_trade"].as_object_mut().expect("open trade");
    assert!(open.remove("realized_before").is_some());
    s.position = serde_json::from_value(json).expect("old shape deserializes");
    assert_eq!(
        s.position.open_trade.as_ref().map(|t| t.realized_before),
        Some(None)
    );
    s.send("sell 1 NQ1! @ 110");
    let a = s.send("close NQ1! @ 110");
    // entries 100 + 2 × 101 = 302, exits 330: 28 points × $20 = 560; before: $20
    assert_eq!(closed(a).realized_pnl, d("560"));
    let off = a.position.realized_pnl - d("580");
    assert!(off.abs() < d("0.000000000001"), "{off}");
}
