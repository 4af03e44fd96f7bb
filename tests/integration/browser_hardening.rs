//! Issue 12, items 4–7, 9 and 10 through the real server: client IPs behind a trusted proxy,
//! log-in lock-out resistance, no session rows for anonymous visitors, session storage and
//! lifetime, request ids, and security headers on every response.

use std::net::IpAddr;
use std::time::Duration;

use jt_web::auth::{AuthLimits, RateLimit};
use jt_web::testing::{TestApp, TestBrowser, spawn_app, spawn_app_behind_proxy};
use sha2::{Digest, Sha256};
use sqlx::{ConnectOptions, Connection};

const PASSWORD: &str = "correct horse battery";
const HOUR: Duration = Duration::from_secs(3600);

async fn create_user(app: &TestApp, email: &str) {
    jt_store::users::create_user(
        &app.store,
        &jt_store::users::Email::parse(email).unwrap(),
        &jt_store::password::Password::parse(PASSWORD).unwrap(),
        jt_store::users::Role::User,
    )
    .await
    .unwrap();
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

async fn session_rows(app: &TestApp) -> i64 {
    app.store.sessions().count().await.unwrap()
}

/// Tight budgets, and the test client (127.0.0.1) trusted as a proxy so browsers can come
/// from any address.
async fn spawn_lockout_app() -> TestApp {
    spawn_app_behind_proxy(
        AuthLimits {
            login_failures_per_ip: RateLimit::new(100, HOUR),
            login_failures_per_ip_and_email: RateLimit::new(3, HOUR),
            login_failures_per_email: RateLimit::new(6, HOUR),
            ..AuthLimits::default()
        },
        "127.0.0.1".parse().unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_strangers_failed_log_ins_do_not_lock_out_the_owner() {
    let app = spawn_lockout_app().await;
    create_user(&app, "alice@example.com").await;
    let stranger = app.browser_from(ip("203.0.113.66"));
    for _ in 0..3 {
        let response = stranger
            .post_login("alice@example.com", "wrong guess!")
            .await;
        assert_eq!(response.status(), 422);
    }
    let response = stranger
        .post_login("alice@example.com", "wrong guess!")
        .await;
    assert_eq!(response.status(), 429, "the stranger is locked out");
    let response = stranger.post_login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 429, "even a right guess from there");

    let owner = app.browser_from(ip("198.51.100.7"));
    let response = owner.post_login("alice@example.com", PASSWORD).await;
    assert_eq!(
        response.status(),
        303,
        "the owner's address is not locked out"
    );
}

#[tokio::test]
async fn the_owner_gets_in_while_strangers_from_many_addresses_fill_the_accounts_ceiling() {
    let app = spawn_lockout_app().await;
    create_user(&app, "alice@example.com").await;
    let owner = app.browser_from(ip("198.51.100.7"));
    assert_eq!(
        owner
            .post_login("alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    // Successes never count: logging in again and again is fine.
    for _ in 0..5 {
        assert_eq!(
            owner
                .post_login("alice@example.com", PASSWORD)
                .await
                .status(),
            303
        );
    }
    for stranger in 1..=4 {
        let browser = app.browser_from(ip(&format!("203.0.113.{stranger}")));
        for _ in 0..2 {
            let _ = browser
                .post_login("alice@example.com", "wrong guess!")
                .await;
        }
    }
    let newcomer = app.browser_from(ip("192.0.2.200"));
    let response = newcomer.post_login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 429, "the account's ceiling is reached");

    let owner_again = app.browser_from(ip("198.51.100.7"));
    let response = owner_again.post_login("alice@example.com", PASSWORD).await;
    assert_eq!(
        response.status(),
        303,
        "an address that logged in before gets in"
    );
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_do_not_pick_the_budget() {
    // No trusted proxies: X-Forwarded-For is the client's own claim and is ignored.
    let app = jt_web::testing::spawn_app_with_auth_limits(AuthLimits {
        login_failures_per_ip_and_email: RateLimit::new(2, HOUR),
        ..AuthLimits::default()
    })
    .await;
    for n in 1..=2 {
        let browser = app.browser_from(ip(&format!("203.0.113.{n}")));
        let response = browser
            .post_login("alice@example.com", "wrong guess!")
            .await;
        assert_eq!(response.status(), 422);
    }
    let browser = app.browser_from(ip("203.0.113.3"));
    let response = browser
        .post_login("alice@example.com", "wrong guess!")
        .await;
    assert_eq!(response.status(), 429, "all three came from 127.0.0.1");
}

#[tokio::test]
async fn anonymous_page_views_store_no_sessions() {
    let app = spawn_app().await;
    create_user(&app, "alice@example.com").await;
    let returning = app.browser();
    for _ in 0..5 {
        for path in [
            "/login",
            "/signup",
            "/",
            "/no-such-page",
            "/settings/tokens",
        ] {
            let _ = app.browser().get(path).await;
            let _ = returning.get(path).await;
        }
    }
    // Failed log-ins and sign-ups with a valid form token store nothing either.
    assert_eq!(
        returning
            .post_login("alice@example.com", "wrong guess!")
            .await
            .status(),
        422
    );
    assert_eq!(
        returning
            .post_signup("new@example.com", "short", "short")
            .await
            .status(),
        422
    );
    assert_eq!(session_rows(&app).await, 0);

    assert_eq!(
        returning
            .post_login("alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(session_rows(&app).await, 1, "log-in starts the one session");
    assert_eq!(returning.post_logout().await.status(), 303);
    assert_eq!(session_rows(&app).await, 0);
}

#[tokio::test]
async fn an_anonymous_form_token_works_only_with_its_own_browsers_cookie() {
    let app = spawn_app().await;
    create_user(&app, "alice@example.com").await;
    let attacker = app.browser();
    let token = attacker.csrf_token().await;
    let forged_login = |browser: TestBrowser| {
        let token = token.clone();
        async move {
            let fields = [
                ("csrf_token", token.as_str()),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ];
            browser.post_form("/login", &fields).await
        }
    };
    let victim = app.browser();
    victim.get_login().await;
    let forged = forged_login(victim).await;
    assert_eq!(forged.status(), 403, "a token from another browser");
    let response = forged_login(app.browser()).await;
    assert_eq!(response.status(), 403, "a token without its cookie");
    assert_eq!(
        attacker
            .post_login("alice@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn sessions_are_stored_by_hash_and_end_after_the_absolute_lifetime() {
    let app = spawn_app().await;
    create_user(&app, "alice@example.com").await;
    let browser = app.browser();
    browser.post_login("alice@example.com", PASSWORD).await;
    let cookie = browser.session_cookie().unwrap();
    let mut owner = app.db().owner_options().connect().await.unwrap();
    let (id, data): (String, Vec<u8>) = sqlx::query_as("select id, data from sessions")
        .fetch_one(&mut owner)
        .await
        .unwrap();
    assert_eq!(id, hex_sha256(&cookie));
    assert!(
        !String::from_utf8_lossy(&data).contains(&cookie),
        "the data holds no id either"
    );
    assert_eq!(browser.get_home().await.status(), 200);

    // Active all along (the idle expiry keeps moving), but created 31 days ago.
    sqlx::query("update sessions set created_at = now() - interval '31 days'")
        .execute(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();
    let response = browser.get_home().await;
    assert_eq!(response.status(), 303, "logged out after 30 days");
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_save_after_log_out_does_not_bring_the_session_back() {
    let app = spawn_app().await;
    let table = app.store.sessions();
    let expiry = chrono::Utc::now() + chrono::Duration::days(1);
    assert!(
        table
            .insert_new("session-a", b"logged in", expiry, None)
            .await
            .unwrap()
    );
    // Request 1 logs out while request 2, which loaded the session before, is still running.
    table.delete("session-a").await.unwrap();
    table
        .save("session-a", b"refreshed", expiry, None)
        .await
        .unwrap();
    assert_eq!(table.load("session-a").await.unwrap(), None);
    assert_eq!(session_rows(&app).await, 0);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    create_user(&app, "alice@example.com").await;
    let logged_in = app.browser();
    logged_in.post_login("alice@example.com", PASSWORD).await;
    let mut responses = Vec::new();
    for path in [
        "/login",
        "/signup",
        "/",
        "/no-such-page",
        "/healthz",
        "/readyz",
        "/static/app.css",
        "/static/copy.js",
        "/api/v1/recorders",
    ] {
        responses.push((path, app.get(path).await));
    }
    responses.push(("/ (logged in)", logged_in.get("/").await));
    responses.push(("/settings/tokens", logged_in.get("/settings/tokens").await));
    responses.push((
        "POST /webhook",
        app.client
            .post(format!("{}/webhook/unknown-token", app.address))
            .body("buy NQ1!")
            .send()
            .await
            .unwrap(),
    ));
    responses.push((
        "POST /login without token",
        app.client
            .post(format!("{}/login", app.address))
            .send()
            .await
            .unwrap(),
    ));
    for (path, response) in responses {
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "{path}: no HSTS over plain http"
        );
    }
}

#[test]
fn templates_and_static_files_have_no_inline_script_or_style() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["templates", "static"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "html") {
                continue;
            }
            let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
            checked += 1;
            for (at, _) in html.match_indices("<script") {
                let tag = &html[at..at + html[at..].find('>').unwrap()];
                assert!(tag.contains(" src="), "{}: inline <script>", path.display());
            }
            assert!(!html.contains("<style"), "{}: <style>", path.display());
            assert!(!html.contains(" style="), "{}: style=", path.display());
            assert!(!html.contains("javascript:"), "{}", path.display());
            for handler in [
                " onclick=",
                " onload=",
                " onsubmit=",
                " onchange=",
                " oninput=",
            ] {
                assert!(!html.contains(handler), "{}: {handler}", path.display());
            }
        }
    }
    assert!(checked > 5, "found the templates");
}

#[tokio::test]
async fn client_request_ids_are_echoed_only_when_short_and_plain() {
    let app = spawn_app().await;
    let send = |id: String| {
        app.client
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", id)
            .send()
    };
    let plain = "edge-1234:abcd.EF_9";
    let response = send(plain.to_owned()).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], plain);
    for hostile in [
        "a".repeat(65),
        "id\" forged=\"1".to_owned(),
        "x y".to_owned(),
    ] {
        let response = send(hostile.clone()).await.unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, hostile);
        assert!(
            uuid::Uuid::parse_str(echoed).is_ok(),
            "a fresh id: {echoed}"
        );
    }
}
