//! `spawn_app()`: the real router on a real port, over a fresh test database.

use std::net::SocketAddr;
use std::sync::Mutex;

use jt_store::Store;
use jt_store::testing::TestDb;
use reqwest::header;
use tokio::sync::oneshot;

use crate::auth::{AuthLimits, SESSION_COOKIE};
use crate::{AppState, Application, WebConfig};

/// The `JT_SECRET_KEY` of test servers (a worker in the test needs it to open credentials).
pub const TEST_SECRET_KEY: &[u8] = b"web-test-secret-key-0123456789abcdef";

/// A running server for one test; it stops when this is dropped.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    /// A plain client.
    pub client: reqwest::Client,
    /// The store the server uses.
    pub store: Store,
    db: Option<TestDb>,
    _shutdown: oneshot::Sender<()>,
}

/// Starts the app on port 0 with its own fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_auth_limits(AuthLimits::default()).await
}

/// [`spawn_app`] with other log-in and sign-up limits (to reach them in a few requests).
pub async fn spawn_app_with_auth_limits(limits: AuthLimits) -> TestApp {
    let db = TestDb::new().await;
    let mut app = spawn(db.store.clone(), limits).await;
    app.db = Some(db);
    app
}

/// Starts the app on port 0 over a store the test provides (e.g. on a cluster it will stop).
pub async fn spawn_app_with_store(store: Store) -> TestApp {
    spawn(store, AuthLimits::default()).await
}

/// [`spawn_app`] with brokers at these URLs (e.g. a fake Tradovate), for broker accounts.
pub async fn spawn_app_with_execution(execution: jt_jobs::ExecutorConfig) -> TestApp {
    let db = TestDb::new().await;
    let mut app = spawn_with(db.store.clone(), AuthLimits::default(), execution).await;
    app.db = Some(db);
    app
}

async fn spawn(store: Store, limits: AuthLimits) -> TestApp {
    spawn_with(store, limits, jt_jobs::ExecutorConfig::default()).await
}

async fn spawn_with(
    store: Store,
    limits: AuthLimits,
    execution: jt_jobs::ExecutorConfig,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    let config = WebConfig {
        base_url: address.clone(),
        secret_key: jt_store::SecretKey::from_bytes(TEST_SECRET_KEY.to_vec()).expect("test key"),
    };
    let state = AppState::new(store.clone(), config)
        .with_auth_limits(limits)
        .with_execution(execution);
    let app = Application::from_listener(listener, state);
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        db: None,
        _shutdown: shutdown,
    }
}

impl TestApp {
    /// The test database (for apps from [`spawn_app`]).
    pub fn db(&self) -> &TestDb {
        self.db
            .as_ref()
            .expect("this app was spawned over a test database")
    }

    /// `GET {path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request failed")
    }

    /// `GET /healthz`.
    pub async fn get_healthz(&self) -> reqwest::Response {
        self.get("/healthz").await
    }

    /// `GET /readyz`.
    pub async fn get_readyz(&self) -> reqwest::Response {
        self.get("/readyz").await
    }

    /// A new browser: its own session cookie, no redirects followed.
    pub fn browser(&self) -> TestBrowser {
        TestBrowser {
            address: self.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("test client"),
            session_cookie: Mutex::new(None),
        }
    }
}

/// A browser for the session-authenticated pages: keeps the `jt_session` cookie the server
/// sets (reqwest's cookie store is not enabled) and does not follow redirects, so tests see
/// the 303s. Form helpers fetch a fresh CSRF token first, like a person loading the page.
pub struct TestBrowser {
    address: String,
    client: reqwest::Client,
    session_cookie: Mutex<Option<String>>,
}

impl TestBrowser {
    /// The session cookie's current value, if the browser holds one.
    pub fn session_cookie(&self) -> Option<String> {
        self.session_cookie.lock().expect("cookie lock").clone()
    }

    /// Replaces the session cookie (e.g. to replay an old one).
    pub fn set_session_cookie(&self, value: Option<String>) {
        *self.session_cookie.lock().expect("cookie lock") = value;
    }

    /// `GET {path}` with the session cookie.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let request = self.client.get(format!("{}{path}", self.address));
        self.send(request).await
    }

    /// `POST {path}` with these form fields, exactly (no CSRF token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(fields).expect("form encoding");
        let request = self
            .client
            .post(format!("{}{path}", self.address))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// `GET /` (the signed-in home page, or a redirect to `/login`).
    pub async fn get_home(&self) -> reqwest::Response {
        self.get("/").await
    }

    /// `GET /` body; panics unless it is 200.
    pub async fn get_home_html(&self) -> String {
        html_of(self.get_home().await).await
    }

    /// `GET /login`.
    pub async fn get_login(&self) -> reqwest::Response {
        self.get("/login").await
    }

    /// `GET /login` body; panics unless it is 200.
    pub async fn get_login_html(&self) -> String {
        html_of(self.get_login().await).await
    }

    /// `GET /signup` body; panics unless it is 200.
    pub async fn get_signup_html(&self) -> String {
        html_of(self.get("/signup").await).await
    }

    /// The CSRF token of this browser's session, read from the log-in form.
    pub async fn csrf_token(&self) -> String {
        csrf_token_in(&self.get_login_html().await)
    }

    /// `POST /login` with a valid CSRF token.
    pub async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        let token = self.csrf_token().await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// `POST /signup` with a valid CSRF token.
    pub async fn post_signup(
        &self,
        email: &str,
        password: &str,
        password_confirmation: &str,
    ) -> reqwest::Response {
        let token = self.csrf_token().await;
        self.post_form(
            "/signup",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
                ("password_confirmation", password_confirmation),
            ],
        )
        .await
    }

    /// `POST /logout` with the CSRF token from the home page.
    pub async fn post_logout(&self) -> reqwest::Response {
        let token = csrf_token_in(&self.get_home_html().await);
        self.post_form("/logout", &[("csrf_token", &token)]).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let request = match self.session_cookie() {
            Some(value) => request.header(header::COOKIE, format!("{SESSION_COOKIE}={value}")),
            None => request,
        };
        let response = request.send().await.expect("request failed");
        self.keep_cookie(&response);
        response
    }

    /// Applies a `Set-Cookie` for the session: a new value, or removal (empty value or
    /// `Max-Age=0`).
    fn keep_cookie(&self, response: &reqwest::Response) {
        let prefix = format!("{SESSION_COOKIE}=");
        for set_cookie in response.headers().get_all(header::SET_COOKIE) {
            let text = set_cookie.to_str().expect("ASCII Set-Cookie");
            let Some(rest) = text.strip_prefix(&prefix) else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default();
            let removed = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
            self.set_session_cookie((!removed).then(|| value.to_owned()));
        }
    }
}

/// The body of a 200 response.
async fn html_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "expected a page");
    response.text().await.expect("body")
}

/// The value of the hidden `csrf_token` field in a page.
pub fn csrf_token_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    let end = html[start..].find('"').expect("end of the token") + start;
    html[start..end].to_owned()
}

/// A user with an API token, made directly in the database.
pub struct TestUser {
    /// The user's id.
    pub id: jt_store::UserId,
    /// A bearer token for the JSON API.
    pub token: String,
}

impl TestApp {
    /// Creates an active user and an API token for it.
    pub async fn create_user(&self, email: &str) -> TestUser {
        let store = &self.store;
        let id = jt_store::users::create_user(
            store,
            &jt_store::users::Email::parse(email).expect("email"),
            &jt_store::password::Password::parse("correct horse battery").expect("password"),
            jt_store::users::Role::User,
        )
        .await
        .expect("create user");
        let mut tx = store.tenant(id).await.expect("tenant tx");
        let token = jt_store::api_tokens::create_api_token(&mut tx, "tests")
            .await
            .expect("token")
            .token;
        tx.commit().await.expect("commit");
        TestUser { id, token }
    }

    /// An API request with the user's bearer token.
    pub fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &TestUser,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&user.token)
    }

    /// `POST /api/v1/recorders`.
    pub async fn post_recorder(
        &self,
        user: &TestUser,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.api(reqwest::Method::POST, "/api/v1/recorders", user)
            .json(&body)
            .send()
            .await
            .expect("request failed")
    }

    /// Creates a recorder through the API and returns its JSON.
    pub async fn create_recorder(&self, user: &TestUser, name: &str) -> serde_json::Value {
        let response = self
            .post_recorder(user, serde_json::json!({ "name": name }))
            .await;
        assert_eq!(response.status(), 201, "create recorder");
        response.json().await.expect("recorder json")
    }
}

impl TestApp {
    /// `POST` a TradingView-style body to a webhook URL (TradingView sends JSON as text/plain
    /// unless the message is valid JSON).
    pub async fn post_webhook(&self, webhook_url: &str, body: &str) -> reqwest::Response {
        self.client
            .post(webhook_url)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.to_owned())
            .send()
            .await
            .expect("request failed")
    }

    /// `GET` an API path as JSON, asserting 200.
    pub async fn api_json(&self, user: &TestUser, path: &str) -> serde_json::Value {
        let response = self
            .api(reqwest::Method::GET, path, user)
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }
}

impl TestApp {
    /// `PATCH /api/v1/recorders/{id}`.
    pub async fn patch_recorder(
        &self,
        user: &TestUser,
        id: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.api(
            reqwest::Method::PATCH,
            &format!("/api/v1/recorders/{id}"),
            user,
        )
        .json(&body)
        .send()
        .await
        .expect("request failed")
    }

    /// `POST /api/v1/recorders/{id}/regenerate-url`, returning the recorder JSON.
    pub async fn regenerate_url(&self, user: &TestUser, id: &str) -> serde_json::Value {
        let path = format!("/api/v1/recorders/{id}/regenerate-url");
        let response = self
            .api(reqwest::Method::POST, &path, user)
            .send()
            .await
            .expect("request failed");
        assert_eq!(response.status(), 200, "POST {path}");
        response.json().await.expect("json")
    }
}
