//! Reading field values (quantity, price, target) from their text, shared by the JSON and text
//! formats. JSON numbers arrive here as their shortest decimal text, so `25600.25` and
//! `"25600.25"` are read identically and exactly (never through `f64` arithmetic).

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::alert::Limits;
use crate::error::AlertError;

/// Whether the text still contains a TradingView placeholder such as `{{close}}`.
fn is_placeholder(text: &str) -> bool {
    text.contains("{{") && text.contains("}}")
}

/// Parses a decimal written as `25600.25`, `+2`, or `1e3` (the latter from JSON numbers).
fn parse_decimal(field: &str, text: &str) -> Result<Decimal, AlertError> {
    if is_placeholder(text) {
        return Err(AlertError::UnfilledPlaceholder {
            field: field.to_owned(),
            value: text.to_owned(),
        });
    }
    // `Decimal::from_str` accepts `1_000`; digit separators are not something an alert should
    // contain, so only plain numbers are let through.
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    let parsed = if plain {
        Decimal::from_str(text)
            .ok()
            .or_else(|| Decimal::from_scientific(text).ok())
    } else {
        None
    };
    parsed.ok_or_else(|| AlertError::NotANumber {
        field: field.to_owned(),
        value: text.to_owned(),
    })
}

/// Whether unparseable text is just a very long run of digits (then "too large" is the honest
/// message, not "not a number").
fn is_long_number(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A quantity: a whole number of contracts in `1..=limits.max_quantity`.
pub(crate) fn parse_quantity(field: &str, text: &str, limits: &Limits) -> Result<u32, AlertError> {
    let text = text.trim();
    let too_large = || quantity_too_large(field, text, limits);
    let value = match parse_decimal(field, text) {
        Ok(v) => v,
        Err(AlertError::NotANumber { .. }) if is_long_number(text) && !text.starts_with('-') => {
            return Err(too_large());
        }
        Err(e) => return Err(e),
    };
    if value <= Decimal::ZERO {
        return Err(AlertError::QuantityNotPositive {
            field: field.to_owned(),
            value: text.to_owned(),
        });
    }
    let not_whole = || AlertError::QuantityNotWhole {
        field: field.to_owned(),
        value: text.to_owned(),
    };
    let whole = whole_within(value, limits, not_whole, too_large)?;
    u32::try_from(whole).map_err(|_| too_large())
}

/// A signed target position: a whole number with |target| ≤ `limits.max_quantity`.
pub(crate) fn parse_target(field: &str, text: &str, limits: &Limits) -> Result<i64, AlertError> {
    let text = text.trim();
    let too_large = || quantity_too_large(field, text, limits);
    let value = match parse_decimal(field, text) {
        Ok(v) => v,
        Err(AlertError::NotANumber { .. }) if is_long_number(text) => return Err(too_large()),
        Err(e) => return Err(e),
    };
    let not_whole = || AlertError::TargetNotWhole {
        field: field.to_owned(),
        value: text.to_owned(),
    };
    whole_within(value, limits, not_whole, too_large)
}

fn quantity_too_large(field: &str, text: &str, limits: &Limits) -> AlertError {
    AlertError::QuantityTooLarge {
        field: field.to_owned(),
        value: text.to_owned(),
        max: limits.max_quantity,
    }
}

/// `value` as an integer when it is whole and |value| ≤ `limits.max_quantity`.
fn whole_within(
    value: Decimal,
    limits: &Limits,
    not_whole: impl FnOnce() -> AlertError,
    too_large: impl Fn() -> AlertError,
) -> Result<i64, AlertError> {
    if !value.fract().is_zero() {
        return Err(not_whole());
    }
    if value.abs() > Decimal::from(limits.max_quantity) {
        return Err(too_large());
    }
    i64::try_from(value.mantissa() / 10i128.pow(value.scale())).map_err(|_| too_large())
}

/// A price: > 0, at most `limits.max_price_decimals` decimals, at most `limits.max_price`.
/// Returned normalized (trailing zeros removed).
pub(crate) fn parse_price(field: &str, text: &str, limits: &Limits) -> Result<Decimal, AlertError> {
    let text = text.trim();
    let too_large = || AlertError::PriceTooLarge {
        field: field.to_owned(),
        value: text.to_owned(),
        max: limits.max_price.to_string(),
    };
    let value = match parse_decimal(field, text) {
        Ok(v) => v.normalize(),
        Err(AlertError::NotANumber { .. }) if is_long_number(text) && !text.starts_with('-') => {
            return Err(too_large());
        }
        Err(e) => return Err(e),
    };
    if value <= Decimal::ZERO {
        return Err(AlertError::PriceNotPositive {
            field: field.to_owned(),
            value: text.to_owned(),
        });
    }
    if value.scale() > limits.max_price_decimals {
        return Err(AlertError::PriceTooPrecise {
            field: field.to_owned(),
            value: text.to_owned(),
            max_decimals: limits.max_price_decimals,
        });
    }
    if value > limits.max_price {
        return Err(too_large());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("quantity", "2", &limits()), Ok(2));
        assert_eq!(parse_quantity("qty", " 3 ", &limits()), Ok(3));
        assert_eq!(parse_quantity("qty", "2.0", &limits()), Ok(2));
        assert_eq!(parse_quantity("qty", "1e1", &limits()), Ok(10));
        assert_eq!(parse_quantity("qty", "10000", &limits()), Ok(10_000));
        let msg = |t: &str| {
            parse_quantity("quantity", t, &limits())
                .expect_err(t)
                .to_string()
        };
        assert!(msg("1.5").starts_with("quantity \"1.5\" is not a whole number of contracts"));
        assert!(msg("0").contains("at least 1"));
        assert!(msg("-2").contains("at least 1"));
        assert!(msg("10001").contains("more than the 10000"));
        assert!(msg("99999999999999999999999999999999999").contains("more than"));
        assert!(msg("two").contains("not a number"));
        assert!(msg("1_000").contains("not a number"));
        assert!(msg("").contains("not a number"));
        assert!(msg("{{strategy.order.contracts}}").contains("placeholder"));
    }

    #[test]
    fn prices() {
        let p = |t: &str| parse_price("price", t, &limits());
        assert_eq!(p("25600.25"), Ok("25600.25".parse().expect("decimal")));
        assert_eq!(p("25600.2500").map(|d| d.scale()), Ok(2));
        assert_eq!(p("0.000000001").map(|d| d.scale()), Ok(9));
        assert!(matches!(
            p("0.0000000001"),
            Err(AlertError::PriceTooPrecise { .. })
        ));
        assert!(matches!(p("0"), Err(AlertError::PriceNotPositive { .. })));
        assert!(matches!(p("-1"), Err(AlertError::PriceNotPositive { .. })));
        assert!(matches!(
            p("1000000001"),
            Err(AlertError::PriceTooLarge { .. })
        ));
        assert!(matches!(p("NaN"), Err(AlertError::NotANumber { .. })));
        assert!(matches!(
            p("{{close}}"),
            Err(AlertError::UnfilledPlaceholder { .. })
        ));
    }

    #[test]
    fn targets() {
        let t = |s: &str| parse_target("position_size", s, &limits());
        assert_eq!(t("-2"), Ok(-2));
        assert_eq!(t("0"), Ok(0));
        assert_eq!(t("3.0"), Ok(3));
        assert!(matches!(t("1.5"), Err(AlertError::TargetNotWhole { .. })));
        assert!(matches!(
            t("-10001"),
            Err(AlertError::QuantityTooLarge { .. })
        ));
    }
}
