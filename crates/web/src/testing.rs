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
    let app = Application::from_listener(listener, AppState::new(store, config));
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
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
