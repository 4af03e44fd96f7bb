//! Broker accounts in the browser: add the paper account, link it on the recorder page, see
//! its filled orders on the account page; Tradovate accounts show their connection status.

use super::{create_recorder, get_recorder_html, location, signed_up, submit};
use jt_web::testing::spawn_app;

fn account_id_in(html: &str) -> String {
    let marker = "href=\"/accounts/";
    let start = html.find(marker).expect("an account link") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn add_paper_link_it_and_see_the_account_page() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "pages-exec@example.com").await;
    let recorder = create_recorder(&browser, "NQ").await;

    let response = submit(
        &browser,
        "/accounts",
        &[("kind", "paper"), ("name", "Paper")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/accounts");
    let html = browser.get("/accounts").await.text().await.unwrap();
    assert!(html.contains("status-connected"), "{html}");
    let account = account_id_in(&html);

    let response = submit(
        &browser,
        &format!("/recorders/{recorder}/links"),
        &[
            ("account_id", &account),
            ("multiplier", "2"),
            ("max_delay_secs", "30"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = get_recorder_html(&browser, &recorder).await;
    assert!(page.contains("Broker accounts"));
    assert!(page.contains("× 2"), "the link shows its multiplier");

    let orders = browser.get(&format!("/accounts/{account}")).await;
    assert_eq!(orders.status(), 200);
    assert!(orders.text().await.unwrap().contains("No orders yet"));

    // A signal and its order (queued as ingest does) show in the log and on the account page.
    let url = super::input_value(&page, "webhook-url");
    let answer: serde_json::Value = app
        .post_webhook(
            &url,
            r#"{"action":"buy","ticker":"NQZ6","quantity":1,"price":"25600"}"#,
        )
        .await
        .json()
        .await
        .unwrap();
    let mut admin = app.store.admin("test").await.unwrap();
    let email = jt_store::users::Email::parse("pages-exec@example.com").unwrap();
    let (user, _) = jt_store::users::find_user_by_email(&mut admin, &email)
        .await
        .unwrap();
    admin.commit().await.unwrap();
    let mut tx = app.store.tenant(user).await.unwrap();
    let intent = jt_store::orders::OrderIntent {
        recorder_id: recorder.parse().unwrap(),
        signal_id: answer["signal_id"].as_i64().unwrap(),
        contract: "NQZ6".to_owned(),
        delta: 1,
        price: None,
    };
    jt_store::orders::enqueue_orders(tx.conn(), &[intent])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let page = get_recorder_html(&browser, &recorder).await;
    assert!(
        page.contains("status-queued"),
        "the signal log shows its order"
    );
    let orders = browser
        .get(&format!("/accounts/{account}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(orders.contains("buy 2 NQZ6"), "{orders}");

    // Another user sees none of it.
    let stranger = signed_up(&app, "stranger@example.com").await;
    assert_eq!(
        stranger.get(&format!("/accounts/{account}")).await.status(),
        404
    );
}

#[tokio::test]
async fn a_tradovate_form_without_its_api_key_says_what_is_missing() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "form@example.com").await;
    let response = submit(
        &browser,
        "/accounts",
        &[
            ("kind", "tradovate"),
            ("name", "Demo"),
            ("username", "u"),
            ("password", "p"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("app id is required"), "{html}");
}
