//! The bad-input corpus: each rejected body and the start of the message the user sees.

use jt_engine::{Action, Limits, parse_alert};

#[test]
fn bad_input_corpus() {
    let cases = [
        ("", "the alert is empty"),
        ("{", "the alert is not valid JSON"),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":}"#,
            "the alert is not valid JSON",
        ),
        ("\"buy\"", "action \"\"buy\"\" is not a known action"),
        ("[]", "the alert JSON must be an object"),
        (r#"{"ticker":"NQ1!"}"#, "missing action"),
        (r#"{"action":"buy"}"#, "missing ticker"),
        (
            r#"{"action":"hodl","ticker":"NQ1!"}"#,
            "action \"hodl\" is not a known action",
        ),
        (
            r#"{"side":true,"ticker":"NQ1!"}"#,
            "side must be text or a number",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1.5"}"#,
            "quantity \"1.5\" is not a whole number of contracts",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","qty":0}"#,
            "qty \"0\" must be at least 1 contract",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","contracts":-3}"#,
            "contracts \"-3\" must be at least 1 contract",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":1000000}"#,
            "quantity \"1000000\" is more than the 10000 contracts allowed",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":"-1"}"#,
            "price \"-1\" must be greater than 0",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":"12,5"}"#,
            "price \"12,5\" is not a number",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":"1.0000000001"}"#,
            "price \"1.0000000001\" has more than 9 decimals",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":"{{close}}"}"#,
            "price \"{{close}}\" is a TradingView placeholder that was not filled in",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","position_size":"0.5"}"#,
            "position_size \"0.5\" is not a whole number",
        ),
        (
            r#"{"action":"buy","ticker":"NQ!"}"#,
            "ticker \"NQ!\" is not a continuous contract",
        ),
        (
            r#"{"action":"buy","symbol":"NQF2026"}"#,
            "symbol \"NQF2026\": NQ has no January contract",
        ),
        (
            r#"{"action":"buy","ticker":"N Q"}"#,
            "ticker \"N Q\" may only contain letters and digits",
        ),
        ("HOLD 1 NQ1!", "action \"HOLD\" is not a known action"),
        ("BUY 2 NQ1! @ ", "could not read the text alert"),
        (
            "BUY two NQ1!",
            "could not read the text alert \"BUY two NQ1!\": \"NQ1!\" is not expected after the ticker",
        ),
        (
            r#"{"action":"buy","ticker":""}"#,
            "ticker \"\" is not a ticker",
        ),
        (
            r#"{"action":"buy","ticker":"ABCDEFGHIJKLMNOP1!"}"#,
            "ticker root \"ABCDEFGHIJKLMNOP\" is longer than 12",
        ),
    ];
    for (body, expected) in cases {
        match parse_alert(body, &Limits::default()) {
            Ok(alert) => panic!("{body:?} should be rejected, got {alert:?}"),
            Err(e) => assert!(
                e.to_string().starts_with(expected),
                "{body:?}: message {:?} should start with {expected:?}",
                e.to_string()
            ),
        }
    }
}

#[test]
fn body_over_the_limit_is_rejected_before_parsing() {
    let body = format!(
        r#"{{"action":"buy","ticker":"NQ1!","comment":"{}"}}"#,
        "x".repeat(70_000)
    );
    let err = parse_alert(&body, &Limits::default()).expect_err("too large");
    assert!(err.to_string().contains("more than the 65536 allowed"));
}

#[test]
fn extras_are_kept_and_raw_is_the_body() {
    let body =
        r#"{"action":"buy","ticker":"NQ1!","comment":"breakout","sentiment":"long","tp":12}"#;
    let alert = parse_alert(body, &Limits::default()).expect("valid");
    assert_eq!(alert.action, Action::Buy);
    assert_eq!(
        alert.extras.keys().map(String::as_str).collect::<Vec<_>>(),
        ["comment", "sentiment", "tp"]
    );
    assert_eq!(alert.raw, body);
}

#[test]
fn competitor_formats_that_map_onto_ours() {
    // PickMyTrade-style numbers as strings and a 4-digit contract.
    let alert = parse_alert(
        r#"{"symbol":"NQM2024","date":"2024-05-01T14:00:00Z","side":"Buy","quantity":"1","price":"18000.5"}"#,
        &Limits::default(),
    )
    .expect("valid");
    assert_eq!(alert.action, Action::Buy);
    assert_eq!(alert.symbol.root.as_str(), "NQ");
    assert_eq!(alert.quantity, Some(1));
}
