//! The JSON API of accounts, links and orders, with a worker and the fake Tradovate behind it.

use jt_store::account_links::LinkSettings;
use jt_web::testing::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Execution, buy, set_up};

async fn call(exec: &Execution, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = exec.app.api(method, path, &exec.user);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_paper_account_fills_each_signal_and_the_api_shows_it() {
    let exec = set_up().await;
    let (status, account) = call(
        &exec,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({ "kind": "paper", "name": "Paper" })),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["kind"], "paper");
    assert_eq!(account["status"], "connected");
    let account_id = account["id"].as_str().unwrap().to_owned();
    let links = format!("/api/v1/recorders/{}/links", exec.recorder);
    let (status, link) = call(
        &exec,
        Method::POST,
        &links,
        Some(json!({ "account_id": account_id, "multiplier": 2 })),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    assert_eq!(
        (link["multiplier"].as_i64(), link["max_delay_secs"].as_i64()),
        (Some(2), Some(30))
    );

    let signal = exec.signal(&buy(1, "25600.5"), "NQZ6", 1).await;
    exec.executor().run_due().await.unwrap();

    let (status, page) = call(
        &exec,
        Method::GET,
        &format!("/api/v1/accounts/{account_id}/orders"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let order = &page["orders"][0];
    assert_eq!(order["signal_id"], signal);
    assert_eq!(order["status"], "filled");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["action"], "buy");
    assert_eq!(order["fill_price"], "25600.5");
    assert!(order["finished_at"].is_string());
    assert!(page["next"].is_null());
    let signals = exec
        .app
        .api_json(
            &exec.user,
            &format!("/api/v1/recorders/{}/signals", exec.recorder),
        )
        .await;
    assert_eq!(signals["signals"][0]["orders"][0]["status"], "filled");
    assert_eq!(
        signals["signals"][0]["orders"][0]["account_id"],
        account_id.as_str()
    );
}

#[tokio::test]
async fn a_tradovate_account_connects_and_never_shows_its_credentials() {
    let exec = set_up().await;
    let (status, account) = call(
        &exec,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({
            "kind": "tradovate", "environment": "demo", "name": "Demo",
            "username": "demo-user", "password": "hunter2-secret", "app_id": "app",
            "cid": 8, "sec": "sec-uuid-secret", "device_id": "dev-1"
        })),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["status"], "connected", "{account}");
    assert_eq!(account["broker_account"], "demo-user");
    assert!(account["token_valid_until"].is_string());
    let id = account["id"].as_str().unwrap();
    let (_, listed) = call(&exec, Method::GET, "/api/v1/accounts", None).await;
    let (_, tested) = call(
        &exec,
        Method::POST,
        &format!("/api/v1/accounts/{id}/test"),
        None,
    )
    .await;
    assert_eq!(tested["status"], "connected");
    for shown in [&account, &listed, &tested] {
        let text = shown.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("sec-uuid"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_login_locked_out_by_the_broker_shows_on_the_account() {
    let exec = set_up().await;
    exec.fake.inject(
        jt_tradovate::fake::FaultRequest::on_orders(
            "locked",
            jt_tradovate::fake::FaultKind::TooManyRequests,
            1,
        )
        .on_endpoint("auth/accesstokenrequest"),
    );
    let (status, account) = call(
        &exec,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({
            "kind": "tradovate", "environment": "live", "name": "Live",
            "username": "locked", "password": "pw", "app_id": "app", "cid": "8", "sec": "s"
        })),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(account["status"], "locked_out", "{account}");
    assert!(account["locked_until"].is_string());
    assert!(account["status_message"].as_str().unwrap().contains("429"));
}

#[tokio::test]
async fn bad_input_and_other_users_ids_are_refused() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    let links = format!("/api/v1/recorders/{}/links", exec.recorder);
    let (status, error) = call(
        &exec,
        Method::POST,
        &links,
        Some(json!({ "account_id": paper.to_string(), "multiplier": 0 })),
    )
    .await;
    assert_eq!(status, 422);
    assert!(error["error"].as_str().unwrap().contains("multiplier"));
    let (status, _) = call(
        &exec,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({ "kind": "tradovate", "environment": "demo", "name": "x" })),
    )
    .await;
    assert_eq!(status, 422);
    exec.link(paper, LinkSettings::default()).await;
    let (status, _) = call(
        &exec,
        Method::POST,
        &links,
        Some(json!({ "account_id": paper.to_string() })),
    )
    .await;
    assert_eq!(status, 409, "linked twice");

    let other = exec.app.create_user("other@example.com").await;
    let theirs = |path: String| {
        let app: &TestApp = &exec.app;
        app.api(Method::GET, &path, &other).send()
    };
    for path in [
        format!("/api/v1/accounts/{paper}"),
        format!("/api/v1/accounts/{paper}/orders"),
        format!("/api/v1/recorders/{}/links", exec.recorder),
    ] {
        assert_eq!(theirs(path.clone()).await.unwrap().status(), 404, "{path}");
    }
    let (status, links_now) = call(&exec, Method::GET, &links, None).await;
    assert_eq!(status, 200);
    let link_id = links_now[0]["id"].as_str().unwrap();
    let (status, patched) = call(
        &exec,
        Method::PATCH,
        &format!("{links}/{link_id}"),
        Some(json!({ "enabled": false, "max_delay_secs": 10 })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            patched["enabled"].as_bool(),
            patched["max_delay_secs"].as_i64()
        ),
        (Some(false), Some(10))
    );
    let (status, _) = call(
        &exec,
        Method::DELETE,
        &format!("/api/v1/accounts/{paper}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &exec,
        Method::GET,
        &format!("/api/v1/accounts/{paper}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn webhooks_alone_queue_and_fill_orders_on_a_paper_account_flip_as_one_order() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    exec.link(paper, jt_store::account_links::LinkSettings::default())
        .await;
    // Nothing but webhooks: ingest queues the orders in the signals' own transactions.
    for body in [
        "BUY 2 NQ1! @ 25600",
        "SELL 5 NQ1! @ 25610",
        "CLOSE NQ1! @ 25590",
    ] {
        let response = exec.app.post_webhook(&exec.webhook_url, body).await;
        assert_eq!(response.status(), 200);
    }
    exec.executor().run_due().await.unwrap();
    let orders = exec.orders(paper).await;
    let shape: Vec<_> = orders
        .iter()
        .map(|o| (o.action.as_str(), o.quantity, o.status))
        .collect();
    use jt_store::orders::OrderStatus::Filled;
    // The flip from +2 to -3 is one order of 5.
    assert_eq!(
        shape,
        [("buy", 2, Filled), ("sell", 5, Filled), ("buy", 3, Filled)]
    );
}
