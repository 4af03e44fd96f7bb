//! The seed's example, step by step, in the text and JSON formats.

use jt_engine::{FillKind, PriceSource, Side};

use crate::helpers::{Session, d};

#[test]
fn seed_example_text() {
    let mut s = Session::new("NQ");

    let a = s.send("BUY 1 NQ1! @ 25600");
    assert_eq!((a.delta, a.position.quantity), (1, 1));
    assert_eq!(a.position.avg_entry_price, d("25600"));

    let a = s.send("BUY 1 NQ1! @ 25610");
    assert_eq!(a.position.quantity, 2);
    assert_eq!(a.position.avg_entry_price, d("25605"));

    let a = s.send("SELL 1 NQ1! @ 25620");
    assert_eq!(a.position.quantity, 1);
    assert_eq!(
        a.position.avg_entry_price,
        d("25605"),
        "reductions keep the average"
    );
    // (25620 − 25605) × 1 × $20
    assert_eq!(a.position.realized_pnl, d("300"));
    assert_eq!(a.fills[0].kind, FillKind::Exit);

    // No price: the last signal price (25620) is used and marked as such.
    let a = s.send("CLOSE NQ1!");
    assert_eq!((a.delta, a.position.quantity), (-1, 0));
    assert_eq!(a.price_source, PriceSource::LastKnown);
    assert_eq!(a.position.realized_pnl, d("600"));
    assert_eq!(a.position.avg_entry_price, d("0"));
    assert_eq!(a.position.contract, None);
    assert_eq!(a.position.signal_count, 4);

    assert_eq!(s.trades.len(), 1);
    let t = &s.trades[0];
    assert_eq!(t.side, Side::Long);
    assert_eq!((t.entries, t.exits, t.max_quantity), (2, 2, 2));
    assert_eq!((t.entry_quantity, t.exit_quantity), (2, 2));
    assert_eq!(t.avg_entry_price, d("25605"));
    assert_eq!(t.avg_exit_price, d("25620"));
    assert_eq!(t.realized_points, d("30"));
    assert_eq!(t.realized_pnl, d("600"));
    assert_eq!(t.duration_seconds, 3 * 60);
    assert_eq!(t.contract.map(|c| c.to_string()).as_deref(), Some("NQZ5"));
}

#[test]
fn seed_example_json_with_tradingview_placeholders_filled() {
    let mut s = Session::new("NQ");
    for (body, quantity, avg, realized) in [
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1","price":"25600","position_size":"1"}"#,
            1,
            "25600",
            "0",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1","price":"25610","position_size":"2"}"#,
            2,
            "25605",
            "0",
        ),
        (
            r#"{"action":"sell","ticker":"NQ1!","quantity":"1","price":"25620","position_size":"1"}"#,
            1,
            "25605",
            "300",
        ),
        (
            r#"{"action":"close","ticker":"NQ1!","price":"25620"}"#,
            0,
            "0",
            "600",
        ),
    ] {
        let a = s.send(body);
        assert_eq!(a.position.quantity, quantity, "{body}");
        assert_eq!(a.position.avg_entry_price, d(avg), "{body}");
        assert_eq!(a.position.realized_pnl, d(realized), "{body}");
        assert!(a.notes.is_empty(), "no resync when targets agree: {body}");
    }
}
