//! `spawn_app()`: the real router on a real port, over a fresh test database.

use std::net::SocketAddr;

use jt_store::testing::TestDb;
use tokio::sync::oneshot;

use crate::{AppState, Application};

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    /// The test's database (its store is the one the server uses).
    pub db: TestDb,
    /// A client without redirects or cookies of its own.
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

/// Starts the app on port 0 with its own database; stops when the `TestApp` is dropped.
pub async fn spawn_app() -> TestApp {
    let db = TestDb::new().await;
    let state = AppState {
        store: db.store.clone(),
    };
    let app = Application::bind(SocketAddr::from(([127, 0, 0, 1], 0)), state)
        .await
        .expect("bind port 0");
    let address = format!("http://{}", app.local_addr().expect("local addr"));
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        db,
        client: reqwest::Client::new(),
        _shutdown: tx,
    }
}

impl TestApp {
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
