//! Contracts: front month by the roll calendar, adds staying in the held contract across the
//! roll, explicit contracts and per-recorder overrides.

use jt_engine::{Contract, Month, Note};

use crate::helpers::{Session, closed, utc};

fn contract(text: &str) -> Contract {
    let root_len = text.len() - 2;
    let month = text[root_len..]
        .chars()
        .next()
        .and_then(Month::from_code)
        .expect("month code");
    let year = 2020 + text[root_len + 1..].parse::<u16>().expect("year digit");
    Contract {
        root: text[..root_len].parse().expect("root"),
        month,
        year,
    }
}

#[test]
fn position_held_across_the_roll() {
    let mut s = Session::new("NQ");
    // Wednesday 2025-12-10: the day before the roll (second Thursday, Dec 11).
    s.ctx.now = utc(2025, 12, 10, 20, 0);
    let a = s.send("buy 1 NQ1! @ 25600");
    assert_eq!(a.fills[0].contract, Some(contract("NQZ5")));

    s.ctx.now = utc(2025, 12, 11, 14, 0);
    let a = s.send("buy 1 NQ1! @ 25610");
    assert_eq!(
        a.fills[0].contract,
        Some(contract("NQZ5")),
        "adds go to the held contract"
    );
    assert_eq!(
        a.notes,
        [Note::HeldContract {
            held: contract("NQZ5"),
            current: contract("NQH6")
        }]
    );
    assert_eq!(a.position.contract, Some(contract("NQZ5")));

    let a = s.send("close NQ1! @ 25620");
    assert_eq!(
        a.fills[0].contract,
        Some(contract("NQZ5")),
        "exits go to the held contract"
    );
    assert_eq!(closed(a).contract, Some(contract("NQZ5")));

    let a = s.send("sell 1 NQ1! @ 25620");
    assert_eq!(
        a.fills[0].contract,
        Some(contract("NQH6")),
        "a new entry takes the front month"
    );
}

#[test]
fn flip_after_the_roll_opens_the_new_side_in_the_front_month() {
    let mut s = Session::new("ES");
    s.ctx.now = utc(2026, 3, 11, 20, 0);
    s.send("buy 1 ES1! @ 6000");
    s.ctx.now = utc(2026, 3, 12, 14, 0);
    let a = s.send("sell 2 ES1! @ 6010");
    let contracts: Vec<_> = a
        .fills
        .iter()
        .map(|f| f.contract.map(|c| c.to_string()))
        .collect();
    assert_eq!(
        contracts,
        [Some("ESH6".to_owned()), Some("ESM6".to_owned())]
    );
}

#[test]
fn explicit_contracts_and_overrides() {
    let mut s = Session::new("NQ");
    let a = s.send("buy 1 NQH2026 @ 25700");
    assert_eq!(a.position.contract, Some(contract("NQH6")));
    s.send("close NQH6 @ 25700");

    let a = s.send("buy 1 CME_MINI:NQ2! @ 25700");
    assert_eq!(a.position.contract, Some(contract("NQH6")));
    s.send("close NQ @ 25700");

    s.ctx.contract_override = Some(contract("NQM6"));
    let a = s.send("buy 1 NQ1! @ 25700");
    assert_eq!(a.position.contract, Some(contract("NQM6")));
}

#[test]
fn crude_and_gold_front_months_in_fills() {
    let mut s = Session::new("CL");
    s.ctx.now = utc(2026, 1, 14, 15, 0);
    assert_eq!(
        s.send("buy 1 CL1! @ 60").fills[0].contract,
        Some(contract("CLG6"))
    );
    let mut s = Session::new("GC");
    s.ctx.now = utc(2026, 1, 15, 15, 0);
    assert_eq!(
        s.send("buy 1 GC1! @ 4000").fills[0].contract,
        Some(contract("GCJ6"))
    );
}
