//! Only administrators see the console; everyone else gets the ordinary 404 page.

use super::{admin_browser, audit_entries, logged_in, submit_from};
use jt_web::testing::spawn_app;

#[tokio::test]
async fn admin_routes_are_the_404_page_for_anonymous_and_normal_users() {
    let app = spawn_app().await;
    let trader = app.create_user("trader@example.com").await;
    let (admin_id, admin) = admin_browser(&app, "ops@example.com").await;
    let pages = [
        "/admin".to_owned(),
        "/admin?sort=signals".to_owned(),
        "/admin/health".to_owned(),
        "/admin/audit".to_owned(),
        format!("/admin/users/{}", trader.id),
        format!("/admin/users/{admin_id}"),
    ];

    let anonymous = app.browser();
    let normal = logged_in(&app, "trader@example.com").await;
    for page in &pages {
        for (who, browser) in [("anonymous", &anonymous), ("a normal user", &normal)] {
            let response = browser.get(page).await;
            assert_eq!(response.status(), 404, "{page} for {who}");
            let html = response.text().await.unwrap();
            assert!(html.contains("There is nothing here"), "{page}: {html}");
        }
        assert_eq!(admin.get(page).await.status(), 200, "{page} for the admin");
    }

    // A normal user's well-formed, CSRF-valid form cannot act either.
    let response = submit_from(&normal, "/", &format!("/admin/users/{admin_id}/disable")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        admin.get("/admin").await.status(),
        200,
        "admin still active"
    );
    assert!(
        !audit_entries(&app)
            .await
            .iter()
            .any(|(_, action, _, _)| action == "user.disable"),
        "nothing was done"
    );

    // The nav links to the console for admins only.
    assert!(admin.get_home_html().await.contains("href=\"/admin\""));
    assert!(!normal.get_home_html().await.contains("href=\"/admin\""));
}

#[tokio::test]
async fn a_demoted_admin_loses_the_console_at_the_next_request() {
    let app = spawn_app().await;
    let (id, admin) = admin_browser(&app, "ops@example.com").await;
    assert_eq!(admin.get("/admin").await.status(), 200);
    let mut tx = app.store.admin("test").await.unwrap();
    jt_store::users::set_user_role(&mut tx, id, jt_store::users::Role::User)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(admin.get("/admin").await.status(), 404);
    assert_eq!(admin.get("/").await.status(), 200, "still a logged-in user");
}

#[tokio::test]
async fn outside_an_admin_transaction_the_console_tables_show_nothing_of_others() {
    let app = spawn_app().await;
    let one = app.create_user("one@example.com").await;
    app.create_user("two@example.com").await;
    let mut unscoped = app.store.unscoped_tx_for_tests().await.unwrap();
    for sql in [
        "select count(*) from admin_user_list",
        "select count(*) from user_signal_stats",
        "select count(*) from signal_minutes",
        "select count(*) from audit_log",
    ] {
        let rows: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut *unscoped)
            .await
            .unwrap();
        assert_eq!(rows, 0, "unscoped: {sql}");
    }
    unscoped.rollback().await.unwrap();

    let mut tenant = app.store.tenant(one.id).await.unwrap();
    let listed: i64 = sqlx::query_scalar("select count(*) from admin_user_list")
        .fetch_one(tenant.conn())
        .await
        .unwrap();
    assert_eq!(
        listed, 0,
        "a tenant does not see the admin list, not even itself"
    );
    let own: Vec<jt_store::UserId> = sqlx::query_scalar("select user_id from user_signal_stats")
        .fetch_all(tenant.conn())
        .await
        .unwrap();
    assert_eq!(own, [one.id], "a tenant sees its own totals only");
    let refused = sqlx::query("update user_signal_stats set signals = 1000")
        .execute(tenant.conn())
        .await;
    assert!(
        refused.is_err(),
        "totals are not writable by the application"
    );
    drop(tenant);
    for sql in [
        "update users set role = 'admin'",
        "update users set status = 'disabled'",
    ] {
        let mut tenant = app.store.tenant(one.id).await.unwrap();
        let refused = sqlx::query(sql).execute(tenant.conn()).await;
        assert!(refused.is_err(), "a tenant may not `{sql}` on its own row");
    }

    let mut admin = app.store.admin("test").await.unwrap();
    let listed: i64 = sqlx::query_scalar("select count(*) from admin_user_list")
        .fetch_one(admin.conn())
        .await
        .unwrap();
    assert_eq!(listed, 2);
    admin.commit().await.unwrap();
}
