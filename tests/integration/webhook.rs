//! `POST /webhook/{token}` end to end: the seed example, every answer class, durability.

use std::str::FromStr;

use jt_web::testing::{TestApp, TestUser, spawn_app};
use serde_json::{Value, json};

async fn app_with_recorder() -> (TestApp, TestUser, String, String) {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "NQ strategy").await;
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    let id = recorder["id"].as_str().unwrap().to_owned();
    (app, user, id, url)
}

async fn send(app: &TestApp, url: &str, body: &str) -> (u16, Value) {
    let response = app.post_webhook(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_seed_example_through_the_webhook() {
    let (app, user, id, url) = app_with_recorder().await;
    let steps = [
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":25600}"#,
            1,
            "25600",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1","price":"25610"}"#,
            2,
            "25605",
        ),
        ("SELL 1 NQ1! @ 25620", 1, "25605"),
    ];
    for (body, quantity, avg) in steps {
        let (status, answer) = send(&app, &url, body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "accepted");
        assert!(answer["signal_id"].as_i64().is_some());
        assert_eq!(answer["position"]["quantity"], quantity, "{body}");
        assert_eq!(answer["position"]["avg_entry_price"], avg, "{body}");
    }
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["root"], "NQ");
    assert_eq!(positions[0]["quantity"], 1);
    assert_eq!(positions[0]["realized_pnl"], "300");
    assert_eq!(positions[0]["signal_count"], 3);

    let (status, answer) = send(
        &app,
        &url,
        r#"{"action":"close","ticker":"NQ1!","price":25620}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["position"]["quantity"], 0);
    assert_eq!(answer["position"]["realized_pnl"], "600");

    let trades = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/trades"))
        .await;
    let trades = trades["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 1, "one flat-to-flat round trip");
    assert_eq!(trades[0]["side"], "long");
    assert_eq!(trades[0]["quantity"], 2);
    assert_eq!(trades[0]["realized_pnl"], "600");
    assert_eq!(trades[0]["entry_price"], "25605");
    assert_eq!(trades[0]["exit_price"], "25620");

    let stats = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/stats"))
        .await;
    assert_eq!(stats["trade_count"], 1);
    assert_eq!(stats["net_pnl"], "600");

    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals"))
        .await;
    let seqs: Vec<i64> = signals["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 3, 2, 1], "newest first, sequence per recorder");
    assert_eq!(signals["next"], Value::Null);
}

#[tokio::test]
async fn bad_input_is_answered_4xx_and_stored_as_rejected_with_its_reason() {
    let (app, user, id, url) = app_with_recorder().await;
    let cases = [
        ("", 400, "empty"),
        ("{not json", 400, "JSON"),
        (
            r#"{"action":"hold","ticker":"NQ1!","price":1}"#,
            422,
            "hold",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":0,"price":1}"#,
            422,
            "quantity",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":-2,"price":1}"#,
            422,
            "quantity",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":"1.5","price":1}"#,
            422,
            "1.5",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","quantity":1000000,"price":1}"#,
            422,
            "quantity",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":-5}"#,
            422,
            "price",
        ),
        (
            r#"{"action":"buy","ticker":"NQ1!","price":"abc"}"#,
            422,
            "price",
        ),
        (
            r#"{"action":"buy","ticker":"$$$","price":1}"#,
            422,
            "ticker",
        ),
        (r#"{"action":"buy","ticker":"NQ1!"}"#, 422, "price required"),
    ];
    for (body, expected_status, fragment) in cases {
        let (status, answer) = send(&app, &url, body).await;
        assert_eq!(status, expected_status, "{body}: {answer}");
        assert_eq!(answer["status"], "rejected", "{body}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.to_lowercase().contains(&fragment.to_lowercase()),
            "{body}: {error}"
        );
    }
    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals?limit=100"))
        .await;
    let signals = signals["signals"].as_array().unwrap();
    assert_eq!(
        signals.len(),
        cases.len(),
        "every rejected signal is stored"
    );
    assert!(
        signals
            .iter()
            .all(|s| s["status"] == "rejected" && s["error"].is_string())
    );
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions, json!([]), "nothing was applied");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_are_recorded() {
    let (app, user, id, url) = app_with_recorder().await;
    let body = format!(
        r#"{{"action":"buy","ticker":"NQ1!","price":1,"comment":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let (status, answer) = send(&app, &url, &body).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["status"], "rejected");
    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals"))
        .await;
    assert_eq!(signals["signals"][0]["status"], "rejected");
}

#[tokio::test]
async fn duplicates_by_id_and_by_window_change_nothing() {
    let (app, user, id, url) = app_with_recorder().await;
    let with_id = r#"{"action":"buy","ticker":"NQ1!","price":25600,"id":"order-1"}"#;
    assert_eq!(send(&app, &url, with_id).await.1["status"], "accepted");
    let (status, again) = send(&app, &url, with_id).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));
    // Same id with another body is still the same signal.
    let other_body = r#"{"action":"buy","ticker":"NQ1!","price":25601,"id":"order-1"}"#;
    assert_eq!(send(&app, &url, other_body).await.1["status"], "duplicate");

    let without_id = "BUY 1 NQ1! @ 25610";
    assert_eq!(send(&app, &url, without_id).await.1["status"], "accepted");
    assert_eq!(
        send(&app, &url, without_id).await.1["status"],
        "duplicate",
        "within the 20 s window"
    );

    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(
        positions[0]["quantity"], 2,
        "duplicates did not move the position"
    );
    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals"))
        .await;
    let statuses: Vec<&str> = signals["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "duplicate",
            "accepted",
            "duplicate",
            "duplicate",
            "accepted"
        ]
    );

    // With the window off, an identical body is a new signal.
    app.patch_recorder(&user, &id, json!({ "duplicate_window_secs": 0 }))
        .await;
    assert_eq!(send(&app, &url, without_id).await.1["status"], "accepted");
}

#[tokio::test]
async fn unknown_regenerated_and_deleted_tokens_get_404() {
    let (app, user, id, url) = app_with_recorder().await;
    let (status, _) = send(
        &app,
        &format!("{}/webhook/not-a-token", app.address),
        "BUY 1 NQ1! @ 1",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(send(&app, &url, "BUY 1 NQ1! @ 1").await.0, 200);

    let regenerated: Value = app.regenerate_url(&user, &id).await;
    let (status, answer) = send(&app, &url, "BUY 1 NQ1! @ 2").await;
    assert_eq!(status, 404, "the old URL dies at once: {answer}");
    let new_url = regenerated["webhook_url"].as_str().unwrap();
    assert_eq!(send(&app, new_url, "BUY 1 NQ1! @ 2").await.0, 200);

    app.api(
        reqwest::Method::DELETE,
        &format!("/api/v1/recorders/{id}"),
        &user,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(send(&app, new_url, "BUY 1 NQ1! @ 3").await.0, 404);
}

#[tokio::test]
async fn paused_recorders_ignore_and_disabled_users_get_403_both_recorded() {
    let (app, user, id, url) = app_with_recorder().await;
    app.patch_recorder(&user, &id, json!({ "status": "paused" }))
        .await;
    let (status, answer) = send(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));

    let mut admin = app.db().store.admin("test").await.unwrap();
    jt_store::users::disable_user(
        &mut admin,
        &jt_store::users::Email::parse("trader@example.com").unwrap(),
    )
    .await
    .unwrap();
    admin.commit().await.unwrap();
    let (status, answer) = send(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("disabled"));

    let mut tx = app.db().store.tenant(user.id).await.unwrap();
    let statuses: Vec<String> =
        sqlx::query_scalar("select status from recorded_signals order by seq")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    assert_eq!(statuses, ["ignored", "rejected"]);
}

#[tokio::test]
async fn fifty_concurrent_webhooks_to_one_recorder_lose_no_update() {
    let (app, user, id, url) = app_with_recorder().await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..50 {
        let body = format!(
            r#"{{"action":"buy","ticker":"NQ1!","quantity":1,"price":{},"id":"c{i}"}}"#,
            25600 + i
        );
        let request = app
            .client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body);
        sends.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    let statuses = sends.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 50);
    assert_eq!(positions[0]["signal_count"], 50);
    // Average of 25600..=25649 = 25624.5 whatever the arrival order, up to the last of the
    // 28 significant digits (each add rounds its running average there).
    let avg: rust_decimal::Decimal = positions[0]["avg_entry_price"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let error = (avg - rust_decimal::Decimal::new(256245, 1)).abs();
    assert!(error < rust_decimal::Decimal::new(1, 20), "{avg}");
    // And the stored state is exactly what replaying the stored order gives.
    let recorder = jt_store::RecorderId::from_str(&id).unwrap();
    let report = jt_store::rebuild::rebuild_recorder(&app.store, recorder, false)
        .await
        .unwrap();
    assert_eq!(report.signals, 50);
    assert_eq!(report.differences, Vec::<String>::new());
    let signals = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals?limit=100"))
        .await;
    let mut seqs: Vec<i64> = signals["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_i64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn unrealized_pnl_is_marked_at_the_users_latest_price_of_the_root_across_recorders() {
    let (app, user, id, url) = app_with_recorder().await;
    let other = app.create_recorder(&user, "other strategy").await;
    let other_url = other["webhook_url"].as_str().unwrap();
    send(&app, &url, "BUY 1 NQ1! @ 25600").await;
    // Another recorder sees NQ at 25650: the first recorder's open long is marked there.
    send(&app, other_url, "SELL 1 NQ1! @ 25650").await;
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(
        positions[0]["last_price"], "25600",
        "its own last signal price"
    );
    assert_eq!(
        positions[0]["unrealized_pnl"], "1000",
        "(25650 - 25600) x $20"
    );
    // An alert without a price is applied at (and marked at) that latest price.
    let (_, answer) = send(&app, &url, r#"{"action":"buy","ticker":"NQ1!"}"#).await;
    assert_eq!(answer["position"]["quantity"], 2);
    assert_eq!(answer["position"]["avg_entry_price"], "25625");
    assert_eq!(answer["position"]["unrealized_pnl"], "1000");
}
