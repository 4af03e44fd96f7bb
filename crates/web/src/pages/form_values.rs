//! Form text to typed values. Forms send strings; a value that is not even a number gets a
//! message here, while the range rules stay in the store (one place for each rule).

use std::str::FromStr;

use jt_store::StoreError;
use rust_decimal::Decimal;

/// A whole number typed into the field `label`.
pub(super) fn whole_number(label: &str, raw: &str, example: &str) -> Result<i64, StoreError> {
    raw.trim().parse().map_err(|_| {
        StoreError::Invalid(format!(
            "{label} must be a whole number, e.g. {example} (got \"{}\")",
            raw.trim()
        ))
    })
}

/// A decimal typed into the field `label`.
pub(super) fn decimal(label: &str, raw: &str, example: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(raw.trim()).map_err(|_| {
        StoreError::Invalid(format!(
            "{label} must be a number, e.g. {example} (got \"{}\")",
            raw.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_and_words_are_refused_with_the_field_name() {
        assert_eq!(whole_number("quantity", " 3 ", "1").ok(), Some(3));
        let error = whole_number("quantity", "two", "1").expect_err("not a number");
        assert_eq!(
            error.to_string(),
            "quantity must be a whole number, e.g. 1 (got \"two\")"
        );
        assert_eq!(
            decimal("commission", "0.62", "0.62").ok(),
            Some(Decimal::new(62, 2))
        );
        assert!(decimal("commission", "", "0.62").is_err());
    }
}
