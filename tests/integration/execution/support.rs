//! One user with a recorder, a fake Tradovate, a test clock and an executor on them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jt_jobs::{BrokerUrls, Executor, ExecutorConfig, TestClock};
use jt_store::account_links::{LinkSettings, create_link};
use jt_store::broker_accounts::{Environment, NewAccount, create_account};
use jt_store::orders::{OrderIntent, OrderRow, enqueue_orders, list_account_orders};
use jt_store::{BrokerAccountId, BrokerCredentials, RecorderId, SecretKey};
use jt_tradovate::ClientConfig;
use jt_tradovate::fake::{FakeConfig, FakeTradovate};
use jt_web::testing::{TEST_SECRET_KEY, TestApp, TestUser, spawn_app_with_execution};

pub struct Execution {
    pub app: TestApp,
    pub user: TestUser,
    pub recorder: RecorderId,
    pub webhook_url: String,
    pub fake: FakeTradovate,
    pub clock: Arc<TestClock>,
    pub key: SecretKey,
}

pub async fn set_up() -> Execution {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let fake = FakeTradovate::start(listener, FakeConfig::default()).unwrap();
    let app = spawn_app_with_execution(executor_config(&fake)).await;
    let user = app.create_user("exec@example.com").await;
    let recorder = app.create_recorder(&user, "NQ strategy").await;
    Execution {
        recorder: recorder["id"].as_str().unwrap().parse().unwrap(),
        webhook_url: recorder["webhook_url"].as_str().unwrap().to_owned(),
        app,
        user,
        fake,
        clock: Arc::new(TestClock::new()),
        key: SecretKey::from_bytes(TEST_SECRET_KEY.to_vec()).unwrap(),
    }
}

impl Execution {
    pub fn executor_config(&self) -> ExecutorConfig {
        executor_config(&self.fake)
    }

    /// An executor on the test clock.
    pub fn executor(&self) -> Executor {
        Executor::new(
            self.app.store.clone(),
            self.key.clone(),
            self.clock.clone(),
            self.executor_config(),
        )
    }

    pub async fn paper_account(&self, name: &str) -> BrokerAccountId {
        self.account(name, &NewAccount::Paper).await
    }

    /// A Tradovate demo account whose login is `username` at the fake.
    pub async fn tradovate_account(&self, username: &str) -> BrokerAccountId {
        let new = NewAccount::Tradovate {
            environment: Environment::Demo,
            credentials: BrokerCredentials {
                username: username.to_owned(),
                password: "demo-password".to_owned(),
                app_id: "Just.Trades".to_owned(),
                cid: "8".to_owned(),
                sec: "secret".to_owned(),
                device_id: None,
            },
            broker_account: None,
        };
        self.account(username, &new).await
    }

    async fn account(&self, name: &str, new: &NewAccount) -> BrokerAccountId {
        let mut tx = self.app.store.tenant(self.user.id).await.unwrap();
        let account = create_account(&mut tx, &self.key, name, new).await.unwrap();
        tx.commit().await.unwrap();
        account.id
    }

    pub async fn link(&self, account: BrokerAccountId, settings: LinkSettings) {
        let mut tx = self.app.store.tenant(self.user.id).await.unwrap();
        create_link(&mut tx, self.recorder, account, &settings)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Posts a signal to the webhook and queues its orders as ingest will: `delta` in
    /// `contract`, in a tenant transaction. Returns the signal id.
    pub async fn signal(&self, body: &str, contract: &str, delta: i64) -> i64 {
        let intent = self.accepted(body, contract, delta).await;
        let signal_id = intent.signal_id;
        self.enqueue(&[intent]).await;
        signal_id
    }

    /// Posts a signal to the webhook; returns the order intent ingest would make of it.
    pub async fn accepted(&self, body: &str, contract: &str, delta: i64) -> OrderIntent {
        let response = self.app.post_webhook(&self.webhook_url, body).await;
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["status"], "accepted", "{answer}");
        let signal_id = answer["signal_id"].as_i64().unwrap();
        let price = answer["position"]["last_price"]
            .as_str()
            .map(|p| p.parse().unwrap());
        OrderIntent {
            recorder_id: self.recorder,
            signal_id,
            contract: contract.to_owned(),
            delta,
            price,
        }
    }

    pub async fn enqueue(&self, intents: &[OrderIntent]) -> u64 {
        let mut tx = self.app.store.tenant(self.user.id).await.unwrap();
        let queued = enqueue_orders(tx.conn(), intents).await.unwrap();
        tx.commit().await.unwrap();
        queued
    }

    /// The account's orders, oldest first.
    pub async fn orders(&self, account: BrokerAccountId) -> Vec<OrderRow> {
        let mut tx = self.app.store.tenant(self.user.id).await.unwrap();
        let (mut rows, _) = list_account_orders(&mut tx, account, 1000, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        rows.reverse();
        rows
    }
}

/// The fake for both environments, short timeouts.
fn executor_config(fake: &FakeTradovate) -> ExecutorConfig {
    ExecutorConfig {
        urls: BrokerUrls {
            demo: fake.base_url(),
            live: fake.base_url(),
        },
        client: ClientConfig {
            request_timeout: Duration::from_millis(400),
            connect_timeout: Duration::from_millis(400),
            ..ClientConfig::default()
        },
        max_backoff: Duration::from_secs(5),
    }
}

/// A buy of `quantity` NQZ6 at `price`, as TradingView would send it.
pub fn buy(quantity: i64, price: &str) -> String {
    format!(r#"{{"action":"buy","ticker":"NQZ6","quantity":{quantity},"price":"{price}"}}"#)
}

/// A sell of `quantity` NQZ6 at `price`.
pub fn sell(quantity: i64, price: &str) -> String {
    format!(r#"{{"action":"sell","ticker":"NQZ6","quantity":{quantity},"price":"{price}"}}"#)
}
