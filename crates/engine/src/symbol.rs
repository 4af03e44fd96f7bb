//! Ticker symbols as TradingView and Tradovate write them, reduced to a root and a contract.
//!
//! Accepted forms (any case, with or without an `EXCHANGE:` prefix such as `CME_MINI:`):
//! - continuous `NQ1!`, `NQ2!` (n-th nearby contract by the built-in roll calendar);
//! - explicit `NQZ2025` (4-digit year), `NQZ25` (2-digit year = 20yy), `NQZ5` (1-digit year,
//!   resolved against the signal date, see [`YearSpec::resolve`]);
//! - bare root `NQ` (treated as the front month, like `NQ1!`).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::contract::{Contract, ContractSpec, Month};
use crate::contract_calendar::nth_contract;
use crate::error::SymbolError;
use crate::root::Root;

/// The year of an explicit contract as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum YearSpec {
    /// Written with 4 digits (`NQZ2025`) or 2 digits (`NQZ25` → 2025).
    Full(u16),
    /// Written with 1 digit (`NQZ5`); needs a reference date to resolve.
    LastDigit(u8),
}

impl YearSpec {
    /// The full year. A last digit `d` resolves to the year ending in `d` within
    /// `[reference year − 1, reference year + 8]`: a contract that expired last year can still be
    /// named (to close it), and anything else is taken to be upcoming.
    pub fn resolve(self, reference: NaiveDate) -> Option<u16> {
        match self {
            YearSpec::Full(year) => Some(year),
            YearSpec::LastDigit(digit) => {
                let base = reference.year().checked_sub(1)?;
                let offset = (i32::from(digit) - base.rem_euclid(10)).rem_euclid(10);
                u16::try_from(base.checked_add(offset)?).ok()
            }
        }
    }
}

/// Which contract of the root a symbol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SymbolContract {
    /// TradingView continuous `NQ1!` (1 = front month, 2 = next, …).
    Continuous(u8),
    /// An explicit delivery month and year.
    Explicit {
        /// Delivery month.
        month: Month,
        /// Year as written.
        year: YearSpec,
    },
    /// Only the root (`NQ`): the front month.
    RootOnly,
}

/// A parsed ticker: root plus which contract it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Product root, e.g. `NQ`.
    pub root: Root,
    /// The contract the ticker names.
    pub contract: SymbolContract,
}

impl Symbol {
    /// Parses a ticker such as `CME_MINI:NQ1!`, `NQZ2025`, `nqz5` or `MNQ`.
    pub fn parse(ticker: &str) -> Result<Symbol, SymbolError> {
        let trimmed = ticker.trim();
        // TradingView's `{{exchange}}:{{ticker}}` form: the exchange does not change the product.
        let text = trimmed.rsplit(':').next().unwrap_or(trimmed).trim();
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        if let Some(body) = text.strip_suffix('!') {
            return parse_continuous(text, body);
        }
        let digits = text.bytes().rev().take_while(u8::is_ascii_digit).count();
        let (head, year_digits) = text.split_at(text.len() - digits);
        let month = head.chars().last().and_then(Month::from_code);
        let root_text = head.get(..head.len().saturating_sub(1)).unwrap_or("");
        match month {
            Some(month) if digits > 0 && !root_text.is_empty() => {
                parse_explicit(text, root_text, month, year_digits)
            }
            _ => Ok(Symbol {
                root: Root::parse(text)?,
                contract: SymbolContract::RootOnly,
            }),
        }
    }

    /// The contract this symbol names on `date`: explicit contracts as given (1-digit years
    /// resolved against `date`), continuous and bare roots by the roll calendar. `None` for
    /// continuous or bare symbols of roots without a built-in spec.
    pub fn resolve(&self, date: NaiveDate) -> Option<Contract> {
        match self.contract {
            SymbolContract::Continuous(n) => nth_contract(self.root, date, n),
            SymbolContract::RootOnly => nth_contract(self.root, date, 1),
            SymbolContract::Explicit { month, year } => Some(Contract {
                root: self.root,
                month,
                year: year.resolve(date)?,
            }),
        }
    }

    /// Whether the root has a built-in spec (and so can be executed).
    pub fn is_known_root(&self) -> bool {
        ContractSpec::of(&self.root).is_some()
    }
}

fn parse_continuous(text: &str, body: &str) -> Result<Symbol, SymbolError> {
    let bad = || SymbolError::BadContinuous {
        symbol: text.to_owned(),
    };
    // The byte before `!` must be one ASCII digit (checked before slicing: it may be part of
    // a multi-byte character).
    let n = match body.as_bytes().last() {
        Some(b) if b.is_ascii_digit() => b - b'0',
        _ => return Err(bad()),
    };
    let root = &body[..body.len() - 1];
    if n == 0 || root.is_empty() {
        return Err(bad());
    }
    Ok(Symbol {
        root: Root::parse(root)?,
        contract: SymbolContract::Continuous(n),
    })
}

fn parse_explicit(
    text: &str,
    root_text: &str,
    month: Month,
    year_digits: &str,
) -> Result<Symbol, SymbolError> {
    let root = Root::parse(root_text)?;
    let spec = ContractSpec::of(&root);
    if spec.is_none() {
        // `NQ1` (forgotten `!`) would otherwise read as root `N`, August, year 1.
        let without_digits = &text[..text.len() - year_digits.len()];
        if let Ok(known) = Root::parse(without_digits)
            && ContractSpec::of(&known).is_some()
        {
            return Err(SymbolError::MissingContinuousMark {
                symbol: text.to_owned(),
                suggestion: format!("{}{}!", known, year_digits),
            });
        }
    }
    let bad_year = || SymbolError::BadYear {
        symbol: text.to_owned(),
    };
    let number: u16 = year_digits.parse().map_err(|_| bad_year())?;
    let year = match year_digits.len() {
        1 => YearSpec::LastDigit(number as u8),
        2 => YearSpec::Full(2000 + number),
        4 if (2000..=2099).contains(&number) => YearSpec::Full(number),
        _ => return Err(bad_year()),
    };
    if let Some(spec) = spec
        && !spec.schedule.lists(month)
    {
        return Err(SymbolError::MonthNotListed {
            symbol: text.to_owned(),
            root: spec.root,
            month: month.name(),
            listed: spec
                .schedule
                .listed_months()
                .iter()
                .map(|m| m.code())
                .collect(),
        });
    }
    Ok(Symbol {
        root,
        contract: SymbolContract::Explicit { month, year },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn parse(s: &str) -> Symbol {
        Symbol::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn resolved(s: &str, d: NaiveDate) -> String {
        parse(s)
            .resolve(d)
            .map_or_else(|| "-".to_owned(), |c| c.to_string())
    }

    #[test]
    fn roots_of_all_forms() {
        for (ticker, root) in [
            ("NQ1!", "NQ"),
            ("NQ2!", "NQ"),
            ("NQZ2025", "NQ"),
            ("NQZ25", "NQ"),
            ("NQZ5", "NQ"),
            ("CME_MINI:NQ1!", "NQ"),
            ("MNQ1!", "MNQ"),
            ("mnq1!", "MNQ"),
            ("nqz5", "NQ"),
            ("NQ", "NQ"),
            ("M2K", "M2K"),
            ("M2KZ5", "M2K"),
            ("NYMEX_DL:CL1!", "CL"),
            (" es1! ", "ES"),
        ] {
            assert_eq!(parse(ticker).root.as_str(), root, "{ticker}");
        }
    }

    #[test]
    fn contracts_resolve_by_date() {
        let d = date(2025, 11, 3);
        assert_eq!(resolved("NQ1!", d), "NQZ5");
        assert_eq!(resolved("NQ2!", d), "NQH6");
        assert_eq!(resolved("NQ", d), "NQZ5");
        assert_eq!(resolved("NQZ2025", d), "NQZ5");
        assert_eq!(resolved("NQH26", d), "NQH6");
        assert_eq!(resolved("NQZ5", d), "NQZ5");
        assert_eq!(resolved("ZZZ1!", d), "-");
        assert_eq!(resolved("ZZZZ5", d), "ZZZZ5");
    }

    #[test]
    fn single_digit_year_window() {
        let ref_date = date(2026, 1, 10);
        let year = |d: u8| YearSpec::LastDigit(d).resolve(ref_date);
        assert_eq!(year(5), Some(2025));
        assert_eq!(year(6), Some(2026));
        assert_eq!(year(9), Some(2029));
        assert_eq!(year(4), Some(2034));
        assert_eq!(YearSpec::Full(2027).resolve(ref_date), Some(2027));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |s: &str| Symbol::parse(s).expect_err(s).to_string();
        assert!(err("").contains("empty"));
        assert!(err("NQ!").contains("NQ1!"));
        assert!(err("NQ0!").contains("NQ1!"));
        assert!(err("NQ1").contains("NQ1!"));
        assert!(err("NQF6").contains("January"));
        assert!(err("NQZ202").contains("year"));
        assert!(err("NQZ1999").contains("year"));
        assert!(err("N-Q1!").contains("letters and digits"));
    }
}
