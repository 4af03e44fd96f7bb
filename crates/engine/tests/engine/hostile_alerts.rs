//! Hostile input: control characters and over-long fields in every alert field are refused
//! with a message that is itself safe to store (no control characters, short).

use jt_engine::{
    Alert, AlertError, Limits, MAX_EXTRA_KEY_CHARS, MAX_EXTRA_TEXT_CHARS, MAX_ID_CHARS,
    MAX_TICKER_CHARS, MAX_TIME_CHARS, parse_alert,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Longest message any rejection may have (characters).
const MAX_MESSAGE_CHARS: usize = 600;

fn parse(body: &str) -> Result<Alert, AlertError> {
    parse_alert(body, &Limits::default())
}

fn is_control(c: char) -> bool {
    c <= '\u{1f}' || c == '\u{7f}'
}

/// The invariant every outcome keeps: an alert's kept text is clean and within its caps; a
/// rejection's message has no control character and is short.
fn assert_safe(outcome: &Result<Alert, AlertError>) {
    match outcome {
        Ok(alert) => {
            for (text, max) in [
                (Some(alert.ticker.as_str()), MAX_TICKER_CHARS),
                (alert.id.as_deref(), MAX_ID_CHARS),
                (alert.time.as_deref(), MAX_TIME_CHARS),
            ] {
                let text = text.unwrap_or_default();
                assert!(!text.chars().any(is_control), "{text:?}");
                assert!(text.chars().count() <= max, "{text:?}");
            }
            for (key, value) in &alert.extras {
                assert!(!key.chars().any(is_control), "{key:?}");
                assert!(key.chars().count() <= MAX_EXTRA_KEY_CHARS);
                assert_extra_clean(value);
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.chars().any(is_control), "{message:?}");
            assert!(
                message.chars().count() <= MAX_MESSAGE_CHARS,
                "{} characters: {message}",
                message.chars().count()
            );
        }
    }
}

fn assert_extra_clean(value: &Value) {
    match value {
        Value::String(text) => {
            assert!(
                !text
                    .chars()
                    .any(|c| is_control(c) && !matches!(c, '\t' | '\n' | '\r')),
                "{text:?}"
            );
            assert!(text.chars().count() <= MAX_EXTRA_TEXT_CHARS);
        }
        Value::Array(items) => items.iter().for_each(assert_extra_clean),
        Value::Object(object) => object.iter().for_each(|(key, item)| {
            assert!(!key.chars().any(is_control), "{key:?}");
            assert_extra_clean(item);
        }),
        _ => {}
    }
}

/// A valid alert with `field` replaced by `value`.
fn with_field(field: &str, value: &str) -> String {
    let mut alert = json!({
        "action": "buy", "ticker": "NQ1!", "quantity": "1", "price": "25600",
        "id": "a1", "time": "2025-11-03T14:30:00Z", "comment": "ok",
    });
    alert[field] = Value::from(value);
    alert.to_string()
}

#[test]
fn nul_in_every_json_field_is_refused_with_its_position() {
    for field in [
        "action",
        "side",
        "ticker",
        "symbol",
        "quantity",
        "price",
        "position_size",
        "market_position",
        "id",
        "order_id",
        "time",
        "comment",
        "anything_else",
    ] {
        let outcome = parse(&with_field(field, "ab\u{0}c"));
        assert_safe(&outcome);
        let message = outcome.expect_err(field).to_string();
        assert!(
            message.starts_with(&format!(
                "{field} contains the control character U+0000 at character 3 (in \"ab\\u0000c\")"
            )),
            "{field}: {message}"
        );
    }
}

#[test]
fn other_control_characters_and_line_breaks() {
    let message = |field: &str, value: &str| parse(&with_field(field, value)).map(|_| ());
    // ESC and DEL are refused everywhere, tab and line breaks only in one-line fields.
    for c in ['\u{1b}', '\u{7f}', '\u{1}', '\u{8}'] {
        assert!(message("comment", &format!("a{c}b")).is_err(), "{c:?}");
        assert!(message("id", &format!("a{c}b")).is_err(), "{c:?}");
    }
    for c in ['\t', '\n', '\r'] {
        assert_eq!(message("comment", &format!("a{c}b")), Ok(()), "{c:?}");
        assert!(message("id", &format!("a{c}b")).is_err(), "{c:?}");
    }
    // Surrounding whitespace is trimmed from one-line fields first.
    assert_eq!(
        parse(&with_field("id", "\n a1 \t")).expect("trimmed").id,
        Some("a1".into())
    );
    // A control character in a field name, nested in an object, or in the text form.
    let nested = r#"{"action":"buy","ticker":"NQ1!","meta":{"note\u0000":1}}"#;
    let error = parse(nested).expect_err("NUL in a nested key");
    assert!(
        error
            .to_string()
            .starts_with("a field name contains the control character U+0000"),
        "{error}"
    );
    let error = parse("buy 1 NQ1!\u{0} @ 25600").expect_err("NUL in text");
    assert!(
        error
            .to_string()
            .starts_with("the text alert contains the control character U+0000 at character 11"),
        "{error}"
    );
    assert!(parse("buy\t1\r\nNQ1! @ 25600").is_ok());
}

#[test]
fn over_long_fields_are_refused_with_their_cap() {
    for (field, max) in [
        ("id", 128),
        ("time", 128),
        ("ticker", 128),
        ("action", 64),
        ("price", 64),
        ("quantity", 64),
        ("comment", 4096),
    ] {
        let outcome = parse(&with_field(field, &"7".repeat(max + 1)));
        assert_safe(&outcome);
        let message = outcome.expect_err(field).to_string();
        assert!(
            message.starts_with(&format!(
                "{field} is {} characters long, more than the {max} allowed: shorten it (it starts \"{}…\")",
                max + 1,
                "7".repeat(40)
            )),
            "{field}: {message}"
        );
    }
    let long_key = format!(
        r#"{{"action":"buy","ticker":"NQ1!","{}":1}}"#,
        "k".repeat(129)
    );
    assert!(
        parse(&long_key)
            .expect_err("long key")
            .to_string()
            .starts_with("a field name is 129 characters long")
    );
    let long_ticker = format!("buy 1 {} @ 1", "N".repeat(129));
    assert!(
        parse(&long_ticker)
            .expect_err("long text ticker")
            .to_string()
            .starts_with("ticker is 129 characters long, more than the 128 allowed")
    );
    // Exactly at the caps is fine.
    for (field, max) in [("id", 128), ("time", 128), ("comment", 4096)] {
        assert!(
            parse(&with_field(field, &"i".repeat(max))).is_ok(),
            "{field}"
        );
    }
}

/// Text with control characters and odd characters, sometimes long.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\x00-\\x1f\\x7fa-zA-Z0-9 !{}:.@é\u{2028}-]{0,40}",
        "[a-zA-Z0-9\\x00]{100,300}",
        (0usize..6000).prop_map(|n| "x".repeat(n)),
        Just("NQ1!".to_owned()),
        Just("buy".to_owned()),
        Just("25600.25".to_owned()),
    ]
}

const KEYS: [&str; 14] = [
    "action",
    "side",
    "ticker",
    "instrument",
    "quantity",
    "qty",
    "price",
    "position_size",
    "market_position",
    "market_position_size",
    "id",
    "time",
    "comment",
    "k\u{0}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_json_alert_is_safe(fields in prop::collection::vec((0..KEYS.len(), hostile_text()), 0..8)) {
        let object: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(key, text)| (KEYS[key].to_owned(), Value::from(text)))
            .collect();
        assert_safe(&parse(&Value::Object(object).to_string()));
    }

    #[test]
    fn any_text_alert_is_safe(words in prop::collection::vec(hostile_text(), 0..6)) {
        assert_safe(&parse(&words.join(" ")));
    }

    #[test]
    fn any_bytes_are_safe(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        assert_safe(&parse_alert(&bytes, &Limits::default()));
    }
}
