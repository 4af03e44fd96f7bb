//! Execution as the admin health page sees it, all users together: jobs waiting and
//! running, orders of the last hour by state, broker trouble of the last hour, accounts
//! locked out now, open discrepancies. Every query reads an index range (the last hour, the
//! unfinished jobs, the open discrepancies), never a whole table.

use chrono::{DateTime, Utc};

use crate::job_queue::{QueueDepth, queue_depths};
use crate::orders::OrderStatus;
use crate::{AdminTx, StoreError, UserId};

/// How many rows each list on the page shows at most.
pub const LIST_LIMIT: i64 = 20;

/// Everything of execution the health page shows.
#[derive(Debug, Clone)]
pub struct ExecutionHealth {
    /// Unfinished jobs per queue.
    pub queues: Vec<QueueDepth>,
    /// Orders queued in the last hour, by state now.
    pub orders_last_hour: Vec<(OrderStatus, i64)>,
    /// Broker trouble of the last hour.
    pub trouble: BrokerTrouble,
    /// The newest failed, rejected or expired orders of the last hour.
    pub troubled_orders: Vec<TroubledOrder>,
    /// How many accounts are locked out now.
    pub locked_out_count: i64,
    /// The first of them.
    pub locked_out: Vec<LockedOutAccount>,
    /// How many discrepancies are open.
    pub discrepancies_open: i64,
    /// The most recently seen of them.
    pub discrepancies: Vec<DiscrepancyRow>,
}

/// Reads [`ExecutionHealth`].
pub async fn load_execution_health(tx: &mut AdminTx) -> Result<ExecutionHealth, StoreError> {
    let (locked_out_count, locked_out) = locked_out_accounts(tx).await?;
    let (discrepancies_open, discrepancies) = open_discrepancies(tx).await?;
    Ok(ExecutionHealth {
        queues: job_queues(tx).await?,
        orders_last_hour: orders_last_hour(tx).await?,
        trouble: broker_trouble_last_hour(tx).await?,
        troubled_orders: recent_troubled_orders(tx).await?,
        locked_out_count,
        locked_out,
        discrepancies_open,
        discrepancies,
    })
}

/// Unfinished jobs per queue, all processes.
pub async fn job_queues(tx: &mut AdminTx) -> Result<Vec<QueueDepth>, StoreError> {
    queue_depths(tx.conn()).await
}

/// Orders queued in the last hour, by their state now; every state listed (an index-only
/// scan: see `admin_order_states`).
pub async fn orders_last_hour(tx: &mut AdminTx) -> Result<Vec<(OrderStatus, i64)>, StoreError> {
    let counted: Vec<(OrderStatus, i64)> = sqlx::query_as(
        "select status, orders from admin_order_states(null, now() - interval '1 hour')",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(super::user_execution::every_state(&counted))
}

/// Broker trouble of the last hour.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct BrokerTrouble {
    /// Orders the broker refused (final).
    pub rejected: i64,
    /// Orders that failed for another reason (final).
    pub failed: i64,
    /// Orders not sent within their max delay.
    pub expired: i64,
    /// Sends put back to retry (timeouts, 5xx, penalties, lock-outs).
    pub retries: i64,
}

/// Counts of [`BrokerTrouble`] over the last hour (orders by when they ended).
pub async fn broker_trouble_last_hour(tx: &mut AdminTx) -> Result<BrokerTrouble, StoreError> {
    // Both read small partial indexes: orders_problems_finished, order_events_retry_at.
    Ok(sqlx::query_as(
        "select count(*) filter (where status = 'rejected') as rejected,
                count(*) filter (where status = 'failed') as failed,
                count(*) filter (where status = 'expired') as expired,
                (select count(*) from order_events
                 where status = 'retry' and at >= now() - interval '1 hour') as retries
         from orders
         where status in ('rejected', 'failed', 'expired')
           and finished_at >= now() - interval '1 hour'",
    )
    .fetch_one(tx.conn())
    .await?)
}

/// A failed, rejected or expired order of any user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TroubledOrder {
    /// Order id.
    pub id: i64,
    /// Its owner.
    pub user_id: UserId,
    /// The owner's e-mail.
    pub email: String,
    /// The account's name.
    pub account_name: String,
    /// Rejected, failed or expired.
    pub status: OrderStatus,
    /// Why.
    pub error: Option<String>,
    /// Ended.
    pub finished_at: DateTime<Utc>,
}

/// The newest failed, rejected or expired orders of the last hour (at most [`LIST_LIMIT`]).
pub async fn recent_troubled_orders(tx: &mut AdminTx) -> Result<Vec<TroubledOrder>, StoreError> {
    Ok(sqlx::query_as(
        "select o.id, o.user_id, u.email, a.name as account_name, o.status, o.error,
                o.finished_at
         from orders o
         join users u on u.id = o.user_id
         join broker_accounts a on a.id = o.account_id
         where o.status in ('rejected', 'failed', 'expired')
           and o.finished_at >= now() - interval '1 hour'
         order by o.finished_at desc, o.id desc limit $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(tx.conn())
    .await?)
}

/// A broker account whose lock-out circuit is open.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedOutAccount {
    /// Its owner.
    pub user_id: UserId,
    /// The owner's e-mail.
    pub email: String,
    /// The account's name.
    pub account_name: String,
    /// Nothing is sent to the broker before then.
    pub locked_until: DateTime<Utc>,
    /// The broker's words.
    pub status_message: Option<String>,
}

/// Accounts locked out now, all users, and the first [`LIST_LIMIT`] of them (soonest to
/// reopen first).
pub async fn locked_out_accounts(
    tx: &mut AdminTx,
) -> Result<(i64, Vec<LockedOutAccount>), StoreError> {
    let count: i64 =
        sqlx::query_scalar("select count(*) from broker_accounts where locked_until > now()")
            .fetch_one(tx.conn())
            .await?;
    let accounts = sqlx::query_as(
        "select a.user_id, u.email, a.name as account_name, a.locked_until, a.status_message
         from broker_accounts a join users u on u.id = a.user_id
         where a.locked_until > now()
         order by a.locked_until, a.id limit $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(tx.conn())
    .await?;
    Ok((count, accounts))
}

/// An open discrepancy with its owner (health page: any user's; user page: theirs).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscrepancyRow {
    /// Its owner.
    pub user_id: UserId,
    /// The owner's e-mail.
    pub email: String,
    /// The account's name.
    pub account_name: String,
    /// Contract.
    pub contract: String,
    /// Net position the signals say.
    pub expected: i64,
    /// Net position at the broker.
    pub actual: i64,
    /// First seen differing.
    pub first_seen: DateTime<Utc>,
    /// Last seen differing.
    pub last_seen: DateTime<Utc>,
}

/// Open discrepancies, all users: how many, and the [`LIST_LIMIT`] most recently seen.
pub async fn open_discrepancies(
    tx: &mut AdminTx,
) -> Result<(i64, Vec<DiscrepancyRow>), StoreError> {
    let count: i64 =
        sqlx::query_scalar("select count(*) from discrepancies where closed_at is null")
            .fetch_one(tx.conn())
            .await?;
    let rows = sqlx::query_as(
        "select d.user_id, u.email, a.name as account_name, d.contract, d.expected, d.actual,
                d.first_seen, d.last_seen
         from discrepancies d
         join users u on u.id = d.user_id
         join broker_accounts a on a.id = d.account_id
         where d.closed_at is null
         order by d.last_seen desc, d.id desc limit $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(tx.conn())
    .await?;
    Ok((count, rows))
}
