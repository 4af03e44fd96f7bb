//! Browser authentication through real HTTP: sign-up, log-in, log-out, sessions in
//! PostgreSQL, CSRF tokens, attempt limits, disabled users.

use std::time::Duration;

use jt_store::password::Password;
use jt_store::users::{self, Email, Role};
use jt_store::{Store, UserId};
use jt_web::auth::{AuthLimits, RateLimit};
use jt_web::testing::{TestApp, TestBrowser, csrf_token_in, spawn_app, spawn_app_with_auth_limits};

const PASSWORD: &str = "correct horse battery";

async fn create_user(store: &Store, email: &str) -> UserId {
    users::create_user(
        store,
        &Email::parse(email).unwrap(),
        &Password::parse(PASSWORD).unwrap(),
        Role::User,
    )
    .await
    .unwrap()
}

async fn disable_user(store: &Store, email: &str) {
    let mut tx = store.admin("test").await.unwrap();
    users::disable_user(&mut tx, &Email::parse(email).unwrap())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn user_count(app: &TestApp) -> i64 {
    let mut tx = app.db().store.admin("test").await.unwrap();
    let count = users::count_users(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    count
}

fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
}

/// A browser logged in as a new user `email`.
async fn logged_in(app: &TestApp, email: &str) -> TestBrowser {
    create_user(&app.db().store, email).await;
    let browser = app.browser();
    let response = browser.post_login(email, PASSWORD).await;
    assert_eq!(response.status(), 303);
    browser
}

#[tokio::test]
async fn signing_up_logs_in_and_the_home_page_shows_the_email() {
    let app = spawn_app().await;
    let browser = app.browser();

    let response = browser
        .post_signup("Trader@Example.com", PASSWORD, PASSWORD)
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let home = browser.get_home_html().await;
    assert!(home.contains("Signed in as <strong>Trader@Example.com</strong>"));
    assert!(home.contains("action=\"/logout\""));
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn the_home_page_redirects_to_login_without_a_session() {
    let app = spawn_app().await;
    let response = app.browser().get_home().await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
}

#[tokio::test]
async fn an_existing_user_logs_in_with_the_right_password_in_any_letter_case() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();

    let response = browser.post_login("  ALICE@example.com ", PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    assert!(browser.get_home_html().await.contains("alice@example.com"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_lax_and_not_secure_over_http() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();
    let form = browser.get_login().await;
    let csrf_cookie = set_cookie_named(&form, "jt_csrf").expect("the form's CSRF cookie");
    assert!(
        set_cookie_named(&form, "jt_session").is_none(),
        "no session before log-in"
    );
    let response = browser.post_login("alice@example.com", PASSWORD).await;
    let cookie = set_cookie_named(&response, "jt_session").expect("log-in starts a session");
    for cookie in [&cookie, &csrf_cookie] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "the test server's base URL is http: {cookie}"
        );
    }
    assert!(cookie.contains("Max-Age="), "expires when idle: {cookie}");
}

/// The `Set-Cookie` header of the cookie `name`, if the response sets it.
fn set_cookie_named(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn logging_in_gives_a_new_session_id() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();
    browser.post_login("alice@example.com", PASSWORD).await;
    let before = browser.session_cookie().expect("a first session");

    // Logging in again (e.g. on a session someone planted) never keeps the old id.
    let response = browser.post_login("alice@example.com", PASSWORD).await;

    assert_eq!(response.status(), 303);
    let after = browser.session_cookie().expect("a session after log-in");
    assert_ne!(before, after);
    // The pre-login id is worthless now (session fixation).
    browser.set_session_cookie(Some(before));
    assert_eq!(browser.get_home().await.status(), 303);
}

#[tokio::test]
async fn logging_out_destroys_the_session() {
    let app = spawn_app().await;
    let browser = logged_in(&app, "alice@example.com").await;
    let cookie = browser.session_cookie().unwrap();

    let response = browser.post_logout().await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert_eq!(browser.session_cookie(), None, "the cookie is removed");
    assert_eq!(browser.get_home().await.status(), 303);
    // Replaying the old cookie does not bring the session back.
    browser.set_session_cookie(Some(cookie));
    let response = browser.get_home().await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();

    let wrong_password = browser
        .post_login("alice@example.com", "not the password")
        .await;
    let wrong_status = wrong_password.status();
    let wrong_body = wrong_password.text().await.unwrap();
    let unknown_email = browser.post_login("bob@example.com", PASSWORD).await;
    let unknown_status = unknown_email.status();
    let unknown_body = unknown_email.text().await.unwrap();

    assert_eq!(wrong_status, 422);
    assert_eq!(unknown_status, wrong_status);
    assert!(wrong_body.contains("The email or password is incorrect."));
    // The form keeps the typed address (for the user's convenience); apart from that the
    // two pages are byte-identical.
    assert_eq!(
        wrong_body.replace("alice@example.com", "EMAIL"),
        unknown_body.replace("bob@example.com", "EMAIL")
    );
    assert_eq!(browser.get_home().await.status(), 303, "not logged in");
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_even_with_the_right_password() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    disable_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();

    let response = browser.post_login("alice@example.com", PASSWORD).await;

    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This account is disabled.")
    );
    assert_eq!(browser.get_home().await.status(), 303);

    // A wrong password does not reveal that the account is disabled.
    let response = browser
        .post_login("alice@example.com", "not the password")
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn disabling_a_user_ends_their_existing_session() {
    let app = spawn_app().await;
    let browser = logged_in(&app, "alice@example.com").await;
    assert_eq!(browser.get_home().await.status(), 200);

    disable_user(&app.db().store, "alice@example.com").await;

    let response = browser.get_home().await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert_eq!(browser.session_cookie(), None, "the session is destroyed");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.get_login_html().await;

    let response = browser
        .post_form(
            "/signup",
            &[
                ("email", "alice@example.com"),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;

    assert_eq!(response.status(), 403);
    let body = response.text().await.unwrap();
    assert!(
        body.contains(
            "The form expired or was not sent by this site; reload the page and try again."
        )
    );
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn a_post_with_a_wrong_csrf_token_is_refused() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();
    let token = browser.csrf_token().await;
    let wrong = format!("{}x", &token[..token.len() - 1]);

    let response = browser
        .post_form(
            "/login",
            &[
                ("csrf_token", &wrong),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(browser.get_home().await.status(), 303, "not logged in");
}

#[tokio::test]
async fn a_token_from_another_session_is_refused() {
    let app = spawn_app().await;
    let attacker = app.browser();
    let attackers_token = attacker.csrf_token().await;
    let victim = logged_in(&app, "alice@example.com").await;

    let response = victim
        .post_form("/logout", &[("csrf_token", &attackers_token)])
        .await;

    assert_eq!(response.status(), 403);
    assert_eq!(victim.get_home().await.status(), 200, "still logged in");
}

#[tokio::test]
async fn the_csrf_token_changes_at_log_in() {
    let app = spawn_app().await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();
    let before = browser.csrf_token().await;

    browser.post_login("alice@example.com", PASSWORD).await;

    let after = csrf_token_in(&browser.get_home_html().await);
    assert_ne!(before, after);
}

#[tokio::test]
async fn log_in_attempts_per_email_are_limited() {
    let app = spawn_app_with_auth_limits(AuthLimits {
        login_failures_per_ip_and_email: RateLimit::new(3, Duration::from_secs(3600)),
        ..AuthLimits::default()
    })
    .await;
    create_user(&app.db().store, "alice@example.com").await;
    let browser = app.browser();
    for _ in 0..3 {
        let response = browser
            .post_login("alice@example.com", "wrong guess!")
            .await;
        assert_eq!(response.status(), 422);
    }

    // Over the budget even with the right password from the guessing address, and in
    // another letter case.
    let response = browser.post_login("Alice@Example.com", PASSWORD).await;

    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many attempts; wait")
    );
    assert_eq!(browser.get_home().await.status(), 303, "not logged in");
    // Other accounts are not affected.
    create_user(&app.db().store, "bob@example.com").await;
    assert_eq!(
        browser
            .post_login("bob@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn log_in_attempts_per_client_address_are_limited() {
    let app = spawn_app_with_auth_limits(AuthLimits {
        login_failures_per_ip: RateLimit::new(2, Duration::from_secs(3600)),
        ..AuthLimits::default()
    })
    .await;
    let browser = app.browser();
    for email in ["a@example.com", "b@example.com"] {
        assert_eq!(browser.post_login(email, PASSWORD).await.status(), 422);
    }
    let response = browser.post_login("c@example.com", PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn sign_up_attempts_are_limited() {
    let app = spawn_app_with_auth_limits(AuthLimits {
        signup_per_ip: RateLimit::new(1, Duration::from_secs(3600)),
        ..AuthLimits::default()
    })
    .await;
    let first = app.browser();
    assert_eq!(
        first
            .post_signup("a@example.com", PASSWORD, PASSWORD)
            .await
            .status(),
        303
    );
    let response = app
        .browser()
        .post_signup("b@example.com", PASSWORD, PASSWORD)
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn sign_up_mistakes_re_render_the_form_with_what_to_fix_and_create_nothing() {
    let app = spawn_app().await;
    create_user(&app.db().store, "taken@example.com").await;
    let cases = [
        ("new@example.com", "short", "short", "use at least 10"),
        (
            "not-an-email",
            PASSWORD,
            PASSWORD,
            "is not an email address",
        ),
        (
            "new@example.com",
            PASSWORD,
            "correct horse battery!",
            "The password and its confirmation differ; type the same password twice.",
        ),
        (
            "TAKEN@example.com",
            PASSWORD,
            PASSWORD,
            "An account with this email already exists; log in instead.",
        ),
    ];
    for (email, password, confirmation, message) in cases {
        let browser = app.browser();
        let response = browser.post_signup(email, password, confirmation).await;
        assert_eq!(response.status(), 422, "{email}/{message}");
        let body = response.text().await.unwrap();
        assert!(body.contains(message), "{message} in {body}");
        assert!(body.contains("<form method=\"post\" action=\"/signup\">"));
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "the email is kept"
        );
        assert_eq!(browser.get_home().await.status(), 303, "not logged in");
    }
    assert_eq!(user_count(&app).await, 1, "only the pre-existing user");
}

#[tokio::test]
async fn form_input_is_escaped_in_the_page() {
    let app = spawn_app().await;
    let response = app
        .browser()
        .post_login("<script>alert(1)</script>@x.com", PASSWORD)
        .await;
    let body = response.text().await.unwrap();
    assert!(!body.contains("<script>"));
    assert!(body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary() {
    let app = spawn_app().await;
    let response = app.get("/static/app.css").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/css; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains(".site-header"));
}

#[tokio::test]
async fn expired_sessions_are_not_loaded_and_are_cleaned_up() {
    let app = spawn_app().await;
    let sessions = app.db().store.sessions();
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    assert!(sessions.insert_new("old", b"x", past, None).await.unwrap());
    assert!(
        sessions
            .insert_new("new", b"y", future, None)
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .insert_new("new", b"z", future, None)
            .await
            .unwrap(),
        "an existing id is never overwritten by a new session"
    );

    assert_eq!(sessions.load("old").await.unwrap(), None);
    assert_eq!(sessions.load("new").await.unwrap(), Some(b"y".to_vec()));
    assert_eq!(sessions.delete_expired().await.unwrap(), 1);
    assert_eq!(sessions.delete_expired().await.unwrap(), 0);
    assert_eq!(sessions.load("new").await.unwrap(), Some(b"y".to_vec()));
}

#[tokio::test]
async fn the_login_lookup_returns_one_account_and_opens_nothing_else() {
    let app = spawn_app().await;
    let store = &app.db().store;
    let alice = create_user(store, "alice@example.com").await;
    create_user(store, "bob@example.com").await;

    let record = users::find_login(store, &Email::parse("ALICE@example.com").unwrap())
        .await
        .unwrap()
        .expect("alice's log-in record");
    assert_eq!(record.id, alice);
    assert!(record.password_hash.starts_with("$argon2id$"));
    let unknown = users::find_login(store, &Email::parse("carol@example.com").unwrap())
        .await
        .unwrap();
    assert!(unknown.is_none());

    // In an unscoped transaction the function sees its one row, and the caller still sees
    // nothing of the table.
    let mut tx = store.unscoped_tx_for_tests().await.unwrap();
    let found: i64 =
        sqlx::query_scalar("select count(*) from auth_user_by_email('bob@example.com')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(found, 1);
    let visible: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0, "no rows visible after the lookup");
}
