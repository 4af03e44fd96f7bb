//! The built-in roll calendar: which contract is the front month on a given date.
//!
//! Rules (SPEC §7 / issue 4; the broker's own front month is preferred for execution, this
//! calendar is what tracking uses):
//! - equity index (NQ, ES, YM, RTY and micros): H M U Z; a contract is the front month until
//!   its **roll date, the second Thursday of its expiry month**; on the roll date the next
//!   quarter becomes the front month. (This is expiry − 8 days, except in months starting on
//!   a Friday, where expiry − 8 days is the first Thursday; the issue fixes the second.)
//! - CL/MCL (monthly) and GC/MGC (G J M Q V Z): a contract is the front month until the
//!   **15th of the month before its delivery month** (safely before CL's last trade around
//!   the 20th and GC's first notice day at month end).
//!
//! Dates are calendar dates; the engine uses the UTC date of the signal time, so a roll takes
//! effect at 00:00 UTC (19:00/20:00 New York the evening before, close to the Globex open of
//! the roll day's session).

use chrono::{Datelike, NaiveDate, Weekday};

use crate::contract::{Contract, ContractSpec, Month, Schedule};
use crate::root::Root;

/// Day of the month before delivery on which monthly and gold contracts roll.
const NON_INDEX_ROLL_DAY: u32 = 15;

/// The first day on which `(month, year)` is no longer the front month under `schedule`.
pub fn roll_date(schedule: Schedule, month: Month, year: i32) -> Option<NaiveDate> {
    match schedule {
        Schedule::EquityIndexQuarterly => {
            NaiveDate::from_weekday_of_month_opt(year, month.number(), Weekday::Thu, 2)
        }
        Schedule::Monthly | Schedule::GoldBiMonthly => {
            let (y, m) = if month.number() == 1 {
                (year.checked_sub(1)?, 12)
            } else {
                (year, month.number() - 1)
            };
            NaiveDate::from_ymd_opt(y, m, NON_INDEX_ROLL_DAY)
        }
    }
}

/// The expiry of an equity-index contract: the third Friday of its month (for display and
/// tests; tracking only needs the roll date).
pub fn equity_index_expiry(month: Month, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month.number(), Weekday::Fri, 3)
}

/// The listed contract after `(month, year)` under `schedule`.
pub fn next_listed(schedule: Schedule, month: Month, year: i32) -> Option<(Month, i32)> {
    let listed = schedule.listed_months();
    match listed.iter().find(|m| **m > month) {
        Some(next) => Some((*next, year)),
        None => Some((*listed.first()?, year.checked_add(1)?)),
    }
}

/// The listed contract before `(month, year)` under `schedule`.
pub fn previous_listed(schedule: Schedule, month: Month, year: i32) -> Option<(Month, i32)> {
    let listed = schedule.listed_months();
    match listed.iter().rev().find(|m| **m < month) {
        Some(previous) => Some((*previous, year)),
        None => Some((*listed.last()?, year.checked_sub(1)?)),
    }
}

/// Whether `contract` is the front month on `date`: the previous listed contract has rolled
/// and this one has not. Cheaper than [`front_month`] when the candidate is known.
pub fn is_front_month(contract: Contract, date: NaiveDate) -> bool {
    let Some(spec) = ContractSpec::of(&contract.root) else {
        return false;
    };
    let (schedule, year) = (spec.schedule, i32::from(contract.year));
    let rolls_after = roll_date(schedule, contract.month, year).is_some_and(|roll| date < roll);
    rolls_after
        && previous_listed(schedule, contract.month, year)
            .and_then(|(m, y)| roll_date(schedule, m, y))
            .is_some_and(|previous_roll| previous_roll <= date)
}

/// The front month `(month, year)` on `date` under `schedule`.
pub fn front_month_of(schedule: Schedule, date: NaiveDate) -> Option<(Month, i32)> {
    // Start from the first listed month at or after the date's month (its roll date is at the
    // earliest in the month before) and walk forward until a contract has not rolled yet.
    // Every schedule rolls within two months of delivery, so a few steps always suffice.
    let start = Month::from_number(date.month())?;
    let mut current = if schedule.lists(start) {
        (start, date.year())
    } else {
        next_listed(schedule, start, date.year())?
    };
    for _ in 0..4 {
        if date < roll_date(schedule, current.0, current.1)? {
            return Some(current);
        }
        current = next_listed(schedule, current.0, current.1)?;
    }
    None
}

/// The `n`-th nearby contract of a root on `date` (`n = 1` is the front month, `2` the next),
/// as TradingView's continuous `NQ1!` / `NQ2!`. `None` for unknown roots or `n = 0`.
pub fn nth_contract(root: Root, date: NaiveDate, n: u8) -> Option<Contract> {
    let schedule = ContractSpec::of(&root)?.schedule;
    let (mut month, mut year) = front_month_of(schedule, date)?;
    for _ in 1..n.max(1) {
        (month, year) = next_listed(schedule, month, year)?;
    }
    if n == 0 {
        return None;
    }
    Some(Contract {
        root,
        month,
        year: u16::try_from(year).ok()?,
    })
}

/// The front-month contract of a root on `date`; `None` for roots without a built-in spec.
pub fn front_month(root: Root, date: NaiveDate) -> Option<Contract> {
    nth_contract(root, date, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn front(root: &str, d: NaiveDate) -> String {
        let root = Root::parse(root).expect("valid root");
        front_month(root, d).map_or_else(|| "-".to_owned(), |c| c.to_string())
    }

    #[test]
    fn equity_index_rolls_on_second_thursday() {
        // December 2025: Thursdays are 4, 11, 18, 25; expiry is Friday 19th.
        assert_eq!(
            roll_date(Schedule::EquityIndexQuarterly, Month::Z, 2025),
            Some(date(2025, 12, 11))
        );
        assert_eq!(
            equity_index_expiry(Month::Z, 2025),
            Some(date(2025, 12, 19))
        );
        assert_eq!(front("NQ", date(2025, 12, 10)), "NQZ5");
        assert_eq!(front("NQ", date(2025, 12, 11)), "NQH6");
        assert_eq!(front("NQ", date(2025, 10, 1)), "NQZ5");
        assert_eq!(front("NQ", date(2025, 12, 31)), "NQH6");
        assert_eq!(front("MES", date(2026, 1, 2)), "MESH6");
        assert_eq!(front("ES", date(2026, 3, 12)), "ESM6");
        assert_eq!(front("ES", date(2026, 3, 11)), "ESH6");
    }

    #[test]
    fn month_starting_on_friday_uses_second_thursday() {
        // March 2024 starts on a Friday: second Thursday = 14th (expiry − 8 days would be 7th).
        assert_eq!(
            roll_date(Schedule::EquityIndexQuarterly, Month::H, 2024),
            Some(date(2024, 3, 14))
        );
        assert_eq!(front("NQ", date(2024, 3, 13)), "NQH4");
        assert_eq!(front("NQ", date(2024, 3, 14)), "NQM4");
    }

    #[test]
    fn crude_rolls_monthly_on_the_15th_of_the_prior_month() {
        assert_eq!(front("CL", date(2026, 1, 14)), "CLG6");
        assert_eq!(front("CL", date(2026, 1, 15)), "CLH6");
        assert_eq!(front("CL", date(2025, 12, 20)), "CLG6");
        assert_eq!(front("MCL", date(2025, 12, 1)), "MCLF6");
    }

    #[test]
    fn gold_follows_g_j_m_q_v_z() {
        assert_eq!(front("GC", date(2026, 1, 14)), "GCG6");
        assert_eq!(front("GC", date(2026, 1, 15)), "GCJ6");
        assert_eq!(front("GC", date(2026, 5, 1)), "GCM6");
        assert_eq!(front("MGC", date(2025, 11, 20)), "MGCG6");
    }

    #[test]
    fn is_front_month_agrees_with_front_month() {
        let mut d = date(2024, 1, 1);
        while d < date(2027, 1, 1) {
            for root in ["NQ", "CL", "GC"] {
                let root = Root::parse(root).expect("root");
                let front = front_month(root, d).expect("known root");
                assert!(is_front_month(front, d), "{front} on {d}");
                let next = nth_contract(root, d, 2).expect("known root");
                assert!(!is_front_month(next, d), "{next} on {d}");
            }
            d = d.succ_opt().expect("date");
        }
    }

    #[test]
    fn second_nearby_and_unknown_roots() {
        let nq = Root::parse("NQ").expect("valid root");
        let second = nth_contract(nq, date(2025, 12, 1), 2).expect("NQ2!");
        assert_eq!(second.to_string(), "NQH6");
        assert_eq!(nth_contract(nq, date(2025, 12, 1), 0), None);
        assert_eq!(front("ZZZ", date(2025, 12, 1)), "-");
    }
}
