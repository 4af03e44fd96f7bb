//! The admin console through real HTTP: who may see it, disabling users end to end, the
//! audit log, and the users list (paging, search, sorts) over the per-user totals. This
//! file holds the helpers; the tests are in `admin/`.

mod access;
mod disable;
pub mod execution_pages;
mod stopped_orders;
mod user_list;

use jt_web::testing::{TEST_PASSWORD, TestApp, TestBrowser, csrf_token_in};

/// An administrator's browser, logged in.
pub async fn admin_browser(app: &TestApp, email: &str) -> (jt_store::UserId, TestBrowser) {
    let id = app.create_admin(email).await;
    let browser = logged_in(app, email).await;
    (id, browser)
}

/// A browser logged in as an existing user.
pub async fn logged_in(app: &TestApp, email: &str) -> TestBrowser {
    let browser = app.browser();
    let response = browser.post_login(email, TEST_PASSWORD).await;
    assert_eq!(response.status(), 303, "log-in of {email}");
    browser
}

/// `POST {path}` with the CSRF token of the browser's session (read from a page it can see).
pub async fn submit_from(browser: &TestBrowser, page: &str, path: &str) -> reqwest::Response {
    let html = browser.get(page).await.text().await.unwrap();
    let token = csrf_token_in(&html);
    browser.post_form(path, &[("csrf_token", &token)]).await
}

/// The audit log as (actor, action, target, ip), oldest first, read as admin.
pub async fn audit_entries(
    app: &TestApp,
) -> Vec<(String, String, Option<jt_store::UserId>, Option<String>)> {
    let mut tx = app.store.admin("test").await.unwrap();
    let (mut entries, _) = jt_store::admin::audit_log::list_audit_entries(&mut tx, None, None, 200)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    entries.reverse();
    entries
        .into_iter()
        .map(|e| (e.actor, e.action, e.target_user_id, e.ip))
        .collect()
}
