//! The plain-text alert format: `ACTION [QTY] TICKER [@ PRICE]`, any case, e.g.
//! `BUY 2 NQ1! @ 25600.25`, `close NQ`, `sell mnq1!`, `buy 1 ES1! @25600`.

use std::collections::BTreeMap;

use crate::alert::{Action, Alert, AlertFormat, Limits};
use crate::alert_caps::{
    LineBreaks, MAX_ACTION_CHARS, MAX_NUMBER_CHARS, MAX_TICKER_CHARS, check_text, excerpt_of,
};
use crate::alert_values::{parse_price, parse_quantity};
use crate::error::AlertError;
use crate::symbol::Symbol;

/// Longest excerpt of the text quoted back in an error.
const QUOTE_CHARS: usize = 80;

pub(crate) fn parse_text_alert(
    content: &str,
    raw: &str,
    limits: &Limits,
) -> Result<Alert, AlertError> {
    // Tab and line breaks separate words like spaces; any other control character is refused
    // before anything quotes the text.
    check_text("the text alert", content, usize::MAX, LineBreaks::Allowed)?;
    let bad = |problem: &str| AlertError::BadText {
        text: excerpt_of(content, QUOTE_CHARS),
        problem: problem.to_owned(),
    };
    let mut tokens = content.split_whitespace().peekable();
    let word = tokens.next().ok_or(AlertError::Empty)?;
    check_text("action", word, MAX_ACTION_CHARS, LineBreaks::Refused)?;
    let action = Action::parse(word).ok_or_else(|| AlertError::UnknownAction {
        field: "action".to_owned(),
        value: word.to_owned(),
    })?;

    // A quantity starts with a digit; a ticker never does (roots start with a letter).
    let quantity = match tokens
        .next_if(|t| t.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+'))
    {
        Some(q) => {
            check_text("quantity", q, MAX_NUMBER_CHARS, LineBreaks::Refused)?;
            Some(parse_quantity("quantity", q, limits)?)
        }
        None => None,
    };
    let ticker = tokens
        .next()
        .ok_or_else(|| bad("the ticker is missing"))?
        .to_owned();
    check_text("ticker", &ticker, MAX_TICKER_CHARS, LineBreaks::Refused)?;
    let symbol = Symbol::parse(&ticker).map_err(|source| AlertError::Symbol {
        field: "ticker".to_owned(),
        value: ticker.clone(),
        source: Box::new(source),
    })?;

    let price_text = match tokens.next() {
        None => None,
        Some("@") => Some(
            tokens
                .next()
                .ok_or_else(|| bad("a price must follow \"@\""))?,
        ),
        Some(t) if t.starts_with('@') => Some(&t[1..]),
        Some(t) if t.eq_ignore_ascii_case("at") => Some(
            tokens
                .next()
                .ok_or_else(|| bad("a price must follow \"at\""))?,
        ),
        Some(t) => {
            return Err(bad(&format!(
                "\"{}\" is not expected after the ticker",
                excerpt_of(t, QUOTE_CHARS)
            )));
        }
    };
    let price = match price_text {
        Some(t) => {
            check_text("price", t, MAX_NUMBER_CHARS, LineBreaks::Refused)?;
            Some(parse_price("price", t, limits)?)
        }
        None => None,
    };
    if let Some(extra) = tokens.next() {
        return Err(bad(&format!(
            "\"{}\" is not expected after the price",
            excerpt_of(extra, QUOTE_CHARS)
        )));
    }
    Ok(Alert {
        action,
        ticker,
        symbol,
        quantity,
        price,
        target: None,
        id: None,
        time: None,
        extras: BTreeMap::new(),
        format: AlertFormat::Text,
        raw: raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::alert::parse_alert;

    fn parse(body: &str) -> Result<Alert, AlertError> {
        parse_alert(body, &Limits::default())
    }

    #[test]
    fn the_documented_forms() {
        let a = parse("BUY 2 NQ1! @ 25600.25").expect("valid");
        assert_eq!(
            (a.action, a.quantity, a.symbol.root.as_str()),
            (Action::Buy, Some(2), "NQ")
        );
        assert_eq!(
            a.price,
            Some("25600.25".parse::<Decimal>().expect("decimal"))
        );
        let a = parse("close NQ").expect("valid");
        assert_eq!((a.action, a.quantity, a.price), (Action::Close, None, None));
        let a = parse("sell mnq1!").expect("valid");
        assert_eq!((a.action, a.symbol.root.as_str()), (Action::Sell, "MNQ"));
        let a = parse("buy 1 CME_MINI:ES1! @25600").expect("valid");
        assert_eq!(a.price, Some(Decimal::from(25600)));
        let a = parse("close_long NQZ5 at 25000").expect("valid");
        assert_eq!(a.action, Action::CloseLong);
    }

    #[test]
    fn text_errors() {
        let msg = |body: &str| parse(body).expect_err(body).to_string();
        assert!(msg("hello world").contains("\"hello\" is not a known action"));
        assert!(msg("buy").contains("ticker is missing"));
        assert!(msg("buy 2").contains("ticker is missing"));
        assert!(msg("buy 1.5 NQ1!").starts_with("quantity \"1.5\" is not a whole number"));
        assert!(msg("buy -1 NQ1!").contains("at least 1"));
        assert!(msg("buy NQ1! @").contains("must follow"));
        assert!(msg("buy NQ1! 25600").contains("not expected after the ticker"));
        assert!(msg("buy NQ1! @ 1 2").contains("not expected after the price"));
        assert!(msg("buy NQ1! @ abc").contains("not a number"));
    }
}
