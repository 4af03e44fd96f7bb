//! Tenant isolation through the API and webhooks: user B never sees or changes user A's data.

use jt_web::testing::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn another_users_token_gets_404_on_every_recorder_route() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let recorder = app.create_recorder(&alice, "alice strategy").await;
    let id = recorder["id"].as_str().unwrap();
    let url = recorder["webhook_url"].as_str().unwrap();
    assert_eq!(
        app.post_webhook(url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );
    assert_eq!(
        app.post_webhook(url, "SELL 1 NQ1! @ 25610").await.status(),
        200
    );

    let routes = [
        (Method::GET, format!("/api/v1/recorders/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/recorders/{id}"),
            Some(json!({ "name": "mine now" })),
        ),
        (Method::DELETE, format!("/api/v1/recorders/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/recorders/{id}/regenerate-url"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/recorders/{id}/positions"),
            None,
        ),
        (Method::GET, format!("/api/v1/recorders/{id}/signals"), None),
        (Method::GET, format!("/api/v1/recorders/{id}/trades"), None),
        (Method::GET, format!("/api/v1/recorders/{id}/stats"), None),
    ];
    for (method, path, body) in routes {
        let mut request = app.api(method.clone(), &path, &bob);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        let text = response.text().await.unwrap();
        assert!(!text.contains("alice"), "no data of another user: {text}");
    }
    let list: serde_json::Value = app.api_json(&bob, "/api/v1/recorders").await;
    assert_eq!(list, json!([]));

    // Alice's recorder is untouched and its webhook still works.
    let still: serde_json::Value = app
        .api_json(&alice, &format!("/api/v1/recorders/{id}"))
        .await;
    assert_eq!(still["name"], "alice strategy");
    assert_eq!(still["webhook_url"], url);
    let positions = app
        .api_json(&alice, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 0);
    assert_eq!(positions[0]["realized_pnl"], "200");
}

#[tokio::test]
async fn malformed_ids_are_404_not_400() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com").await;
    let response = app
        .api(
            Method::GET,
            "/api/v1/recorders/not-a-uuid/positions",
            &alice,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
