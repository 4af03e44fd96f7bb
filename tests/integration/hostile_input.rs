//! Hostile input through the real HTTP interface: NUL and other control characters and
//! over-long values in every alert field, sign-up email, recorder and token names. Always a
//! clear 4xx, stored as rejected where it is a signal, never a 500.

use jt_web::ServerLimits;
use jt_web::testing::{TestApp, TestUser, spawn_app};
use serde_json::{Value, json};

use crate::pages::{signed_up, submit};
use crate::server_limits::app_with_webhook;

async fn app_with_recorder() -> (TestApp, TestUser, String, String) {
    app_with_webhook(ServerLimits::default()).await
}

/// A valid alert with `field` set to `value` (an alias replaces its primary name, which would
/// otherwise win).
fn alert_with(field: &str, value: &str) -> Vec<u8> {
    let mut alert = json!({
        "action": "buy", "ticker": "NQ1!", "quantity": "1", "price": "25600",
        "id": "a1", "time": "2025-11-03T14:30:00Z", "comment": "ok",
    });
    let primary = match field {
        "side" => "action",
        "symbol" => "ticker",
        "order_id" => "id",
        other => other,
    };
    if let Some(object) = alert.as_object_mut() {
        object.remove(primary);
    }
    alert[field] = Value::from(value);
    alert.to_string().into_bytes()
}

async fn post_bytes(app: &TestApp, url: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(url)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn control_characters_and_over_long_values_in_every_alert_field_are_stored_rejections() {
    let (app, user, id, url) = app_with_recorder().await;
    let mut cases: Vec<(String, Vec<u8>, u16, String)> = Vec::new();
    let fields = [
        ("action", 64),
        ("side", 64),
        ("ticker", 128),
        ("symbol", 128),
        ("quantity", 64),
        ("price", 64),
        ("position_size", 64),
        ("market_position", 64),
        ("id", 128),
        ("order_id", 128),
        ("time", 128),
        ("comment", 4096),
    ];
    for (field, cap) in fields {
        for c in ['\u{0}', '\u{1b}', '\u{7f}'] {
            cases.push((
                format!("{field} with U+{:04X}", u32::from(c)),
                alert_with(field, &format!("ab{c}c")),
                422,
                format!(
                    "{field} contains the control character U+{:04X} at character 3",
                    u32::from(c)
                ),
            ));
        }
        cases.push((
            format!("{field} over {cap}"),
            alert_with(field, &"9".repeat(cap + 1)),
            422,
            format!(
                "{field} is {} characters long, more than the {cap} allowed",
                cap + 1
            ),
        ));
    }
    // An id far beyond a btree index row, and an unknown field's name.
    cases.push((
        "id of 10,000 characters".into(),
        alert_with("id", &"i".repeat(10_000)),
        422,
        "id is 10000 characters long, more than the 128 allowed".into(),
    ));
    cases.push((
        "NUL in a field name".into(),
        br#"{"action":"buy","ticker":"NQ1!","price":1,"note\u0000":1}"#.to_vec(),
        422,
        "a field name contains the control character U+0000".into(),
    ));
    // The text form, with a raw NUL byte and an over-long ticker.
    cases.push((
        "raw NUL in a text alert".into(),
        b"buy 1 NQ1!\0 @ 25600".to_vec(),
        422,
        "the text alert contains the control character U+0000 at character 11".into(),
    ));
    cases.push((
        "over-long text ticker".into(),
        format!("buy 1 {} @ 25600", "N".repeat(200)).into_bytes(),
        422,
        "ticker is 200 characters long, more than the 128 allowed".into(),
    ));
    // A raw control character inside a JSON string, and bytes that are not UTF-8.
    cases.push((
        "raw NUL in a JSON string".into(),
        b"{\"action\":\"buy\0\",\"ticker\":\"NQ1!\"}".to_vec(),
        400,
        "not valid JSON".into(),
    ));
    cases.push((
        "not UTF-8".into(),
        vec![b'b', b'u', b'y', b' ', 0xff, 0xfe],
        // Some 4xx (the webhook decides which): 0 = any.
        0,
        "not UTF-8".into(),
    ));

    let mut answers = Vec::new();
    for (name, body, expected_status, fragment) in &cases {
        let (status, answer) = post_bytes(&app, &url, body.clone()).await;
        assert!((400..500).contains(&status), "{name}: {status} {answer}");
        if *expected_status != 0 {
            assert_eq!(status, *expected_status, "{name}: {answer}");
        }
        assert_eq!(answer["status"], "rejected", "{name}");
        let error = answer["error"].as_str().unwrap().to_owned();
        assert!(error.contains(fragment.as_str()), "{name}: {error}");
        assert!(!error.chars().any(char::is_control), "{name}: {error:?}");
        assert!(error.chars().count() < 600, "{name}: {error}");
        answers.push(error);
    }

    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals?limit=200"))
        .await;
    let signals = signals["signals"].as_array().unwrap();
    assert_eq!(signals.len(), cases.len(), "every signal is stored");
    // Newest first: the stored reasons are the answers, in order.
    let stored: Vec<&str> = signals
        .iter()
        .rev()
        .map(|s| {
            assert_eq!(s["status"], "rejected");
            s["error"].as_str().unwrap()
        })
        .collect();
    assert_eq!(stored, answers);
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions, json!([]), "nothing was applied");

    // Line breaks in free text are fine, and the recorder still works.
    let (status, answer) = post_bytes(&app, &url, alert_with("comment", "two\nlines\t")).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn control_characters_in_recorder_names_get_a_clear_422() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    for name in ["NQ\u{0}", "a\u{1b}[31mred", "tab\tname"] {
        let response = app.post_recorder(&user, json!({ "name": name })).await;
        assert_eq!(response.status(), 422, "{name:?}");
        let error: Value = response.json().await.unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(
            message.starts_with("the name contains the control character U+00"),
            "{message}"
        );
    }
    let recorder = app.create_recorder(&user, "clean").await;
    let id = recorder["id"].as_str().unwrap();
    let response = app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/recorders/{id}"),
            &user,
        )
        .json(&json!({ "name": "x\u{0}" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = app
        .post_recorder(&user, json!({ "name": "n".repeat(5000) }))
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn control_characters_in_sign_up_email_and_token_names_re_render_with_what_to_fix() {
    let app = spawn_app().await;
    let password = "correct horse battery staple";
    for (email, message) in [
        (
            "trader\u{0}@example.com".to_owned(),
            "The email address contains the control character U+0000 at character 7",
        ),
        (
            format!("{}@example.com", "a".repeat(300)),
            "The email address is 312 bytes long, more than the 254 allowed",
        ),
    ] {
        let response = app.browser().post_signup(&email, password, password).await;
        assert_eq!(response.status(), 422, "{message}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{message} in {page}");
    }

    let browser = signed_up(&app, "trader@example.com").await;
    let response = submit(&browser, "/settings/tokens", &[("name", "bot\u{0}")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("The token name contains the control character U+0000 at character 4"),
        "{page}"
    );
}
