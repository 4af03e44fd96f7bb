//! Issue 10: the settings page: password change ends other sessions, time zone, deleting
//! the account removes everything.

use jt_web::testing::spawn_app;

use crate::pages::{
    PASSWORD, create_recorder, get_recorder_html, signed_up, submit, webhook_url_in,
};

#[tokio::test]
async fn changing_the_password_asks_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let here = signed_up(&app, "pw@example.com").await;
    let elsewhere = app.browser();
    assert_eq!(
        elsewhere
            .post_login("pw@example.com", PASSWORD)
            .await
            .status(),
        303
    );

    let wrong = submit(
        &here,
        "/settings/password",
        &[
            ("current_password", "not my password"),
            ("new_password", "a brand new secret"),
            ("new_password_confirmation", "a brand new secret"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is not correct")
    );

    let changed = submit(
        &here,
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new secret"),
            ("new_password_confirmation", "a brand new secret"),
        ],
    )
    .await;
    assert_eq!(changed.status(), 303);
    let page = here.get("/settings?saved=password").await;
    assert_eq!(page.status(), 200, "this browser stays logged in");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Every other session has been logged out")
    );
    let other = elsewhere.get("/").await;
    assert_eq!(other.status(), 303, "the other session ended");

    let old = app.browser();
    assert_eq!(
        old.post_login("pw@example.com", PASSWORD).await.status(),
        422
    );
    let new = app.browser();
    assert_eq!(
        new.post_login("pw@example.com", "a brand new secret")
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn the_time_zone_is_chosen_from_the_list_and_used_on_pages() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "tz@example.com").await;
    let page = browser.get("/settings").await.text().await.unwrap();
    assert!(page.contains("<option selected>UTC</option>"));
    assert!(page.contains("<option>America/New_York</option>"));

    let bad = submit(
        &browser,
        "/settings/time-zone",
        &[("time_zone", "Mars/Olympus")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("is not a time zone we know")
    );

    let saved = submit(
        &browser,
        "/settings/time-zone",
        &[("time_zone", "America/New_York")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = browser.get("/settings").await.text().await.unwrap();
    assert!(page.contains("<option selected>America/New_York</option>"));

    let id = create_recorder(&browser, "Zoned").await;
    let url = webhook_url_in(&get_recorder_html(&browser, &id).await);
    assert_eq!(
        app.post_webhook(&url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );
    let page = get_recorder_html(&browser, &id).await;
    assert!(
        page.contains(" EST</td>") || page.contains(" EDT</td>"),
        "times in New York time"
    );
}

#[tokio::test]
async fn deleting_the_account_needs_the_email_and_removes_every_row() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "gone@example.com").await;
    let id = create_recorder(&browser, "Doomed").await;
    let url = webhook_url_in(&get_recorder_html(&browser, &id).await);
    for body in ["BUY 1 NQ1! @ 25600", "SELL 1 NQ1! @ 25610"] {
        assert_eq!(app.post_webhook(&url, body).await.status(), 200);
    }
    let keeper = signed_up(&app, "keeper@example.com").await;
    let kept = create_recorder(&keeper, "Kept").await;

    let token = submit(&browser, "/settings/tokens", &[("name", "bot")]).await;
    assert_eq!(token.status(), 200);
    let user = user_id(&app, "gone@example.com").await;
    let before = rows_of(&app, user).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "every kind of row exists: {before:?}"
    );

    let wrong = submit(
        &browser,
        "/settings/delete-account",
        &[("email", "someone@example.com")],
    )
    .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(browser.get("/").await.status(), 200, "nothing happened");

    let deleted = submit(
        &browser,
        "/settings/delete-account",
        &[("email", "GONE@example.com")],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(browser.get("/").await.status(), 303, "logged out");
    assert_eq!(
        app.post_webhook(&url, "BUY 1 NQ1! @ 1").await.status(),
        404,
        "webhook dead"
    );
    let again = app.browser();
    assert_eq!(
        again
            .post_login("gone@example.com", PASSWORD)
            .await
            .status(),
        422
    );

    for (table, left) in rows_of(&app, user).await {
        assert_eq!(left, 0, "{table} rows left");
    }
    assert_eq!(
        keeper.get(&format!("/recorders/{kept}")).await.status(),
        200,
        "others untouched"
    );
}

async fn user_id(app: &jt_web::testing::TestApp, email: &str) -> jt_store::UserId {
    let mut admin = app.store.admin("tests").await.unwrap();
    let id = sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(admin.conn())
        .await
        .unwrap();
    admin.commit().await.unwrap();
    id
}

/// How many rows of `user` each table holds, read through the admin policies.
async fn rows_of(
    app: &jt_web::testing::TestApp,
    user: jt_store::UserId,
) -> Vec<(&'static str, i64)> {
    let mut admin = app.store.admin("tests").await.unwrap();
    let mut counts = Vec::new();
    for (table, column) in [
        ("users", "id"),
        ("recorders", "user_id"),
        ("recorded_signals", "user_id"),
        ("recorder_positions", "user_id"),
        ("trades", "user_id"),
        ("api_tokens", "user_id"),
        ("sessions", "user_id"),
    ] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where {column} = $1"
        )))
        .bind(user)
        .fetch_one(admin.conn())
        .await
        .unwrap();
        counts.push((table, count));
    }
    admin.commit().await.unwrap();
    counts
}
