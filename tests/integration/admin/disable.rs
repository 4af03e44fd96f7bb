//! Disabling a user from the console, end to end, and the audit entries it leaves.

use super::{admin_browser, audit_entries, logged_in, submit_from};
use jt_web::testing::spawn_app;

#[tokio::test]
async fn disabling_ends_sessions_refuses_tokens_and_stores_webhooks_as_403_until_enabled() {
    let app = spawn_app().await;
    let trader = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&trader, "NQ breakout").await;
    let webhook = recorder["webhook_url"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_webhook(&webhook, "BUY 1 NQ1! @ 25600")
            .await
            .status(),
        200
    );
    let session = logged_in(&app, "trader@example.com").await;
    let old_cookie = session.session_cookie();
    assert_eq!(session.get("/").await.status(), 200);

    let (_, admin) = admin_browser(&app, "ops@example.com").await;
    let page = format!("/admin/users/{}", trader.id);
    let response = submit_from(&admin, &page, &format!("{page}/disable")).await;
    assert_eq!(response.status(), 303);

    // The session ends at its next request, and its record is gone (replaying it fails).
    let response = session.get("/").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    session.set_session_cookie(old_cookie);
    assert_eq!(
        session.get("/").await.status(),
        303,
        "the old session is dead"
    );
    let refused = app
        .browser()
        .post_login("trader@example.com", jt_web::testing::TEST_PASSWORD)
        .await;
    assert_ne!(refused.status(), 303, "no new log-in");

    // The API token is refused; the webhook answers 403 and the signal is stored.
    let api = app
        .api(reqwest::Method::GET, "/api/v1/recorders", &trader)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let answer = app.post_webhook(&webhook, "BUY 1 NQ1! @ 25601").await;
    assert_eq!(answer.status(), 403);
    let html = admin.get(&page).await.text().await.unwrap();
    assert!(html.contains("this account is disabled"), "{html}");
    assert!(html.contains("status-disabled"), "{html}");
    let mut tx = app.store.admin("test").await.unwrap();
    jt_store::admin::fold_signal_deltas(&mut tx).await.unwrap();
    let totals = jt_store::admin::user_detail::signal_totals(&mut tx, trader.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (totals.signals, totals.accepted, totals.rejected),
        (2, 1, 1)
    );

    // Enabled again: the same token works.
    let response = submit_from(&admin, &page, &format!("{page}/enable")).await;
    assert_eq!(response.status(), 303);
    let api = app
        .api(reqwest::Method::GET, "/api/v1/recorders", &trader)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    assert_eq!(
        app.post_webhook(&webhook, "CLOSE NQ1! @ 25610")
            .await
            .status(),
        200
    );

    // Every view and action is in the audit log: who, what, whom, from where.
    let entries = audit_entries(&app).await;
    let about_trader: Vec<(&str, &str)> = entries
        .iter()
        .filter(|(_, _, target, _)| *target == Some(trader.id))
        .map(|(actor, action, _, _)| (actor.as_str(), action.as_str()))
        .collect();
    assert_eq!(
        about_trader,
        [
            ("ops@example.com", "user.view"),
            ("ops@example.com", "user.disable"),
            ("ops@example.com", "user.view"),
            ("ops@example.com", "user.view"),
            ("ops@example.com", "user.enable"),
        ]
    );
    assert!(
        entries
            .iter()
            .filter(|(_, _, target, _)| *target == Some(trader.id))
            .all(|(_, _, _, ip)| ip.as_deref() == Some("127.0.0.1")),
        "{entries:?}"
    );
    let audit_page = admin.get("/admin/audit").await.text().await.unwrap();
    assert!(audit_page.contains("user.disable") && audit_page.contains("127.0.0.1"));
}

#[tokio::test]
async fn an_admin_cannot_disable_themselves_from_the_console() {
    let app = spawn_app().await;
    let (id, admin) = admin_browser(&app, "ops@example.com").await;
    let page = format!("/admin/users/{id}");
    let response = submit_from(&admin, "/admin", &format!("{page}/disable")).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("your own account"));
    assert_eq!(admin.get("/admin").await.status(), 200);
}
