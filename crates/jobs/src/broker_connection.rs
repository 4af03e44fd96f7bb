//! Reaching a stored account's broker: base URLs and timeouts, a client made from the sealed
//! credentials, and the connection test (log in, pick the broker account, record the status).

use std::time::Duration;

use jt_store::broker_accounts::{
    AccountKind, BrokerAccount, ConnectionOutcome, Environment, account_credentials, get_account,
    record_connection,
};
use jt_store::{BrokerAccountId, SecretKey, Store, StoreError, UserId};
use jt_tradovate::{ClientConfig, Credentials, ErrorClass, TradovateClient, TradovateError};

/// Where the Tradovate servers are (overridable to point at the fake).
#[derive(Debug, Clone)]
pub struct BrokerUrls {
    /// Demo REST base URL.
    pub demo: String,
    /// Live REST base URL.
    pub live: String,
}

impl Default for BrokerUrls {
    fn default() -> Self {
        Self {
            demo: jt_tradovate::DEMO_URL.to_owned(),
            live: jt_tradovate::LIVE_URL.to_owned(),
        }
    }
}

impl BrokerUrls {
    /// The base URL of an environment.
    pub fn of(&self, environment: Environment) -> &str {
        match environment {
            Environment::Demo => &self.demo,
            Environment::Live => &self.live,
        }
    }
}

/// How the executor talks to brokers.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Tradovate base URLs.
    pub urls: BrokerUrls,
    /// Client timeouts.
    pub client: ClientConfig,
    /// Longest wait between retries of one order.
    pub max_backoff: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            urls: BrokerUrls::default(),
            client: ClientConfig::default(),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A Tradovate client for a stored account.
pub async fn new_client(
    store: &Store,
    key: &SecretKey,
    config: &ExecutorConfig,
    user: UserId,
    broker: &BrokerAccount,
) -> Result<TradovateClient, ConnectError> {
    let environment = broker.environment.ok_or(ConnectError::Paper)?;
    let mut tx = store.tenant(user).await?;
    let stored = account_credentials(&mut tx, key, broker.id).await?;
    tx.commit().await?;
    let credentials = Credentials {
        username: stored.username,
        password: stored.password,
        app_id: stored.app_id,
        cid: stored.cid,
        sec: stored.sec,
        device_id: stored.device_id,
    };
    Ok(TradovateClient::new(
        config.urls.of(environment),
        credentials,
        config.client.clone(),
    )?)
}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Paper accounts have no broker.
    #[error("a paper account has no broker to connect to")]
    Paper,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client could not be built.
    #[error(transparent)]
    Tradovate(#[from] TradovateError),
}

/// Logs in and picks the broker account (`wanted`, or the only one).
pub async fn connect(
    client: &TradovateClient,
    wanted: Option<&str>,
) -> Result<ConnectionOutcome, TradovateError> {
    let token = client.connect().await?;
    let accounts = client.list_accounts().await?;
    let chosen = match wanted {
        Some(name) => accounts.iter().find(|a| a.name == name),
        None if accounts.len() == 1 => accounts.first(),
        None => None,
    };
    Ok(match chosen {
        Some(account) => ConnectionOutcome::Connected {
            token_valid_until: Some(token.expires_at),
            broker_account_name: account.name.clone(),
            broker_account_id: account.id,
        },
        None => {
            let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
            ConnectionOutcome::Failed(format!(
                "choose the broker account: this login has {} ({})",
                names.len(),
                names.join(", ")
            ))
        }
    })
}

/// Until when a lock-out met at `now` lasts: the time the broker asked for, or
/// [`jt_tradovate::LOCK_OUT`] when it named none. Nothing goes to the broker before.
pub(crate) fn lock_out_until(
    error: &TradovateError,
    now: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    let wait = error.retry_after().unwrap_or(jt_tradovate::LOCK_OUT);
    now + chrono::Duration::from_std(wait).unwrap_or_default()
}

/// Logs in with a stored account's credentials, picks its broker account and records the
/// outcome (status, token validity, lock-out) on it; paper accounts are always connected.
pub async fn test_connection(
    store: &Store,
    key: &SecretKey,
    config: &ExecutorConfig,
    user: UserId,
    account: BrokerAccountId,
) -> Result<BrokerAccount, StoreError> {
    let mut tx = store.tenant(user).await?;
    let broker = get_account(&mut tx, account).await?;
    tx.commit().await?;
    if broker.kind == AccountKind::Paper {
        return Ok(broker);
    }
    let outcome = match new_client(store, key, config, user, &broker).await {
        Err(ConnectError::Store(error)) => return Err(error),
        Err(error) => ConnectionOutcome::Failed(error.to_string()),
        Ok(client) => match connect(&client, broker.broker_account_name.as_deref()).await {
            Ok(outcome) => outcome,
            Err(error) if error.class() == ErrorClass::LockedOut => ConnectionOutcome::LockedOut {
                until: lock_out_until(&error, chrono::Utc::now()),
                message: error.to_string(),
            },
            Err(error) => ConnectionOutcome::Failed(error.to_string()),
        },
    };
    let mut tx = store.tenant(user).await?;
    record_connection(&mut tx, account, &outcome, chrono::Utc::now()).await?;
    let updated = get_account(&mut tx, account).await?;
    tx.commit().await?;
    Ok(updated)
}
