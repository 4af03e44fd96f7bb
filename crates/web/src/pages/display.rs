//! How numbers and times look on pages. Only the display rounds: stored values keep full
//! precision (SPEC §7), and the JSON API shows them unrounded.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jt_engine::ContractSpec;
use rust_decimal::{Decimal, RoundingStrategy};

/// Most decimals a price is shown with (average entries are rarely on a tick).
const MAX_PRICE_DECIMALS: u32 = 4;
/// Decimals for roots without a built-in spec (tracked in points).
const UNKNOWN_ROOT_DECIMALS: u32 = 2;

/// A price of `root`: at least the tick's decimals (NQ `25600.00`, YM `40000`), more when the
/// value has them (an average of `25605.3333…` shows as `25605.3333`), at most four.
pub(super) fn price(value: Decimal, root: Option<&str>) -> String {
    let natural = root
        .and_then(ContractSpec::lookup)
        .map_or(UNKNOWN_ROOT_DECIMALS, |spec| {
            spec.tick_size.normalize().scale()
        });
    let mut shown = value
        .round_dp_with_strategy(MAX_PRICE_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    if shown.scale() < natural {
        shown.rescale(natural);
    }
    shown.to_string()
}

/// Dollars to the cent with thousands separators: `1,234.50`, `-150.00`.
pub(super) fn dollars(value: Decimal) -> String {
    let mut cents = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    cents.rescale(2);
    let text = cents.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let sign = if cents.is_sign_negative() && !cents.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}{}.{fraction}", group_thousands(whole))
}

fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A signed position: `+2` long, `-1` short, `0` flat.
pub(super) fn signed_quantity(quantity: i64) -> String {
    if quantity > 0 {
        format!("+{quantity}")
    } else {
        quantity.to_string()
    }
}

/// A moment in the user's time zone, to the second.
pub(crate) fn time(moment: DateTime<Utc>, zone: Tz) -> String {
    moment
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Store messages are lower-case clauses; on a page they are sentences.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>() + "."
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    #[test]
    fn prices_show_the_ticks_decimals_and_at_most_four() {
        assert_eq!(price(dec("25600"), Some("NQ")), "25600.00");
        assert_eq!(price(dec("25605.25"), Some("NQ")), "25605.25");
        assert_eq!(price(dec("25605.333333333333"), Some("NQ")), "25605.3333");
        assert_eq!(price(dec("25605.66666666"), Some("NQ")), "25605.6667");
        assert_eq!(price(dec("40000"), Some("YM")), "40000");
        assert_eq!(price(dec("2650.1"), Some("GC")), "2650.1");
        assert_eq!(price(dec("70.5"), Some("CL")), "70.50");
        assert_eq!(price(dec("12.5"), Some("XYZ")), "12.50");
        assert_eq!(price(dec("12.5"), None), "12.50");
    }

    #[test]
    fn dollars_are_rounded_to_cents_and_grouped() {
        assert_eq!(dollars(dec("300")), "300.00");
        assert_eq!(dollars(dec("-150")), "-150.00");
        assert_eq!(dollars(dec("1234.5")), "1,234.50");
        assert_eq!(dollars(dec("-1234567.125")), "-1,234,567.13");
        assert_eq!(dollars(dec("0.004")), "0.00");
        assert_eq!(dollars(dec("-0.004")), "0.00");
        assert_eq!(dollars(dec("999.999")), "1,000.00");
    }

    #[test]
    fn quantities_are_signed() {
        assert_eq!(signed_quantity(2), "+2");
        assert_eq!(signed_quantity(-3), "-3");
        assert_eq!(signed_quantity(0), "0");
    }

    #[test]
    fn times_are_shown_in_the_users_zone() {
        let moment = DateTime::parse_from_rfc3339("2026-01-15T14:30:05Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(time(moment, Tz::UTC), "2026-01-15 14:30:05 UTC");
        assert_eq!(
            time(moment, Tz::America__New_York),
            "2026-01-15 09:30:05 EST"
        );
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("name must be set"), "Name must be set.");
        assert_eq!(sentence(""), "");
    }
}
