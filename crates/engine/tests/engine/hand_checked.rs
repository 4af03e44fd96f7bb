//! Hand-checked cases: every action and alias, flips, closes when flat, targets, commission,
//! missing prices, MAE/MFE. Numbers are worked out in the comments.

use jt_engine::{Action, ApplyError, FillKind, Note, PriceSource, Side};

use crate::helpers::{Session, closed, d};

/// (body, quantity after, average entry after, all-time realized after)
type Step = (&'static str, i64, &'static str, &'static str);

fn run(root: &str, steps: &[Step]) -> Session {
    let mut s = Session::new(root);
    for (i, (body, quantity, avg, realized)) in steps.iter().enumerate() {
        let a = s.send(body);
        let at = format!("step {i} {body:?}");
        assert_eq!(a.position.quantity, *quantity, "{at}: quantity");
        assert_eq!(a.position.avg_entry_price, d(avg), "{at}: average entry");
        assert_eq!(a.position.realized_pnl, d(realized), "{at}: realized");
        assert_eq!(
            a.fills.iter().map(|f| f.quantity).sum::<i64>(),
            a.delta,
            "{at}: Σ fills"
        );
    }
    s
}

#[test]
fn table_of_actions_and_aliases() {
    let cases: &[(&str, &str, &[Step])] = &[
        (
            "buy/long add, sell reduces",
            "ES",
            &[
                ("long 2 ES1! @ 5000", 2, "5000", "0"),
                ("buy 1 ES1! @ 5003", 3, "5001", "0"),
                // (5011 − 5001) × 2 × $50 = 1000
                ("sell 2 ES1! @ 5011", 1, "5001", "1000"),
                ("exit ES1! @ 5001", 0, "0", "1000"),
            ],
        ),
        (
            "short/sell adds short, buy covers",
            "MNQ",
            &[
                ("short 1 MNQ1! @ 100", -1, "100", "0"),
                ("sell 1 MNQ1! @ 110", -2, "105", "0"),
                // short: (95 − 105) × 1 × −1 × $2 = 20
                ("buy 1 MNQ1! @ 95", -1, "105", "20"),
                ("flat MNQ1! @ 104", 0, "0", "22"),
            ],
        ),
        (
            "flip long → short",
            "NQ",
            &[
                ("buy 2 NQ1! @ 100", 2, "100", "0"),
                // close 2: (90 − 100) × 2 × $20 = −400; open short 1 at 90
                ("sell 3 NQ1! @ 90", -1, "90", "-400"),
                ("close_all NQ1! @ 80", 0, "0", "-200"),
            ],
        ),
        (
            "flip short → long",
            "CL",
            &[
                ("sell 1 CL1! @ 61.50", -1, "61.5", "0"),
                // (61.00 − 61.50) × 1 × −1 × $1000 = 500; open long 2 at 61.00
                ("buy 3 CL1! @ 61.00", 2, "61", "500"),
                // (61.10 − 61) × 2 × $1000 = 200
                ("close CL1! @ 61.10", 0, "0", "700"),
            ],
        ),
        (
            "close_long and close_short",
            "GC",
            &[
                ("buy 1 GC1! @ 2000", 1, "2000", "0"),
                ("close_short GC1! @ 2001", 1, "2000", "0"),
                // (2002.5 − 2000) × $100 = 250
                ("close_long GC1! @ 2002.5", 0, "0", "250"),
                ("sell 2 GC1! @ 2000", -2, "2000", "250"),
                ("close_long GC1! @ 1990", -2, "2000", "250"),
                // (1990 − 2000) × 2 × −1 × $100 = 2000
                ("exit_short GC1! @ 1990", 0, "0", "2250"),
            ],
        ),
        (
            "close when flat is a no-op",
            "YM",
            &[
                ("close YM1! @ 40000", 0, "0", "0"),
                ("close_long YM1!", 0, "0", "0"),
            ],
        ),
        (
            "full-precision average",
            "MES",
            &[
                ("buy 1 MES1! @ 100", 1, "100", "0"),
                (
                    "buy 2 MES1! @ 101",
                    3,
                    "100.66666666666666666666666667",
                    "0",
                ),
            ],
        ),
    ];
    for (name, root, steps) in cases {
        let s = std::panic::catch_unwind(|| run(root, steps));
        assert!(s.is_ok(), "case {name:?} failed");
    }
}

#[test]
fn flip_produces_exit_then_entry_and_two_trades() {
    let mut s = Session::new("NQ");
    s.send("buy 2 NQ1! @ 100");
    let flip_time = s.ctx.now;
    let a = s.send("sell 3 NQ1! @ 90");
    assert_eq!(a.delta, -3);
    let kinds: Vec<_> = a.fills.iter().map(|f| (f.kind, f.quantity)).collect();
    assert_eq!(kinds, [(FillKind::Exit, -2), (FillKind::Entry, -1)]);
    assert!(a.closed_trade.is_some());
    assert_eq!(closed(a).side, Side::Long);
    let open = a.position.open_trade.as_ref().expect("new trade open");
    assert_eq!(open.side, Side::Short);
    assert_eq!(open.opened_at, flip_time);
    s.send("buy NQ1! @ 95");
    assert_eq!(s.trades.len(), 2);
    // short 1 from 90 covered at 95: −5 × $20
    assert_eq!(s.trades[1].realized_pnl, d("-100"));
}

#[test]
fn closes_that_change_nothing_are_noted() {
    let mut s = Session::new("NQ");
    let a = s.send("close NQ1!");
    assert!(a.fills.is_empty());
    assert_eq!(a.notes, [Note::CloseWhenFlat]);
    assert_eq!(a.position.signal_count, 1);
    s.send("sell 1 NQ1! @ 100");
    let a = s.send("close_long NQ1! @ 99");
    assert_eq!(a.position.quantity, -1);
    assert_eq!(
        a.notes,
        [Note::CloseOtherSide {
            action: Action::CloseLong,
            quantity: -1
        }]
    );
}

#[test]
fn targets_that_agree_and_disagree() {
    let mut s = Session::new("NQ");
    // Agrees: flat + buy 1 = 1.
    s.send(r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":100,"position_size":1}"#);
    assert!(s.notes().is_empty());
    // A missed "buy 1" upstream: action says 2, strategy says 3 → 3, resync.
    let a =
        s.send(r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":102,"position_size":3}"#);
    assert_eq!(a.position.quantity, 3);
    assert_eq!(
        a.notes,
        [Note::Resync {
            from_action: 2,
            target: 3
        }]
    );
    // market_position flat with a sell of 1: flat wins, resync.
    let a = s.send(r#"{"action":"sell","ticker":"NQ1!","quantity":1,"price":101,"market_position":"flat","market_position_size":0}"#);
    assert_eq!(a.position.quantity, 0);
    assert_eq!(
        a.notes,
        [Note::Resync {
            from_action: 2,
            target: 0
        }]
    );
    // A close whose target is long 1: the target wins.
    let a = s.send(r#"{"action":"close","ticker":"NQ1!","price":101,"position_size":1}"#);
    assert_eq!(a.position.quantity, 1);
    assert_eq!(
        a.notes,
        [Note::Resync {
            from_action: 0,
            target: 1
        }]
    );
    // Target without action: no resync note (nothing to disagree with).
    let a = s.send(
        r#"{"ticker":"NQ1!","market_position":"short","market_position_size":"2","price":100}"#,
    );
    assert_eq!(a.position.quantity, -2);
    assert_eq!(a.delta, -3);
    assert!(a.notes.is_empty());
}

#[test]
fn reversal_in_tradingview_style_agrees() {
    // Strategy reverses long 2 → short 2: order contracts = 4, position_size = −2.
    let mut s = Session::new("ES");
    s.send(r#"{"action":"buy","ticker":"ES1!","quantity":"2","price":"5000","position_size":"2"}"#);
    let a = s.send(
        r#"{"action":"sell","ticker":"ES1!","quantity":"4","price":"5010","position_size":"-2"}"#,
    );
    assert_eq!(a.position.quantity, -2);
    assert!(a.notes.is_empty());
    assert_eq!(a.position.realized_pnl, d("1000"));
}

#[test]
fn commission_per_contract_per_side() {
    let mut s = Session::new("ES");
    s.ctx.commission_per_contract = d("2.5");
    s.send("buy 2 ES1! @ 100");
    let a = s.send("sell 2 ES1! @ 101");
    // 2 in + 2 out = 4 × $2.50
    assert_eq!(a.position.commission, d("10"));
    assert_eq!(a.position.realized_pnl, d("100"));
    let t = closed(a);
    assert_eq!(
        (t.realized_pnl, t.commission, t.net_pnl),
        (d("100"), d("10"), d("90"))
    );
    // A flip charges the exit leg to the old trade and the entry leg to the new one.
    s.send("buy 1 ES1! @ 100");
    let a = s.send("sell 3 ES1! @ 100");
    assert_eq!(closed(a).commission, d("5"));
    assert_eq!(
        a.position.open_trade.as_ref().map(|t| t.commission),
        Some(d("5"))
    );
    assert_eq!(a.position.commission, d("20"));
}

#[test]
fn missing_prices() {
    let mut s = Session::new("NQ");
    let err = s.try_send("buy NQ1!").expect_err("entry needs a price");
    assert_eq!(err, ApplyError::PriceRequired);
    assert_eq!(
        err.to_string(),
        "price required: add \"price\": \"{{close}}\" to the alert"
    );
    assert_eq!(
        s.position.signal_count, 0,
        "a rejected signal changes nothing"
    );

    // The user's last known price of the root (another recorder) is used and noted.
    s.ctx.last_known_price = Some(d("25600"));
    let a = s.send("buy NQ1!");
    assert_eq!(a.price_source, PriceSource::LastKnown);
    assert_eq!(a.notes, [Note::PriceFromLastKnown { price: d("25600") }]);
    assert_eq!(
        a.position.last_price, None,
        "last_price only follows signal prices"
    );

    // A close with no price anywhere still flattens, at the average entry (zero P&L).
    s.ctx.last_known_price = None;
    let a = s.send("close NQ1!");
    assert_eq!(a.position.quantity, 0);
    assert_eq!(a.price_source, PriceSource::None);
    assert_eq!(a.notes, [Note::ClosedWithoutPrice]);
    assert_eq!(closed(a).realized_pnl, d("0"));
    assert_eq!(a.fills[0].price, d("25600"));
}

#[test]
fn mae_and_mfe_from_signal_prices() {
    let mut s = Session::new("NQ");
    s.send("buy 1 NQ1! @ 100");
    // Same target, only a price: observed, nothing traded.
    s.send(r#"{"ticker":"NQ1!","position_size":1,"price":90}"#);
    s.send(r#"{"ticker":"NQ1!","position_size":1,"price":120}"#);
    s.send("buy 1 NQ1! @ 110");
    // avg 105, 2 contracts: at 100 → (100 − 105) × 2 × $20 = −200 (= MAE, as at 90 before)
    s.send(r#"{"ticker":"NQ1!","position_size":2,"price":100}"#);
    // sell 1 at 115: realized (115 − 105) × 20 = 200; then at 95 the rest: 200 + (95 − 105) × 20 = 0
    s.send("sell 1 NQ1! @ 115");
    s.send("close NQ1! @ 95");
    let t = &s.trades[0];
    assert_eq!(t.realized_pnl, d("0"));
    assert_eq!(t.mae, d("-200"));
    // best: at 120 with 1 contract from 100 → +400
    assert_eq!(t.mfe, d("400"));
}

#[test]
fn unknown_roots_are_tracked_in_points() {
    let mut s = Session::new("ZZZ");
    let a = s.send("buy 2 ZZZ1! @ 10");
    assert_eq!(
        a.notes,
        [Note::NotExecutable {
            root: "ZZZ".parse().expect("root")
        }]
    );
    assert_eq!(a.fills[0].contract, None);
    let a = s.send("sell 2 ZZZ1! @ 12.5");
    // point value 1: 2.5 × 2
    assert_eq!(a.position.realized_pnl, d("5"));
    assert_eq!(closed(a).realized_points, d("5"));
}

#[test]
fn quantity_defaults_and_closes_ignore_quantity() {
    let mut s = Session::new("NQ");
    s.ctx.default_quantity = 3;
    assert_eq!(s.send("buy NQ1! @ 1").position.quantity, 3);
    assert_eq!(s.send("close 1 NQ1! @ 1").position.quantity, 0);
}

#[test]
fn wrong_root_is_rejected() {
    let mut s = Session::new("ES");
    let err = s.try_send("buy 1 NQ1! @ 1").expect_err("root mismatch");
    assert!(matches!(err, ApplyError::RootMismatch { .. }));
}

#[test]
fn a_closed_trade_is_exact_even_when_the_average_repeats() {
    let mut s = Session::new("NQ");
    // An earlier trade: +50 points × $20 = 1000.
    s.send("buy 1 NQ1! @ 25550");
    s.send("sell 1 NQ1! @ 25600");
    s.send("buy 1 NQ1! @ 25600");
    // avg (25600 + 2 × 25601) / 3 = 25600.666…667 (rounded at 28 digits)
    let a = s.send("buy 2 NQ1! @ 25601");
    assert_eq!(
        a.position.avg_entry_price,
        d("25600.666666666666666666666667")
    );
    // A partial exit against that average is rounded: (25610 − avg) × $20 ≈ 186.67.
    let a = s.send("sell 1 NQ1! @ 25610");
    let partial = a.position.realized_pnl - d("1000");
    assert!((partial - d("186.6666666666666666")).abs() < d("0.000000000001"));
    // The closing exit books what is left of the exact trade result:
    // exits 3 × 25610 = 76830, entries 25600 + 2 × 25601 = 76802 → 28 points × $20 = $560.
    let a = s.send("sell 2 NQ1! @ 25610");
    let t = closed(a);
    assert_eq!((t.realized_points, t.realized_pnl), (d("28"), d("560")));
    assert_eq!(t.realized_pnl.to_string(), "560");
    // The position is flat: its realized P&L is exactly the sum of its trades.
    assert_eq!(a.position.realized_pnl.to_string(), "1560");
}

#[test]
fn the_closing_leg_of_a_flip_is_exact() {
    let mut s = Session::new("ES");
    s.send("buy 1 ES1! @ 5000");
    s.send("buy 1 ES1! @ 5000.25");
    s.send("buy 1 ES1! @ 5000.25");
    s.send("sell 1 ES1! @ 5001");
    // Flip: close 2 at 4999, open short 1 at 4999.
    // Exits 5001 + 2 × 4999 = 14999, entries 5000 + 2 × 5000.25 = 15000.5 → −1.5 × $50 = −75.
    let a = s.send("sell 3 ES1! @ 4999");
    let t = closed(a);
    assert_eq!(t.realized_pnl.to_string(), "-75.00");
    assert_eq!(a.position.realized_pnl.to_string(), "-75.00");
    assert_eq!(a.position.quantity, -1);
    assert_eq!(
        a.position
            .open_trade
            .as_ref()
            .and_then(|t| t.realized_before),
        Some(d("-75"))
    );
}
