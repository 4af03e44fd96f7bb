//! Hostile input: how long each alert field may be and which characters it may hold.
//!
//! Every text an alert carries ends up in PostgreSQL `text` columns (ticker, id, time) or in
//! a rejection message, and PostgreSQL text cannot hold NUL; an `id` of thousands of
//! characters would not fit a btree index row. So fields are capped (in characters) and
//! control characters (U+0000–U+001F and DEL, U+007F) are refused, except tab, line feed and
//! carriage return in free text (`comment` and other kept fields). The checks run on a
//! field before anything quotes it, so every [`AlertError`] message quotes only short,
//! clean text. Messages about the offending value quote an [`excerpt`] of it.

use serde_json::Value;

use crate::error::AlertError;

/// Longest action word (`action`, `side`, `order_action`, `market_position`).
pub const MAX_ACTION_CHARS: usize = 64;
/// Longest ticker (`ticker`, `symbol`, `instrument`).
pub const MAX_TICKER_CHARS: usize = 128;
/// Longest idempotency key (`id`, `signal_id`, `order_id`).
pub const MAX_ID_CHARS: usize = 128;
/// Longest alert time (`time`).
pub const MAX_TIME_CHARS: usize = 128;
/// Longest number as text (quantity, price, position sizes).
pub const MAX_NUMBER_CHARS: usize = 64;
/// Longest name of a kept (extra) JSON field.
pub const MAX_EXTRA_KEY_CHARS: usize = 128;
/// Longest text of a kept (extra) JSON field such as `comment`.
pub const MAX_EXTRA_TEXT_CHARS: usize = 4096;
/// Most characters of a value quoted back in a message.
const EXCERPT_CHARS: usize = 40;

/// Whether a field may contain tab and line breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineBreaks {
    /// One-line values: ids, tickers, numbers, field names.
    Refused,
    /// Free text (`comment` and other kept fields).
    Allowed,
}

/// A control character we refuse: C0 and DEL (tab and line breaks only in free text).
pub(crate) fn is_refused_control(c: char, breaks: LineBreaks) -> bool {
    let control = c <= '\u{1f}' || c == '\u{7f}';
    control && !(breaks == LineBreaks::Allowed && matches!(c, '\t' | '\n' | '\r'))
}

/// Checks `text` (a field's value as it will be kept) against the character rule and `max`
/// characters. `field` must already be safe to quote (see [`excerpt`]).
pub(crate) fn check_text(
    field: &str,
    text: &str,
    max: usize,
    breaks: LineBreaks,
) -> Result<(), AlertError> {
    let mut length = 0;
    for (index, c) in text.chars().enumerate() {
        if is_refused_control(c, breaks) {
            return Err(AlertError::ControlCharacter {
                field: field.to_owned(),
                code: format!("U+{:04X}", u32::from(c)),
                position: index + 1,
                excerpt: excerpt(text),
            });
        }
        length = index + 1;
    }
    if length > max {
        return Err(AlertError::TooLong {
            field: field.to_owned(),
            length,
            max,
            excerpt: excerpt(text),
        });
    }
    Ok(())
}

/// Checks every kept (extra) JSON field: names and texts, nested ones too.
pub(crate) fn check_extra(key: &str, value: &Value) -> Result<(), AlertError> {
    check_key(key)?;
    let field = excerpt(key);
    match value {
        Value::String(text) => check_text(&field, text, MAX_EXTRA_TEXT_CHARS, LineBreaks::Allowed),
        Value::Array(items) => items.iter().try_for_each(|item| check_extra(key, item)),
        Value::Object(object) => object
            .iter()
            .try_for_each(|(inner, item)| check_extra(inner, item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// A field name: one line, at most [`MAX_EXTRA_KEY_CHARS`].
fn check_key(key: &str) -> Result<(), AlertError> {
    check_text(
        "a field name",
        key,
        MAX_EXTRA_KEY_CHARS,
        LineBreaks::Refused,
    )
}

/// At most 40 characters of `text`, control characters written as `\u0000`, `…` when cut:
/// safe to store and to show whatever `text` holds.
pub fn excerpt(text: &str) -> String {
    excerpt_of(text, EXCERPT_CHARS)
}

/// [`excerpt`] with another length.
pub(crate) fn excerpt_of(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if index == max_chars {
            out.push('…');
            break;
        }
        if is_refused_control(c, LineBreaks::Refused) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_escape_and_cut() {
        assert_eq!(excerpt("a\u{0}b\tc\u{7f}"), "a\\u0000b\\u0009c\\u007f");
        let long = "x".repeat(100);
        assert_eq!(excerpt(&long), format!("{}…", "x".repeat(40)));
        assert_eq!(excerpt("é"), "é");
    }

    #[test]
    fn control_characters_and_caps() {
        let err = check_text("id", "ab\u{0}c", 128, LineBreaks::Refused).expect_err("NUL");
        assert_eq!(
            err.to_string(),
            "id contains the control character U+0000 at character 3 (in \"ab\\u0000c\"): \
             remove it; control characters are refused (tab and line breaks only in free text \
             such as comment)"
        );
        assert!(check_text("comment", "a\tb\r\nc", 10, LineBreaks::Allowed).is_ok());
        assert!(check_text("id", "a\tb", 10, LineBreaks::Refused).is_err());
        assert!(check_text("comment", "a\u{1b}b", 10, LineBreaks::Allowed).is_err());
        // Characters, not bytes.
        assert!(check_text("id", &"é".repeat(128), 128, LineBreaks::Refused).is_ok());
        let err = check_text("id", &"é".repeat(129), 128, LineBreaks::Refused).expect_err("long");
        assert!(
            err.to_string()
                .starts_with("id is 129 characters long, more than the 128 allowed: shorten it"),
            "{err}"
        );
    }
}
