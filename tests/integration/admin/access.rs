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
