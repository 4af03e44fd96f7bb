//! One user's execution as the admin console shows it (read-only): broker accounts with
//! their connection and verification state, orders by state, recent failed orders, open
//! discrepancies. Each query is bounded by the user's index entries or a small limit.

use chrono::{DateTime, Utc};

use crate::admin::execution_health::DiscrepancyRow;
use crate::broker_accounts::{AccountKind, AccountStatus, Environment};
use crate::orders::OrderStatus;
use crate::{AdminTx, BrokerAccountId, StoreError, UserId};

/// How many failed, rejected or expired orders the page lists.
pub const RECENT_FAILED: i64 = 20;
/// How many open discrepancies the page lists at most.
pub const OPEN_DISCREPANCIES: i64 = 100;

pub use crate::verification::VerificationStatus;

/// A broker account of the user, never with its credentials.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminBrokerAccount {
    /// Id.
    pub id: BrokerAccountId,
    /// The name the user gave it.
    pub name: String,
    /// Paper or Tradovate.
    pub kind: AccountKind,
    /// Demo or live (Tradovate).
    pub environment: Option<Environment>,
    /// Connection status.
    pub status: AccountStatus,
    /// Why (the broker's or our words).
    pub status_message: Option<String>,
    /// The lock-out circuit is open until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Verification switched on.
    pub verification_enabled: bool,
    /// The latest verification's outcome, if it ever ran.
    pub verification_status: Option<VerificationStatus>,
    /// When the broker last answered a verification.
    pub verification_checked_at: Option<DateTime<Utc>>,
    /// Since when the broker could not be reached, while it cannot.
    pub verification_unavailable_since: Option<DateTime<Utc>>,
}

/// Orders in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderStateCount {
    /// The state.
    pub status: OrderStatus,
    /// How many of the user's orders are in it.
    pub orders: i64,
}

/// An order that failed, was rejected or expired, with why.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailedOrder {
    /// Id.
    pub id: i64,
    /// The account's name.
    pub account_name: String,
    /// The signal that made it.
    pub signal_id: i64,
    /// Contract.
    pub contract: String,
    /// `buy` or `sell`.
    pub action: String,
    /// Contracts.
    pub quantity: i64,
    /// Rejected, failed or expired.
    pub status: OrderStatus,
    /// The broker's words or ours.
    pub error: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Everything of the user's execution the console shows.
#[derive(Debug, Clone)]
pub struct UserExecution {
    /// Broker accounts, oldest first.
    pub accounts: Vec<AdminBrokerAccount>,
    /// Orders by state, every state.
    pub order_states: Vec<OrderStateCount>,
    /// The newest failed, rejected or expired orders.
    pub failed_orders: Vec<FailedOrder>,
    /// Open discrepancies.
    pub discrepancies: Vec<DiscrepancyRow>,
}

/// Reads [`UserExecution`].
pub async fn load_user_execution(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<UserExecution, StoreError> {
    Ok(UserExecution {
        accounts: broker_accounts(tx, user).await?,
        order_states: order_counts(tx, user).await?,
        failed_orders: recent_failed_orders(tx, user).await?,
        discrepancies: open_discrepancies(tx, user).await?,
    })
}

/// The user's broker accounts, oldest first, with their latest verification.
pub async fn broker_accounts(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<AdminBrokerAccount>, StoreError> {
    Ok(sqlx::query_as(
        "select a.id, a.name, a.kind, a.environment, a.status, a.status_message, a.locked_until,
                a.verification_enabled, v.status as verification_status,
                v.checked_at as verification_checked_at,
                v.unavailable_since as verification_unavailable_since
         from broker_accounts a left join account_verifications v on v.account_id = a.id
         where a.user_id = $1
         order by a.created_at, a.id",
    )
    .bind(user)
    .fetch_all(tx.conn())
    .await?)
}

/// How many of the user's orders are in each state, every state listed (zeros included),
/// in the order of an order's life (an index-only scan: see `admin_order_states`).
pub async fn order_counts(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<OrderStateCount>, StoreError> {
    let counted: Vec<(OrderStatus, i64)> =
        sqlx::query_as("select status, orders from admin_order_states($1, null)")
            .bind(user)
            .fetch_all(tx.conn())
            .await?;
    Ok(every_state(&counted)
        .into_iter()
        .map(|(status, orders)| OrderStateCount { status, orders })
        .collect())
}

/// Counts for every state in the order of an order's life, zero where none were counted.
pub(crate) fn every_state(counted: &[(OrderStatus, i64)]) -> Vec<(OrderStatus, i64)> {
    OrderStatus::ALL
        .into_iter()
        .map(|status| {
            let count = counted.iter().find(|(s, _)| *s == status);
            (status, count.map_or(0, |(_, n)| *n))
        })
        .collect()
}

/// The user's newest failed, rejected or expired orders (at most [`RECENT_FAILED`]).
pub async fn recent_failed_orders(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<FailedOrder>, StoreError> {
    // Walks the partial index orders_user_problems.
    Ok(sqlx::query_as(
        "select o.id, a.name as account_name, o.signal_id, o.contract, o.action, o.quantity,
                o.status, o.error, o.created_at, o.finished_at
         from orders o join broker_accounts a on a.id = o.account_id
         where o.user_id = $1 and o.status in ('rejected', 'failed', 'expired')
         order by o.id desc limit $2",
    )
    .bind(user)
    .bind(RECENT_FAILED)
    .fetch_all(tx.conn())
    .await?)
}

/// The user's open discrepancies, the most recently seen first.
pub async fn open_discrepancies(
    tx: &mut AdminTx,
    user: UserId,
) -> Result<Vec<DiscrepancyRow>, StoreError> {
    Ok(sqlx::query_as(
        "select d.user_id, u.email, a.name as account_name, d.contract, d.expected, d.actual,
                d.first_seen, d.last_seen
         from discrepancies d
         join users u on u.id = d.user_id
         join broker_accounts a on a.id = d.account_id
         where d.user_id = $1 and d.closed_at is null
         order by d.last_seen desc, d.id desc limit $2",
    )
    .bind(user)
    .bind(OPEN_DISCREPANCIES)
    .fetch_all(tx.conn())
    .await?)
}
