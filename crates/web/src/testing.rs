//! `spawn_app()`: the real router on a real port, over a fresh test database.

use std::net::SocketAddr;

use jt_store::Store;
use jt_store::testing::TestDb;
use tokio::sync::oneshot;

use crate::{AppState, Application, WebConfig};

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
    let db = TestDb::new().await;
    let mut app = spawn_app_with_store(db.store.clone()).await;
    app.db = Some(db);
    app
}

/// Starts the app on port 0 over a store the test provides (e.g. on a cluster it will stop).
pub async fn spawn_app_with_store(store: Store) -> TestApp {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("local addr"));
    let config = WebConfig {
        base_url: address.clone(),
        secret_key: jt_store::SecretKey::from_bytes(
            b"web-test-secret-key-0123456789abcdef".to_vec(),
        )
        .expect("test key"),
    };
    let app = Application::from_listener(listener, AppState::new(store.clone(), config));
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
