//! Broker accounts orders go to: the built-in paper account, or a Tradovate login (demo or
//! live) with its credentials sealed at rest (see `broker_credentials`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::broker_credentials::{open, seal};
use crate::error::violated_constraint;
use crate::{BrokerAccountId, BrokerCredentials, SecretKey, StoreError, TenantTx};

/// Paper or Tradovate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// Built-in: fills every order at the signal price.
    Paper,
    /// A Tradovate account.
    Tradovate,
}

/// Which Tradovate server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// demo.tradovateapi.com
    Demo,
    /// live.tradovateapi.com
    Live,
}

/// What we last learned about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Never tested.
    Unchecked,
    /// The last login worked.
    Connected,
    /// The last attempt failed (see the message).
    Error,
    /// The broker locked us out; nothing is sent before `locked_until`.
    LockedOut,
}

/// A broker account as stored (never with its credentials).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BrokerAccount {
    /// Id.
    pub id: BrokerAccountId,
    /// Paper or Tradovate.
    pub kind: AccountKind,
    /// Tradovate server (none for paper).
    pub environment: Option<Environment>,
    /// Name shown to the user.
    pub name: String,
    /// The account name at the broker.
    pub broker_account_name: Option<String>,
    /// The account id at the broker.
    pub broker_account_id: Option<i64>,
    /// Connection status.
    pub status: AccountStatus,
    /// Why the status is what it is.
    pub status_message: Option<String>,
    /// Until when the cached access token is valid.
    pub token_valid_until: Option<DateTime<Utc>>,
    /// The lock-out circuit is open until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last connection test or order.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Whether the broker's positions are checked against the signals' (SPEC §9).
    pub verification_enabled: bool,
    /// Seconds between checks.
    pub verification_interval_secs: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, kind, environment, name, broker_account_name, broker_account_id, \
    status, status_message, token_valid_until, locked_until, last_checked_at, \
    verification_enabled, verification_interval_secs, created_at";

/// What a new account is.
#[derive(Debug, Clone)]
pub enum NewAccount {
    /// The paper account.
    Paper,
    /// A Tradovate login; `broker_account` picks one of its accounts (optional when it has one).
    Tradovate {
        /// Demo or live.
        environment: Environment,
        /// The login.
        credentials: BrokerCredentials,
        /// The account name at the broker, if the user chose one.
        broker_account: Option<String>,
    },
}

/// A checked account name: trimmed, 1 to 100 characters.
pub fn parse_account_name(raw: &str) -> Result<String, StoreError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "the account name must be 1 to 100 characters".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// Creates an account (status `unchecked`; paper accounts are `connected` at once).
pub async fn create_account(
    tx: &mut TenantTx,
    key: &SecretKey,
    name: &str,
    new: &NewAccount,
) -> Result<BrokerAccount, StoreError> {
    let id = BrokerAccountId::new();
    let user = tx.user_id();
    let (kind, environment, credentials, broker_account, status) = match new {
        NewAccount::Paper => (
            AccountKind::Paper,
            None,
            None,
            Some("paper".to_owned()),
            AccountStatus::Connected,
        ),
        NewAccount::Tradovate {
            environment,
            credentials,
            broker_account,
        } => (
            AccountKind::Tradovate,
            Some(*environment),
            Some(seal(key, id, credentials)?),
            broker_account.clone(),
            AccountStatus::Unchecked,
        ),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into broker_accounts (id, user_id, kind, environment, name, credentials,
             broker_account_name, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
    )))
    .bind(id)
    .bind(user)
    .bind(kind)
    .bind(environment)
    .bind(name)
    .bind(credentials)
    .bind(broker_account)
    .bind(status)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("broker_accounts_user_name_key") => StoreError::Conflict(format!(
            "you already have an account named \"{name}\"; choose another name"
        )),
        _ => e.into(),
    })
}

/// The user's accounts, oldest first.
pub async fn list_accounts(tx: &mut TenantTx) -> Result<Vec<BrokerAccount>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from broker_accounts order by created_at, id"
    )))
    .fetch_all(tx.conn())
    .await?)
}

/// One account.
pub async fn get_account(
    tx: &mut TenantTx,
    id: BrokerAccountId,
) -> Result<BrokerAccount, StoreError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from broker_accounts where id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("account"))
}

/// The decrypted login of a Tradovate account (for the worker and the connection test only).
pub async fn account_credentials(
    tx: &mut TenantTx,
    key: &SecretKey,
    id: BrokerAccountId,
) -> Result<BrokerCredentials, StoreError> {
    let sealed: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("select credentials from broker_accounts where id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    match sealed {
        None => Err(StoreError::NotFound("account")),
        Some(None) => Err(StoreError::Invalid(
            "a paper account has no broker login".to_owned(),
        )),
        Some(Some(sealed)) => open(key, id, &sealed),
    }
}

/// Deletes an account with its links and order history.
pub async fn delete_account(tx: &mut TenantTx, id: BrokerAccountId) -> Result<(), StoreError> {
    get_account(tx, id).await?;
    sqlx::query(
        "with links as (delete from recorder_account_links where account_id = $1)
         delete from orders where account_id = $1",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query("delete from broker_accounts where id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The outcome of talking to the broker, recorded on the account.
#[derive(Debug, Clone)]
pub enum ConnectionOutcome {
    /// Logged in; the broker account resolved.
    Connected {
        /// Token expiry.
        token_valid_until: Option<DateTime<Utc>>,
        /// The account name at the broker.
        broker_account_name: String,
        /// The account id at the broker.
        broker_account_id: i64,
    },
    /// Failed (message for the user).
    Failed(String),
    /// Locked out until then.
    LockedOut {
        /// When sending may resume.
        until: DateTime<Utc>,
        /// Which lock-out.
        message: String,
    },
}

/// Stores what a connection test or an order learned about the account.
pub async fn record_connection(
    tx: &mut TenantTx,
    id: BrokerAccountId,
    outcome: &ConnectionOutcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let query = match outcome {
        ConnectionOutcome::Connected {
            token_valid_until,
            broker_account_name,
            broker_account_id,
        } => sqlx::query(
            "update broker_accounts set status = 'connected', status_message = null,
                 token_valid_until = $2, broker_account_name = $3, broker_account_id = $4,
                 locked_until = null, last_checked_at = $5
             where id = $1",
        )
        .bind(id)
        .bind(token_valid_until)
        .bind(broker_account_name)
        .bind(broker_account_id)
        .bind(now),
        ConnectionOutcome::Failed(message) => sqlx::query(
            "update broker_accounts set status = 'error', status_message = $2,
                 last_checked_at = $3
             where id = $1",
        )
        .bind(id)
        .bind(message)
        .bind(now),
        ConnectionOutcome::LockedOut { until, message } => sqlx::query(
            "update broker_accounts set status = 'locked_out', status_message = $2,
                 locked_until = $3, last_checked_at = $4
             where id = $1",
        )
        .bind(id)
        .bind(message)
        .bind(until)
        .bind(now),
    };
    query.execute(tx.conn()).await?;
    Ok(())
}
