//! Tenant isolation through sessions, CSRF, HTML escaping, log-in required.

use jt_web::testing::spawn_app;

use super::*;

#[tokio::test]
async fn another_user_gets_404_for_every_recorder_and_token_route() {
    let app = spawn_app().await;
    let alice = signed_up(&app, "alice@example.com").await;
    let id = create_recorder(&alice, "alice strategy").await;
    let page = get_recorder_html(&alice, &id).await;
    let url = webhook_url_in(&page);
    assert_eq!(send_webhook(&app, &url, "BUY 1 NQ1! @ 25600").await.0, 200);
    let created = submit(&alice, "/settings/tokens", &[("name", "alice bot")]).await;
    let alice_token = new_token_in(&created.text().await.unwrap());
    let tokens = alice.get("/settings/tokens").await.text().await.unwrap();
    let revoke = revoke_path_in(&tokens);

    let bob = signed_up(&app, "bob@example.com").await;
    let response = bob.get(&format!("/recorders/{id}")).await;
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("alice strategy") && !body.contains(&url),
        "{body}"
    );
    let settings = [
        ("name", "mine now"),
        ("default_quantity", "7"),
        ("duplicate_window_secs", "1"),
        ("commission_per_contract", "9"),
    ];
    let invalid_settings = [("name", "mine now"), ("default_quantity", "0")];
    let posts: [(String, &[(&str, &str)]); 7] = [
        (format!("/recorders/{id}/settings"), &settings),
        (format!("/recorders/{id}/settings"), &invalid_settings),
        (format!("/recorders/{id}/pause"), &[]),
        (format!("/recorders/{id}/resume"), &[]),
        (format!("/recorders/{id}/regenerate-url"), &[]),
        (format!("/recorders/{id}/delete"), &[]),
        (revoke.clone(), &[]),
    ];
    for (path, fields) in posts {
        let response = submit(&bob, &path, fields).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("alice"), "no data of another user: {body}");
    }
    for path in ["/recorders/not-a-uuid", "/recorders/not-a-uuid/pause"] {
        let response = if path.ends_with("pause") {
            submit(&bob, path, &[]).await
        } else {
            bob.get(path).await
        };
        assert_eq!(response.status(), 404, "{path}");
    }
    assert!(!bob.get_home_html().await.contains("alice strategy"));

    // Alice's recorder and token are as they were.
    let page = get_recorder_html(&alice, &id).await;
    assert!(page.contains("<h1>alice strategy "));
    assert!(page.contains("status-active\">active</span>"));
    assert_eq!(webhook_url_in(&page), url);
    assert_eq!(field_value(&page, "default_quantity"), "1");
    assert_eq!(send_webhook(&app, &url, "BUY 1 NQ1! @ 25601").await.0, 200);
    assert_eq!(api_recorders_status(&app, &alice_token).await, 200);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ").await;

    let response = browser
        .post_form(
            "/recorders",
            &[("name", "forged"), ("default_quantity", "1")],
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = browser
        .post_form(
            "/recorders",
            &[("csrf_token", "forged"), ("name", "forged")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(!browser.get_home_html().await.contains("forged"));

    let response = browser
        .post_form(&format!("/recorders/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Form expired"));
    get_recorder_html(&browser, &id).await;
}

#[tokio::test]
async fn recorder_names_are_html_escaped() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "<script>alert(1)</script>").await;

    for html in [
        browser.get_home_html().await,
        get_recorder_html(&browser, &id).await,
    ] {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)")
        );
    }
}

#[tokio::test]
async fn pages_need_a_session_and_the_copy_script_is_served() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in [
        "/settings/tokens",
        "/recorders/00000000-0000-0000-0000-000000000000",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/login");
    }

    let response = app.get("/static/copy.js").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(response.text().await.unwrap().contains("data-copy"));
}

#[tokio::test]
async fn pages_with_private_data_are_not_cached() {
    let app = jt_web::testing::spawn_app().await;
    let browser = app.browser();
    let login = browser.get_login().await;
    assert_eq!(login.headers().get("cache-control").unwrap(), "no-store");
    let css = app.get("/static/app.css").await;
    assert_ne!(
        css.headers().get("cache-control").unwrap(),
        "no-store",
        "static files may be cached"
    );
}
