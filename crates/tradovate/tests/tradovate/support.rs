//! A fake on port 0 and a client logged in as one user.

use std::net::SocketAddr;
use std::time::Duration;

use jt_tradovate::fake::{FakeConfig, FakeTradovate};
use jt_tradovate::model::{Account, OrderAction, PlaceOrder};
use jt_tradovate::{ClientConfig, Credentials, TradovateClient};

pub async fn start_fake(config: FakeConfig) -> FakeTradovate {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind port 0");
    FakeTradovate::start(listener, config).expect("start the fake")
}

pub fn credentials(username: &str) -> Credentials {
    Credentials {
        username: username.to_owned(),
        password: "demo-password".to_owned(),
        app_id: "Just.Trades".to_owned(),
        cid: "8".to_owned(),
        sec: "secret".to_owned(),
        device_id: None,
    }
}

/// Short timeouts so hangs are seen fast.
pub fn test_config() -> ClientConfig {
    ClientConfig {
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

pub fn client_for(fake: &FakeTradovate, username: &str, config: ClientConfig) -> TradovateClient {
    TradovateClient::new(&fake.base_url(), credentials(username), config).expect("client")
}

/// A logged-in client and its account.
pub async fn logged_in(fake: &FakeTradovate, username: &str) -> (TradovateClient, Account) {
    let client = client_for(fake, username, test_config());
    let accounts = client.list_accounts().await.expect("account list");
    assert_eq!(accounts.len(), 1, "one account per fake login");
    (client, accounts[0].clone())
}

pub fn market_order(account: &Account, cl_ord_id: &str, qty: i64) -> PlaceOrder {
    PlaceOrder {
        account_spec: account.name.clone(),
        account_id: account.id,
        cl_ord_id: Some(cl_ord_id.to_owned()),
        action: OrderAction::Buy,
        symbol: "NQZ6".to_owned(),
        order_qty: qty,
        order_type: "Market".to_owned(),
        is_automated: true,
    }
}
