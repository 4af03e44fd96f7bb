//! `/api/v1/recorders` through real HTTP: CRUD, validation, 401/404 rules, webhook URLs.

use jt_web::testing::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn create_list_get_patch_delete_a_recorder() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;

    let created = app
        .post_recorder(
            &user,
            json!({ "name": "NQ breakout", "default_quantity": 2 }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let recorder: Value = created.json().await.unwrap();
    assert_eq!(recorder["name"], "NQ breakout");
    assert_eq!(recorder["default_quantity"], 2);
    assert_eq!(recorder["status"], "active");
    let url = recorder["webhook_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/webhook/", app.address)),
        "{url}"
    );
    let id = recorder["id"].as_str().unwrap();

    let list: Value = app.api_json(&user, "/api/v1/recorders").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["webhook_url"], url, "the URL can be shown again");

    let patched = app.patch_recorder(&user, id, json!({ "name": "NQ v2", "status": "paused", "duplicate_window_secs": 0, "commission_per_contract": "0.62" })).await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "NQ v2");
    assert_eq!(patched["status"], "paused");
    assert_eq!(patched["duplicate_window_secs"], 0);
    assert_eq!(patched["commission_per_contract"], "0.62");

    let deleted = app
        .api(Method::DELETE, &format!("/api/v1/recorders/{id}"), &user)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .api(Method::GET, &format!("/api/v1/recorders/{id}"), &user)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let list: Value = app.api_json(&user, "/api/v1/recorders").await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn invalid_input_gets_a_specific_422() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let cases = [
        (json!({ "name": "" }), "name must be 1 to 100 characters"),
        (
            json!({ "name": "x", "default_quantity": 0 }),
            "default_quantity 0 is out of range",
        ),
        (
            json!({ "name": "x", "default_quantity": 10001 }),
            "default_quantity 10001 is out of range",
        ),
        (
            json!({ "name": "x", "colour": "red" }),
            "unknown field `colour`",
        ),
        (json!({ "default_quantity": 1 }), "missing field `name`"),
    ];
    for (body, expected) in cases {
        let response = app.post_recorder(&user, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    app.create_recorder(&user, "taken").await;
    let duplicate = app.post_recorder(&user, json!({ "name": "TAKEN" })).await;
    assert_eq!(duplicate.status(), 409);
    let id = app.create_recorder(&user, "other").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad_commission = app
        .patch_recorder(&user, &id, json!({ "commission_per_contract": "-1" }))
        .await;
    assert_eq!(bad_commission.status(), 422);
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let app = spawn_app().await;
    let none = app
        .client
        .get(format!("{}/api/v1/recorders", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Bearer"));
    let wrong = app
        .client
        .get(format!("{}/api/v1/recorders", app.address))
        .bearer_auth("jt_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn regenerating_the_url_changes_it() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "strategy").await;
    let id = recorder["id"].as_str().unwrap();
    let regenerated: Value = app.regenerate_url(&user, id).await;
    assert_ne!(regenerated["webhook_url"], recorder["webhook_url"]);
}

#[tokio::test]
async fn bad_paging_parameters_get_a_json_422() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let id = app.create_recorder(&user, "strategy").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for query in [
        "limit=0",
        "limit=501",
        "limit=abc",
        "before=x",
        "colour=red",
    ] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/recorders/{id}/signals?{query}"),
                &user,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{query}: {body}");
    }
}

#[tokio::test]
async fn signals_and_trades_page_with_a_cursor() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "strategy").await;
    let (id, url) = (
        recorder["id"].as_str().unwrap(),
        recorder["webhook_url"].as_str().unwrap(),
    );
    for i in 0..5 {
        let body = format!(
            r#"{{"action":"buy","ticker":"NQ1!","price":{},"id":"b{i}"}}"#,
            25600 + i
        );
        assert_eq!(app.post_webhook(url, &body).await.status(), 200);
        let body = format!(
            r#"{{"action":"close","ticker":"NQ1!","price":{},"id":"c{i}"}}"#,
            25610 + i
        );
        assert_eq!(app.post_webhook(url, &body).await.status(), 200);
    }
    let first = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/signals?limit=4"))
        .await;
    let seqs = |page: &Value, key: &str, field: &str| -> Vec<i64> {
        page[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[field].as_i64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&first, "signals", "seq"), [10, 9, 8, 7]);
    assert_eq!(first["next"], 7);
    let second = app
        .api_json(
            &user,
            &format!("/api/v1/recorders/{id}/signals?limit=4&before=7"),
        )
        .await;
    assert_eq!(seqs(&second, "signals", "seq"), [6, 5, 4, 3]);
    let last = app
        .api_json(
            &user,
            &format!("/api/v1/recorders/{id}/signals?limit=4&before=3"),
        )
        .await;
    assert_eq!(seqs(&last, "signals", "seq"), [2, 1]);
    assert_eq!(last["next"], Value::Null);

    let trades = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/trades?limit=3"))
        .await;
    let ids = seqs(&trades, "trades", "id");
    assert_eq!(ids.len(), 3);
    let next = trades["next"].as_i64().unwrap();
    let rest = app
        .api_json(
            &user,
            &format!("/api/v1/recorders/{id}/trades?limit=3&before={next}"),
        )
        .await;
    assert_eq!(rest["trades"].as_array().unwrap().len(), 2);
    assert_eq!(rest["next"], Value::Null);
    assert_eq!(
        trades["trades"][0]["realized_pnl"], "200",
        "newest first: (25614 - 25604) x $20"
    );
}
