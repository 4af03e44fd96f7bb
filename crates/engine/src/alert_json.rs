//! The JSON alert format (SPEC §6): case-insensitive keys, aliases, numbers as numbers or text.
//!
//! When several aliases of one field are present, the first in the alias list wins
//! (`price` over `close`, `action` over `side`) and the others are kept in `extras`: a user
//! may send both `"price": "{{strategy.order.price}}"` and `"close": "{{close}}"`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::alert::{Action, Alert, AlertFormat, Limits};
use crate::alert_caps::{
    LineBreaks, MAX_ACTION_CHARS, MAX_ID_CHARS, MAX_NUMBER_CHARS, MAX_TICKER_CHARS, MAX_TIME_CHARS,
    check_extra, check_text, excerpt_of,
};
use crate::alert_values::{parse_price, parse_quantity, parse_target};
use crate::error::AlertError;
use crate::symbol::Symbol;

/// The fields we read; the order of each alias list is its priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Action,
    Ticker,
    Quantity,
    Price,
    PositionSize,
    MarketPosition,
    MarketPositionSize,
    Id,
    Time,
}

const FIELD_COUNT: usize = 9;

impl Field {
    /// The longest text the field may hold (`alert_caps`).
    fn max_chars(self) -> usize {
        match self {
            Field::Action | Field::MarketPosition => MAX_ACTION_CHARS,
            Field::Ticker => MAX_TICKER_CHARS,
            Field::Quantity | Field::Price | Field::PositionSize | Field::MarketPositionSize => {
                MAX_NUMBER_CHARS
            }
            Field::Id => MAX_ID_CHARS,
            Field::Time => MAX_TIME_CHARS,
        }
    }
}

/// `(field, priority)` of a lower-cased key; `None` for extra fields.
fn classify(key: &str) -> Option<(Field, u8)> {
    Some(match key {
        "action" => (Field::Action, 0),
        "side" => (Field::Action, 1),
        "order_action" => (Field::Action, 2),
        "ticker" => (Field::Ticker, 0),
        "symbol" => (Field::Ticker, 1),
        "instrument" => (Field::Ticker, 2),
        "quantity" => (Field::Quantity, 0),
        "qty" => (Field::Quantity, 1),
        "contracts" => (Field::Quantity, 2),
        "price" => (Field::Price, 0),
        "close" => (Field::Price, 1),
        "position_size" => (Field::PositionSize, 0),
        "market_position" => (Field::MarketPosition, 0),
        "market_position_size" => (Field::MarketPositionSize, 0),
        "id" => (Field::Id, 0),
        "signal_id" => (Field::Id, 1),
        "order_id" => (Field::Id, 2),
        "time" => (Field::Time, 0),
        _ => return None,
    })
}

/// The winning key and value for each field.
type Chosen<'a> = [Option<(u8, &'a str, &'a Value)>; FIELD_COUNT];

pub(crate) fn parse_json_alert(
    content: &str,
    raw: &str,
    limits: &Limits,
) -> Result<Alert, AlertError> {
    let value: Value = serde_json::from_str(content).map_err(|e| AlertError::InvalidJson {
        detail: excerpt_of(&e.to_string(), 200),
    })?;
    let Value::Object(object) = value else {
        return Err(AlertError::NotAnObject {
            found: type_name(&value),
        });
    };
    let (chosen, extras) = choose_fields(&object);
    // Every field's text passes the caps and the character rule before anything reads (and
    // might quote) it.
    let read = |f: Field| -> Result<Option<(&str, Cow<'_, str>)>, AlertError> {
        match chosen[f as usize] {
            Some((_, key, value)) => Ok(Some((key, field_text(f, key, value)?))),
            None => Ok(None),
        }
    };

    let target = read_target(
        read(Field::PositionSize)?,
        read(Field::MarketPosition)?,
        read(Field::MarketPositionSize)?,
        limits,
    )?;
    let action = match read(Field::Action)? {
        Some((key, word)) => Action::parse(&word).ok_or_else(|| AlertError::UnknownAction {
            field: key.to_owned(),
            value: word.into_owned(),
        })?,
        None if target.is_some() => Action::Target,
        None => return Err(AlertError::MissingAction),
    };
    let (ticker_key, ticker) = read(Field::Ticker)?.ok_or(AlertError::MissingTicker)?;
    let ticker = ticker.into_owned();
    let symbol = Symbol::parse(&ticker).map_err(|source| AlertError::Symbol {
        field: ticker_key.to_owned(),
        value: ticker.clone(),
        source: Box::new(source),
    })?;
    let quantity = match read(Field::Quantity)? {
        Some((key, text)) => Some(parse_quantity(key, &text, limits)?),
        None => None,
    };
    let price = match read(Field::Price)? {
        Some((key, text)) => Some(parse_price(key, &text, limits)?),
        None => None,
    };
    let id = optional_text(read(Field::Id)?);
    let time = optional_text(read(Field::Time)?);
    for (key, value) in &extras {
        check_extra(key, value)?;
    }
    Ok(Alert {
        action,
        ticker,
        symbol,
        quantity,
        price,
        target,
        id,
        time,
        extras,
        format: AlertFormat::Json,
        raw: raw.to_owned(),
    })
}

/// Picks the highest-priority key of each field; everything else goes to `extras`.
/// `null` values count as absent.
fn choose_fields(object: &Map<String, Value>) -> (Chosen<'_>, BTreeMap<String, Value>) {
    let mut chosen: Chosen<'_> = [None; FIELD_COUNT];
    let mut extras = BTreeMap::new();
    for (key, value) in object {
        if value.is_null() {
            continue;
        }
        let Some((field, priority)) = classify_key(key) else {
            extras.insert(key.clone(), value.clone());
            continue;
        };
        let slot = &mut chosen[field as usize];
        match slot {
            Some((best, _, _)) if *best <= priority => {
                extras.insert(key.clone(), value.clone());
            }
            _ => {
                if let Some((_, old_key, old_value)) = slot.replace((priority, key, value)) {
                    extras.insert(old_key.to_owned(), old_value.clone());
                }
            }
        }
    }
    (chosen, extras)
}

/// Case-insensitive key lookup without allocating for keys of ordinary length.
fn classify_key(key: &str) -> Option<(Field, u8)> {
    let mut buf = [0u8; 24];
    if key.len() > buf.len() {
        return None;
    }
    for (slot, b) in buf.iter_mut().zip(key.bytes()) {
        *slot = b.to_ascii_lowercase();
    }
    classify(std::str::from_utf8(&buf[..key.len()]).ok()?)
}

/// The target position from `position_size` and/or `market_position` + `market_position_size`.
fn read_target(
    position_size: Option<(&str, Cow<'_, str>)>,
    market_position: Option<(&str, Cow<'_, str>)>,
    market_size: Option<(&str, Cow<'_, str>)>,
    limits: &Limits,
) -> Result<Option<i64>, AlertError> {
    let from_size = match position_size {
        Some((key, text)) => Some(parse_target(key, &text, limits)?),
        None => None,
    };
    let from_market = match market_position {
        Some((key, word)) => {
            let sign = match word.to_ascii_lowercase().as_str() {
                "flat" => 0,
                "long" => 1,
                "short" => -1,
                _ if word.contains("{{") => {
                    return Err(AlertError::UnfilledPlaceholder {
                        field: key.to_owned(),
                        value: word.into_owned(),
                    });
                }
                _ => {
                    return Err(AlertError::UnknownMarketPosition {
                        field: key.to_owned(),
                        value: word.into_owned(),
                    });
                }
            };
            match (sign, market_size) {
                (0, _) => Some(0),
                (_, Some((size_key, size_text))) => {
                    // The sign comes from market_position; the size is absolute.
                    let size = parse_target(size_key, &size_text, limits)?;
                    Some(sign * size.abs())
                }
                (_, None) => {
                    return Err(AlertError::MarketPositionWithoutSize {
                        value: word.into_owned(),
                    });
                }
            }
        }
        None => None,
    };
    match (from_size, from_market) {
        (Some(a), Some(b)) if a != b => Err(AlertError::TargetsDisagree {
            position_size: a,
            market_position: b,
        }),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// A field's text, trimmed and checked against its cap and the character rule.
fn field_text<'a>(field: Field, key: &str, value: &'a Value) -> Result<Cow<'a, str>, AlertError> {
    let text = match text_of(key, value)? {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
    };
    check_text(key, &text, field.max_chars(), LineBreaks::Refused)?;
    Ok(text)
}

/// The text of a scalar value: strings as given, numbers as their shortest decimal text.
fn text_of<'a>(key: &str, value: &'a Value) -> Result<Cow<'a, str>, AlertError> {
    match value {
        Value::String(s) => Ok(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Ok(Cow::Owned(n.to_string())),
        other => Err(AlertError::WrongType {
            field: key.to_owned(),
            found: type_name(other),
        }),
    }
}

/// An optional free-text field (id, time), already trimmed; blank counts as absent.
fn optional_text(entry: Option<(&str, Cow<'_, str>)>) -> Option<String> {
    entry
        .map(|(_, text)| text.into_owned())
        .filter(|text| !text.is_empty())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::alert::parse_alert;

    fn parse(body: &str) -> Result<Alert, AlertError> {
        parse_alert(body, &Limits::default())
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn tradingview_strategy_template() {
        let alert = parse(
            r#"{"action":"buy","ticker":"NQ1!","quantity":"2","price":"25600.25",
                "position_size":"2","id":"Long","time":"2025-11-03T14:30:00Z","comment":"hi"}"#,
        )
        .expect("valid alert");
        assert_eq!(alert.action, Action::Buy);
        assert_eq!(alert.ticker, "NQ1!");
        assert_eq!(alert.symbol.root.as_str(), "NQ");
        assert_eq!(alert.quantity, Some(2));
        assert_eq!(alert.price, Some(dec("25600.25")));
        assert_eq!(alert.target, Some(2));
        assert_eq!(alert.id.as_deref(), Some("Long"));
        assert_eq!(alert.time.as_deref(), Some("2025-11-03T14:30:00Z"));
        assert_eq!(alert.extras.get("comment"), Some(&Value::from("hi")));
    }

    #[test]
    fn keys_are_case_insensitive_and_numbers_may_be_numbers() {
        let alert =
            parse(r#"{"Side":"SELL","Symbol":"mnq1!","QTY":3,"Close":25600.5,"Order_ID":7}"#)
                .expect("valid alert");
        assert_eq!(alert.action, Action::Sell);
        assert_eq!(alert.symbol.root.as_str(), "MNQ");
        assert_eq!(alert.quantity, Some(3));
        assert_eq!(alert.price, Some(dec("25600.5")));
        assert_eq!(alert.id.as_deref(), Some("7"));
    }

    #[test]
    fn primary_name_beats_alias_and_alias_is_kept() {
        let alert = parse(r#"{"action":"buy","ticker":"NQ1!","close":"1","price":"2"}"#)
            .expect("valid alert");
        assert_eq!(alert.price, Some(dec("2")));
        assert_eq!(alert.extras.get("close"), Some(&Value::from("1")));
    }

    #[test]
    fn float_numbers_are_read_exactly() {
        let alert = parse(r#"{"action":"buy","ticker":"CL1!","price":61.07}"#).expect("valid");
        assert_eq!(alert.price, Some(dec("61.07")));
    }

    #[test]
    fn market_position_targets() {
        let t = |body: &str| parse(body).map(|a| (a.action, a.target));
        assert_eq!(
            t(r#"{"ticker":"NQ1!","market_position":"short","market_position_size":"2"}"#),
            Ok((Action::Target, Some(-2)))
        );
        assert_eq!(
            t(
                r#"{"action":"sell","ticker":"NQ1!","market_position":"flat","market_position_size":"0"}"#
            ),
            Ok((Action::Sell, Some(0)))
        );
        assert_eq!(
            t(
                r#"{"action":"sell","ticker":"NQ1!","market_position":"long","market_position_size":1,"position_size":1}"#
            ),
            Ok((Action::Sell, Some(1)))
        );
        assert!(matches!(
            t(r#"{"action":"sell","ticker":"NQ1!","market_position":"long"}"#),
            Err(AlertError::MarketPositionWithoutSize { .. })
        ));
        assert!(matches!(
            t(
                r#"{"action":"sell","ticker":"NQ1!","market_position":"long","market_position_size":1,"position_size":-1}"#
            ),
            Err(AlertError::TargetsDisagree {
                position_size: -1,
                market_position: 1
            })
        ));
        assert!(matches!(
            t(
                r#"{"action":"sell","ticker":"NQ1!","market_position":"sideways","market_position_size":1}"#
            ),
            Err(AlertError::UnknownMarketPosition { .. })
        ));
    }

    #[test]
    fn rejections_say_what_to_fix() {
        let msg = |body: &str| parse(body).expect_err(body).to_string();
        assert!(msg(r#"{"ticker":"NQ1!"}"#).starts_with("missing action"));
        assert!(msg(r#"{"action":"buy"}"#).starts_with("missing ticker"));
        assert!(
            msg(r#"{"action":"hold","ticker":"NQ1!"}"#).contains("\"hold\" is not a known action")
        );
        assert!(
            msg(r#"{"action":"buy","ticker":"NQ1!","quantity":"1.5"}"#)
                .starts_with("quantity \"1.5\" is not a whole number of contracts")
        );
        assert!(
            msg(r#"{"action":"buy","ticker":"NQ1!","qty":1.5}"#)
                .starts_with("qty \"1.5\" is not a whole number")
        );
        assert!(msg(r#"{"action":"buy","ticker":"NQ1!","price":"abc"}"#).contains("not a number"));
        assert!(msg(r#"{"action":"buy","ticker":"NQ1!","price":-5}"#).contains("greater than 0"));
        assert!(
            msg(r#"{"action":"buy","ticker":"NQ1!","price":"{{close}}"}"#).contains("placeholder")
        );
        assert!(msg(r#"{"action":["buy"],"ticker":"NQ1!"}"#).contains("must be text or a number"));
        assert!(msg(r#"{"action":"buy","ticker":"NQ1"}"#).contains("NQ1!"));
        assert!(msg(r#"{"action":"buy","ticker":"NQ1!","price":}"#).contains("not valid JSON"));
        assert!(msg("[1,2]").contains("must be an object"));
    }

    #[test]
    fn nulls_are_absent_and_blank_ids_are_none() {
        let alert = parse(r#"{"action":"close","ticker":"NQ1!","price":null,"id":" "}"#)
            .expect("valid alert");
        assert_eq!(alert.price, None);
        assert_eq!(alert.id, None);
        assert!(alert.extras.is_empty());
    }
}
