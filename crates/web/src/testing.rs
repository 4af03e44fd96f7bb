//! `spawn_app()`: the real router on a real port, over a fresh test database.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use jt_store::Store;
use jt_store::ingest::{IngestConfig, Ingestor};
use jt_store::testing::TestDb;
use reqwest::header;
use tokio::sync::oneshot;

use crate::auth::{AuthLimits, SESSION_COOKIE};
use crate::client_ip::TrustedProxies;
use crate::metrics::endpoint::MetricsConfig;
use crate::{AppState, Application, ServerLimits, WebConfig};

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
    /// The server's ingestor (to see how many signals are in flight).
    pub ingest: Ingestor,
    db: Option<TestDb>,
    shutdown: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts the app on port 0 with its own fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_auth_limits(AuthLimits::default()).await
}

/// [`spawn_app`] with other log-in and sign-up limits (to reach them in a few requests).
pub async fn spawn_app_with_auth_limits(auth: AuthLimits) -> TestApp {
    spawn_app_with(TestSettings {
        auth,
        ..TestSettings::default()
    })
    .await
}

/// [`spawn_app`] with other ingest settings (batching, admission limits).
pub async fn spawn_app_with_ingest(ingest: IngestConfig) -> TestApp {
    spawn_app_with(TestSettings {
        ingest,
        ..TestSettings::default()
    })
    .await
}

/// [`spawn_app`] with other server timeouts and caps (small ones, to reach them quickly).
pub async fn spawn_app_with_server_limits(server: ServerLimits) -> TestApp {
    spawn_app_with(TestSettings {
        server,
        ..TestSettings::default()
    })
    .await
}

/// [`spawn_app`] with these limits, trusting `X-Forwarded-For` from these proxies (tests
/// trust 127.0.0.1 to play clients from many addresses, see [`TestApp::browser_from`]).
pub async fn spawn_app_behind_proxy(auth: AuthLimits, trusted_proxies: TrustedProxies) -> TestApp {
    spawn_app_with(TestSettings {
        auth,
        trusted_proxies,
        ..TestSettings::default()
    })
    .await
}

/// Limits a test may change; the rest stay at their defaults.
#[derive(Debug, Clone, Default)]
pub struct TestSettings {
    /// Log-in and sign-up attempt limits.
    pub auth: AuthLimits,
    /// Ingest batching and admission.
    pub ingest: IngestConfig,
    /// Server timeouts and caps.
    pub server: ServerLimits,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Who may scrape `/metrics`.
    pub metrics: MetricsConfig,
    /// Where brokers are (e.g. a fake Tradovate).
    pub execution: jt_jobs::ExecutorConfig,
}

/// [`spawn_app`] with `/metrics` guarded or moved as `metrics` says.
pub async fn spawn_app_with_metrics(metrics: MetricsConfig) -> TestApp {
    spawn_app_with(TestSettings {
        metrics,
        ..TestSettings::default()
    })
    .await
}

/// [`spawn_app`] with other settings.
pub async fn spawn_app_with(settings: TestSettings) -> TestApp {
    let db = TestDb::new().await;
    let mut app = spawn(db.store.clone(), settings).await;
    app.db = Some(db);
    app
}

/// Starts the app on port 0 over a store the test provides (e.g. on a cluster it will stop).
pub async fn spawn_app_with_store(store: Store) -> TestApp {
    spawn(store, TestSettings::default()).await
}

/// [`spawn_app`] with brokers at these URLs (e.g. a fake Tradovate), for broker accounts.
pub async fn spawn_app_with_execution(execution: jt_jobs::ExecutorConfig) -> TestApp {
    spawn_app_with(TestSettings {
        execution,
        ..TestSettings::default()
    })
    .await
}

/// Logs to stderr when `TEST_LOG` is set (filter from `RUST_LOG`), once per test binary.
pub fn init_test_tracing() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

async fn spawn(store: Store, settings: TestSettings) -> TestApp {
    init_test_tracing();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    let config = WebConfig {
        base_url: address.clone(),
        secret_key: jt_store::SecretKey::from_bytes(TEST_SECRET_KEY.to_vec()).expect("test key"),
        trusted_proxies: settings.trusted_proxies,
    };
    let state = AppState::with_ingest(store.clone(), config, settings.ingest)
        .with_auth_limits(settings.auth)
        .with_metrics(settings.metrics)
        .with_execution(settings.execution);
    let ingest = state.ingest.clone();
    let app = Application::from_listener(listener, state).with_limits(settings.server);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        ingest,
        db: None,
        shutdown,
        served,
    }
}

impl TestApp {
    /// Shuts the server down gracefully and waits until it has finished; returns the test
    /// database (still usable) for apps from [`spawn_app`].
    pub async fn stop(self) -> Option<TestDb> {
        let _ = self.shutdown.send(());
        self.served
            .await
            .expect("server task")
            .expect("server stopped cleanly");
        self.db
    }

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

    /// A new browser: its own cookies, no redirects followed.
    pub fn browser(&self) -> TestBrowser {
        self.new_browser(header::HeaderMap::new())
    }

    /// A new browser whose requests arrive through a proxy saying they come from `ip`
    /// (`X-Forwarded-For`; believed only by apps from [`spawn_app_behind_proxy`]).
    pub fn browser_from(&self, ip: std::net::IpAddr) -> TestBrowser {
        let mut headers = header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            header::HeaderValue::from_str(&ip.to_string()).expect("an IP is a header value"),
        );
        self.new_browser(headers)
    }

    fn new_browser(&self, headers: header::HeaderMap) -> TestBrowser {
        TestBrowser {
            address: self.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .expect("test client"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }
}

/// A browser for the session-authenticated pages: keeps the cookies the server sets (the
/// session, and the anonymous CSRF cookie) and does not follow redirects, so tests see the
/// 303s. Form helpers fetch a fresh CSRF token first, like a person loading the page.
pub struct TestBrowser {
    address: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl TestBrowser {
    /// The session cookie's current value, if the browser holds one.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie(SESSION_COOKIE)
    }

    /// Replaces the session cookie (e.g. to replay an old one).
    pub fn set_session_cookie(&self, value: Option<String>) {
        self.set_cookie(SESSION_COOKIE, value);
    }

    /// A cookie's current value, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookie lock").get(name).cloned()
    }

    /// Sets (`Some`) or removes (`None`) a cookie.
    pub fn set_cookie(&self, name: &str, value: Option<String>) {
        let mut cookies = self.cookies.lock().expect("cookie lock");
        match value {
            Some(value) => cookies.insert(name.to_owned(), value),
            None => cookies.remove(name),
        };
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
        let cookies = self
            .cookies
            .lock()
            .expect("cookie lock")
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookies)
        };
        let response = request.send().await.expect("request failed");
        self.keep_cookies(&response);
        response
    }

    /// Applies each `Set-Cookie`: a new value, or removal (empty value or `Max-Age=0`).
    fn keep_cookies(&self, response: &reqwest::Response) {
        for set_cookie in response.headers().get_all(header::SET_COOKIE) {
            let text = set_cookie.to_str().expect("ASCII Set-Cookie");
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let removed = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
            self.set_cookie(name.trim(), (!removed).then(|| value.to_owned()));
        }
    }
}

/// The body of a 200 response.
async fn html_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "expected a page");
    response.text().await.expect("body")
}

/// The href of the link whose text is `label` (the last such link), with the HTML escapes
/// of `&` undone: where a browser would go when it is clicked.
pub fn link_labelled(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!("\">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The value of the hidden `csrf_token` field in a page.
pub fn csrf_token_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    let end = html[start..].find('"').expect("end of the token") + start;
    html[start..end].to_owned()
}

/// The password of every user the helpers create.
pub const TEST_PASSWORD: &str = "correct horse battery";

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
            &jt_store::password::Password::parse(TEST_PASSWORD).expect("password"),
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

    /// Creates an active administrator (no API token).
    pub async fn create_admin(&self, email: &str) -> jt_store::UserId {
        jt_store::users::create_user(
            &self.store,
            &jt_store::users::Email::parse(email).expect("email"),
            &jt_store::password::Password::parse(TEST_PASSWORD).expect("password"),
            jt_store::users::Role::Admin,
        )
        .await
        .expect("create admin")
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
