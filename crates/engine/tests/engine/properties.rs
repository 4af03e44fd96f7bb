//! Property tests: invariants over random signal streams, and no panics on any input.

use std::collections::BTreeMap;

use chrono::Duration;
use jt_engine::{
    Alert, ApplyContext, Book, Limits, Position, Root, Stats, Symbol, apply, parse_alert, replay,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::helpers::{d, utc};

/// One random signal, rendered as a JSON or text body.
#[derive(Clone, Debug)]
struct Op {
    action: usize,
    quantity: Option<u32>,
    price_ticks: Option<u32>,
    target: Option<i64>,
    ticker: usize,
    minutes: i64,
    last_known: Option<u32>,
    text: bool,
}

const ACTIONS: [&str; 9] = [
    "buy",
    "sell",
    "close",
    "close_long",
    "close_short",
    "long",
    "short",
    "exit",
    "",
];
const TICKERS: [&str; 5] = ["NQ1!", "CME_MINI:ES1!", "ZZZ1!", "NQZ5", "mcl1!"];

fn op() -> impl Strategy<Value = Op> {
    (
        0..ACTIONS.len(),
        proptest::option::weighted(0.7, 1u32..=5),
        proptest::option::weighted(0.85, 1u32..=400),
        proptest::option::weighted(0.25, -5i64..=5),
        0..TICKERS.len(),
        1i64..=20_000,
        proptest::option::weighted(0.3, 1u32..=400),
        any::<bool>(),
    )
        .prop_map(
            |(action, quantity, price_ticks, target, ticker, minutes, last_known, text)| Op {
                action,
                quantity,
                price_ticks,
                target,
                ticker,
                minutes,
                last_known,
                text,
            },
        )
}

fn price(ticks: u32) -> Decimal {
    // 0.25 ticks from 1000: exact decimals, P&L with fractions.
    Decimal::from(1000) + Decimal::from(ticks) * d("0.25")
}

fn body(op: &Op) -> String {
    let action = ACTIONS[op.action];
    let ticker = TICKERS[op.ticker];
    if op.text && !action.is_empty() && op.target.is_none() {
        let q = op.quantity.map_or(String::new(), |q| format!("{q} "));
        let p = op
            .price_ticks
            .map_or(String::new(), |t| format!(" @ {}", price(t)));
        return format!("{action} {q}{ticker}{p}");
    }
    let mut fields = vec![format!(r#""ticker":"{ticker}""#)];
    if !action.is_empty() {
        fields.push(format!(r#""Action":"{action}""#));
    }
    if let Some(q) = op.quantity {
        fields.push(format!(r#""qty":{q}"#));
    }
    if let Some(t) = op.price_ticks {
        fields.push(format!(r#""price":"{}""#, price(t)));
    }
    match (op.target, action.is_empty()) {
        (Some(t), _) => fields.push(format!(r#""position_size":"{t}""#)),
        (None, true) => fields.push(r#""market_position":"flat""#.to_owned()),
        (None, false) => {}
    }
    format!("{{{}}}", fields.join(","))
}

/// What a stream produced: the accepted signals, the book built step by step (persisting
/// positions through JSON), the fills' sums per root and the statistics built incrementally.
type StreamRun = (Vec<(Alert, ApplyContext)>, Book, BTreeMap<Root, i64>, Stats);

/// Parses and applies a stream like the store would.
fn run_stream(ops: &[Op]) -> StreamRun {
    let mut ctx = ApplyContext::new(utc(2025, 9, 1, 0, 0));
    ctx.commission_per_contract = d("0.62");
    let mut accepted = Vec::new();
    let mut book = Book::new();
    let mut fill_sums = BTreeMap::new();
    let mut stats = Stats::new(chrono_tz::America::Chicago);
    for op in ops {
        ctx.now += Duration::minutes(op.minutes);
        ctx.last_known_price = op.last_known.map(price);
        let alert = parse_alert(body(op), &Limits::default())
            .unwrap_or_else(|e| panic!("generated {:?} must parse: {e}", body(op)));
        let root = alert.symbol.root;
        if let Some(position) = book.positions.get_mut(&root) {
            let stored = serde_json::to_string(position).expect("serializes");
            let reloaded: Position = serde_json::from_str(&stored).expect("deserializes");
            assert_eq!(&reloaded, position, "serde round trip is lossless");
            *position = reloaded;
        }
        let Ok(applied) = book.apply(&alert, &ctx) else {
            continue; // rejected (no price for an entry): stored as rejected, not replayed
        };
        let fills: i64 = applied.fills.iter().map(|f| f.quantity).sum();
        assert_eq!(fills, applied.delta);
        if let Some(target) = alert.target {
            assert_eq!(applied.position.quantity, target, "targets win");
        }
        *fill_sums.entry(root).or_insert(0) += fills;
        if let Some(trade) = &applied.closed_trade {
            stats.add(trade);
        }
        accepted.push((alert, ctx.clone()));
    }
    (accepted, book, fill_sums, stats)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn replay_equals_incremental(ops in proptest::collection::vec(op(), 1..80)) {
        let (accepted, book, _, stats) = run_stream(&ops);
        let rebuilt = replay(accepted.iter().map(|(a, c)| (a, c.clone()))).expect("accepted signals replay");
        prop_assert_eq!(&rebuilt, &book);
        prop_assert_eq!(Stats::from_trades(&rebuilt.trades, chrono_tz::America::Chicago), stats);
    }

    #[test]
    fn quantity_is_the_sum_of_fills_and_pnl_adds_up(ops in proptest::collection::vec(op(), 1..80)) {
        let (_, book, fill_sums, _) = run_stream(&ops);
        for (root, position) in &book.positions {
            prop_assert_eq!(position.quantity, fill_sums.get(root).copied().unwrap_or(0));
            let trades = book.trades.iter().filter(|t| t.root == *root);
            let (mut realized, mut commission) = (Decimal::ZERO, Decimal::ZERO);
            for t in trades {
                realized += t.realized_pnl;
                commission += t.commission;
            }
            if let Some(open) = &position.open_trade {
                realized += open.realized_pnl;
                commission += open.commission;
            }
            prop_assert_eq!(position.realized_pnl, realized);
            prop_assert_eq!(position.commission, commission);
            prop_assert_eq!(position.is_flat(), position.open_trade.is_none());
            if position.is_flat() {
                prop_assert_eq!(position.avg_entry_price, Decimal::ZERO);
                prop_assert_eq!(position.contract, None);
                prop_assert_eq!(position.opened_at, None);
            } else if root.as_str() != "ZZZ" {
                prop_assert!(position.contract.is_some(), "known roots hold a contract");
            }
        }
        for t in &book.trades {
            prop_assert!(t.mae <= t.realized_pnl && t.realized_pnl <= t.mfe, "{:?}", t);
            prop_assert_eq!(t.entry_quantity, t.exit_quantity);
            prop_assert!(t.max_quantity >= 1 && t.max_quantity <= t.entry_quantity);
            prop_assert!(t.closed_at >= t.opened_at);
            prop_assert_eq!(t.net_pnl, t.realized_pnl - t.commission);
        }
    }
}

/// Signals that all carry a price (whole 0.25 ticks, so every input has at most 2 decimals).
fn priced_op() -> impl Strategy<Value = Op> {
    (op(), 1u32..=400).prop_map(|(op, ticks)| Op {
        price_ticks: Some(ticks),
        ..op
    })
}

/// Whether `value` has no digits beyond `decimals` places (whatever its stored scale).
fn has_at_most_decimals(value: Decimal, decimals: u32) -> bool {
    (value * Decimal::from(10u64.pow(decimals)))
        .fract()
        .is_zero()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Averages repeat (5/3) and partial exits are rounded, but a closed trade is exact:
    /// Σ exit value − Σ entry value, at the inputs' 2 decimals; and a flat position's
    /// realized P&L is exactly the sum of its trades.
    #[test]
    fn closed_trades_and_flat_positions_are_exact(ops in proptest::collection::vec(priced_op(), 1..80)) {
        let (_, book, _, _) = run_stream(&ops);
        for t in &book.trades {
            prop_assert!(has_at_most_decimals(t.realized_points, 2), "{:?}", t);
            prop_assert!(has_at_most_decimals(t.realized_pnl, 2), "{:?}", t);
            let long_points = t.avg_exit_price * Decimal::from(t.exit_quantity)
                - t.avg_entry_price * Decimal::from(t.entry_quantity);
            if t.entry_quantity == 1 {
                let sign = if t.side == jt_engine::Side::Long { 1 } else { -1 };
                prop_assert_eq!(t.realized_points, long_points * Decimal::from(sign));
            }
        }
        for (root, position) in &book.positions {
            let of_root: Decimal = book.trades.iter().filter(|t| t.root == *root).map(|t| t.realized_pnl).sum();
            if position.is_flat() {
                prop_assert!(has_at_most_decimals(position.realized_pnl, 2), "{:?}", position);
                prop_assert_eq!(position.realized_pnl, of_root);
            } else if let Some(open) = &position.open_trade {
                prop_assert_eq!(open.realized_before, Some(of_root));
            }
        }
    }
}

/// Values that have broken parsers before: huge, tiny, signed, exotic digits, placeholders.
const TRICKY: [&str; 18] = [
    "1e400",
    "-0",
    "0.0000000001",
    "99999999999999999999999999999999",
    "NaN",
    "",
    "{{close}}",
    " 2 ",
    "١",
    "+1",
    "1e-30",
    "7.9228162514264337593543950335e28",
    "0x10",
    "1.",
    ".5",
    "--1",
    "10000",
    "-10000",
];

const TEMPLATES: [&str; 4] = [
    r#"{"action":"buy","ticker":"NQ1!","quantity":"2","price":"25600.25","position_size":"2","id":"a"}"#,
    r#"{"side":"sell","symbol":"CME_MINI:MNQZ2025","qty":1,"close":25600.5,"market_position":"short","market_position_size":1}"#,
    "BUY 2 NQ1! @ 25600.25",
    "close_long es1!",
];

fn apply_anywhere(alert: &Alert) {
    let mut ctx = ApplyContext::new(utc(2025, 12, 11, 0, 0));
    ctx.last_known_price = Some(d("25600"));
    let flat = Position::flat(alert.symbol.root);
    if let Ok(applied) = apply(&flat, alert, &ctx) {
        let _ = apply(&applied.position, alert, &ctx);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(alert) = parse_alert(&bytes, &Limits::default()) {
            apply_anywhere(&alert);
        }
    }

    #[test]
    fn no_panic_on_arbitrary_text(text in "\\PC{0,64}") {
        let _ = Symbol::parse(&text);
        if let Ok(alert) = parse_alert(&text, &Limits::default()) {
            apply_anywhere(&alert);
        }
    }

    #[test]
    fn no_panic_on_mutated_alerts(
        template in 0..TEMPLATES.len(),
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
    ) {
        let mut bytes = TEMPLATES[template].as_bytes().to_vec();
        for (at, op, byte) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => {}
            }
        }
        if let Ok(alert) = parse_alert(&bytes, &Limits::default()) {
            apply_anywhere(&alert);
        }
    }

    #[test]
    fn accepted_values_respect_the_limits(
        quantity in 0..TRICKY.len(), price in 0..TRICKY.len(), target in 0..TRICKY.len(),
        numeric in any::<bool>(),
    ) {
        let quote = |s: &str| if numeric { s.to_owned() } else { format!("\"{s}\"") };
        let body = format!(
            r#"{{"action":"buy","ticker":"NQ1!","quantity":{},"price":{},"position_size":{}}}"#,
            quote(TRICKY[quantity]), quote(TRICKY[price]), quote(TRICKY[target]),
        );
        let limits = Limits::default();
        if let Ok(alert) = parse_alert(&body, &limits) {
            let q = alert.quantity.unwrap_or(1);
            prop_assert!((1..=limits.max_quantity).contains(&q));
            let p = alert.price.unwrap_or(Decimal::ONE);
            prop_assert!(p > Decimal::ZERO && p <= limits.max_price && p.scale() <= 9);
            prop_assert!(alert.target.unwrap_or(0).unsigned_abs() <= u64::from(limits.max_quantity));
            apply_anywhere(&alert);
        }
    }
}
