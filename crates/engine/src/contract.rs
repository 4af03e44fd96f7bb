//! Month codes, contracts (`NQZ5`) and the built-in contract specifications.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::root::Root;

/// A futures delivery month, written with its standard one-letter code (F = January … Z = December).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Month {
    /// January.
    F,
    /// February.
    G,
    /// March.
    H,
    /// April.
    J,
    /// May.
    K,
    /// June.
    M,
    /// July.
    N,
    /// August.
    Q,
    /// September.
    U,
    /// October.
    V,
    /// November.
    X,
    /// December.
    Z,
}

impl Month {
    /// All months, January first.
    pub const ALL: [Month; 12] = [
        Month::F,
        Month::G,
        Month::H,
        Month::J,
        Month::K,
        Month::M,
        Month::N,
        Month::Q,
        Month::U,
        Month::V,
        Month::X,
        Month::Z,
    ];

    /// The month for a code letter (either case), e.g. `'z'` → December.
    pub fn from_code(code: char) -> Option<Month> {
        let code = code.to_ascii_uppercase();
        Month::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The month for a calendar number 1..=12.
    pub fn from_number(number: u32) -> Option<Month> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        Month::ALL.get(index).copied()
    }

    /// The code letter, e.g. `'Z'`.
    pub fn code(self) -> char {
        match self {
            Month::F => 'F',
            Month::G => 'G',
            Month::H => 'H',
            Month::J => 'J',
            Month::K => 'K',
            Month::M => 'M',
            Month::N => 'N',
            Month::Q => 'Q',
            Month::U => 'U',
            Month::V => 'V',
            Month::X => 'X',
            Month::Z => 'Z',
        }
    }

    /// The calendar number, January = 1.
    pub fn number(self) -> u32 {
        self as u32 + 1
    }

    /// The English name, for messages.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        NAMES[self as usize]
    }
}

/// One listed contract: root, delivery month and full year, e.g. NQ December 2025.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Contract {
    /// Product root, e.g. `NQ`.
    pub root: Root,
    /// Delivery month.
    pub month: Month,
    /// Full delivery year, e.g. 2025.
    pub year: u16,
}

impl Contract {
    /// Tradovate's symbol: root + month code + last digit of the year, e.g. `NQZ5`.
    pub fn tradovate_symbol(&self) -> String {
        self.to_string()
    }

    /// TradingView's symbol for this exact contract: root + month code + 4-digit year, e.g. `NQZ2025`.
    pub fn tradingview_symbol(&self) -> String {
        format!("{}{}{}", self.root, self.month.code(), self.year)
    }
}

/// Formats as Tradovate does (`NQZ5`).
impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.root, self.month.code(), self.year % 10)
    }
}

/// Which months a product lists and when its front month rolls (see `contract_calendar`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// Equity index: H M U Z, rolling on the second Thursday of the expiry month.
    EquityIndexQuarterly,
    /// Every month (crude oil), rolling on the 15th of the month before delivery.
    Monthly,
    /// Gold's active months G J M Q V Z, rolling on the 15th of the month before delivery.
    GoldBiMonthly,
}

impl Schedule {
    /// The listed (traded) months, January first.
    pub fn listed_months(self) -> &'static [Month] {
        match self {
            Schedule::EquityIndexQuarterly => &[Month::H, Month::M, Month::U, Month::Z],
            Schedule::Monthly => &Month::ALL,
            Schedule::GoldBiMonthly => {
                &[Month::G, Month::J, Month::M, Month::Q, Month::V, Month::Z]
            }
        }
    }

    /// Whether `month` is one of the listed months.
    pub fn lists(self, month: Month) -> bool {
        self.listed_months().contains(&month)
    }
}

/// Built-in specification of a product: how many dollars one point is worth and the tick size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ContractSpec {
    /// Product root, e.g. `"NQ"`.
    pub root: &'static str,
    /// Human name, e.g. `"E-mini Nasdaq-100"`.
    pub name: &'static str,
    /// Dollars per 1.00 of price per contract (NQ: 20).
    pub point_value: Decimal,
    /// Minimum price increment (NQ: 0.25).
    pub tick_size: Decimal,
    /// Listed months and roll rule.
    pub schedule: Schedule,
}

/// `units / 10^scale` as a constant (`Decimal::new` is not `const`).
const fn dec(units: u32, scale: u32) -> Decimal {
    Decimal::from_parts(units, 0, 0, false, scale)
}

const fn spec(
    root: &'static str,
    name: &'static str,
    point_value: Decimal,
    tick_size: Decimal,
    schedule: Schedule,
) -> ContractSpec {
    ContractSpec {
        root,
        name,
        point_value,
        tick_size,
        schedule,
    }
}

/// The built-in table of SPEC §7 (CME standard values).
pub const CONTRACT_SPECS: [ContractSpec; 12] = {
    use Schedule::*;
    [
        spec(
            "NQ",
            "E-mini Nasdaq-100",
            dec(20, 0),
            dec(25, 2),
            EquityIndexQuarterly,
        ),
        spec(
            "MNQ",
            "Micro E-mini Nasdaq-100",
            dec(2, 0),
            dec(25, 2),
            EquityIndexQuarterly,
        ),
        spec(
            "ES",
            "E-mini S&P 500",
            dec(50, 0),
            dec(25, 2),
            EquityIndexQuarterly,
        ),
        spec(
            "MES",
            "Micro E-mini S&P 500",
            dec(5, 0),
            dec(25, 2),
            EquityIndexQuarterly,
        ),
        spec(
            "YM",
            "E-mini Dow ($5)",
            dec(5, 0),
            dec(1, 0),
            EquityIndexQuarterly,
        ),
        spec(
            "MYM",
            "Micro E-mini Dow",
            dec(5, 1),
            dec(1, 0),
            EquityIndexQuarterly,
        ),
        spec(
            "RTY",
            "E-mini Russell 2000",
            dec(50, 0),
            dec(1, 1),
            EquityIndexQuarterly,
        ),
        spec(
            "M2K",
            "Micro E-mini Russell 2000",
            dec(5, 0),
            dec(1, 1),
            EquityIndexQuarterly,
        ),
        spec("CL", "WTI Crude Oil", dec(1000, 0), dec(1, 2), Monthly),
        spec(
            "MCL",
            "Micro WTI Crude Oil",
            dec(100, 0),
            dec(1, 2),
            Monthly,
        ),
        spec("GC", "Gold", dec(100, 0), dec(1, 1), GoldBiMonthly),
        spec("MGC", "Micro Gold", dec(10, 0), dec(1, 1), GoldBiMonthly),
    ]
};

impl ContractSpec {
    /// The built-in spec of a root (case-sensitive upper-case, as [`Root`] stores it).
    pub fn lookup(root: &str) -> Option<&'static ContractSpec> {
        CONTRACT_SPECS.iter().find(|s| s.root == root)
    }

    /// The built-in spec of a parsed root.
    pub fn of(root: &Root) -> Option<&'static ContractSpec> {
        let bytes = root.as_bytes();
        CONTRACT_SPECS.iter().find(|s| s.root.as_bytes() == bytes)
    }

    /// Dollars per point for a root: the spec's point value, or 1 for unknown roots, which are
    /// tracked in points.
    pub fn point_value_of(root: &Root) -> Decimal {
        ContractSpec::of(root).map_or(Decimal::ONE, |s| s.point_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(s: &str) -> Root {
        Root::parse(s).expect("valid root")
    }

    #[test]
    fn month_codes_round_trip() {
        for (i, m) in Month::ALL.into_iter().enumerate() {
            assert_eq!(m.number() as usize, i + 1);
            assert_eq!(Month::from_code(m.code()), Some(m));
            assert_eq!(Month::from_number(m.number()), Some(m));
        }
        assert_eq!(Month::from_code('z'), Some(Month::Z));
        assert_eq!(Month::from_code('A'), None);
        assert_eq!(Month::from_number(0), None);
        assert_eq!(Month::from_number(13), None);
    }

    #[test]
    fn contract_formats() {
        let c = Contract {
            root: root("NQ"),
            month: Month::Z,
            year: 2025,
        };
        assert_eq!(c.to_string(), "NQZ5");
        assert_eq!(c.tradovate_symbol(), "NQZ5");
        assert_eq!(c.tradingview_symbol(), "NQZ2025");
    }

    #[test]
    fn spec_table_values() {
        let nq = ContractSpec::lookup("NQ").expect("NQ is built in");
        assert_eq!(nq.point_value, Decimal::from(20));
        assert_eq!(nq.tick_size, "0.25".parse::<Decimal>().expect("decimal"));
        let mym = ContractSpec::lookup("MYM").expect("MYM is built in");
        assert_eq!(mym.point_value, "0.5".parse::<Decimal>().expect("decimal"));
        let cl = ContractSpec::lookup("CL").expect("CL is built in");
        assert_eq!(cl.point_value, Decimal::from(1000));
        assert_eq!(cl.tick_size, "0.01".parse::<Decimal>().expect("decimal"));
        assert_eq!(ContractSpec::lookup("ZZZ"), None);
        assert_eq!(ContractSpec::point_value_of(&root("ZZZ")), Decimal::ONE);
        assert_eq!(
            ContractSpec::point_value_of(&root("GC")),
            Decimal::from(100)
        );
    }
}
