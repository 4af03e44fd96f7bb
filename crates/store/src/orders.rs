//! Orders: made from accepted signals in the signal's own transaction ([`enqueue_orders`]),
//! then sent by the worker (`order_execution`), every state change stored with its time.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::paging::split_page;
use crate::{AdminTx, BrokerAccountId, RecorderId, StoreError, TenantTx, UserId};

/// The apalis queue (`apalis.jobs.job_type`) of the execution wake-ups; the worker listens
/// on the same name.
pub const EXECUTION_QUEUE: &str = "jt_execute_account";

/// One leg of an accepted signal to execute on every enabled link of its recorder.
///
/// A flip is one intent with the full delta; a roll may be two (exit in the held contract,
/// entry in the new one), in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderIntent {
    /// The recorder the signal belongs to.
    pub recorder_id: RecorderId,
    /// The accepted signal.
    pub signal_id: i64,
    /// Tradovate symbol, e.g. `NQZ6`.
    pub contract: String,
    /// Signed contracts: positive buys, negative sells (0 makes no order).
    pub delta: i64,
    /// The signal price (paper accounts fill at it).
    pub price: Option<Decimal>,
}

/// Queues one order per (intent, enabled link of its recorder) with quantity
/// |delta| × multiplier, and one wake-up job per account touched — in one statement.
///
/// Runs inside the caller's transaction, on a connection whose `app.user_id` is already the
/// intents' owner (all intents of a call belong to that user): row-level security limits the
/// links to that user's. Returns the number of orders queued. Idempotent: an intent already
/// queued (same signal, leg and link) is skipped.
pub async fn enqueue_orders(
    conn: &mut sqlx::PgConnection,
    intents: &[OrderIntent],
) -> Result<u64, StoreError> {
    if intents.is_empty() {
        return Ok(0);
    }
    // The same SQL as a group-commit batch uses, for the tenant of this transaction.
    let queued: i64 = sqlx::query_scalar(
        "select enqueue_batch_orders(
             jsonb_build_array(jsonb_build_object('user_id', app_user_id(), 'intents', $1::jsonb)),
             $2)",
    )
    .bind(sqlx::types::Json(intents))
    .bind(EXECUTION_QUEUE)
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(queued).unwrap_or_default())
}

/// Finishes the unsent orders of `user` if they are disabled (else does nothing), in the
/// admin's transaction: queued ones fail as "not sent: the user was disabled"; one whose
/// send went unanswered fails as "not sent again" (it may be at the broker) and is never
/// resent. Each gets a `failed` event. Returns how many (counted in `jt_orders_total`).
pub async fn stop_orders_if_disabled(tx: &mut AdminTx, user: UserId) -> Result<u64, StoreError> {
    let stopped: Option<i64> = sqlx::query_scalar(
        "select stop_orders_of_disabled_user(id) from users
         where id = $1 and status = 'disabled'",
    )
    .bind(user)
    .fetch_optional(tx.conn())
    .await?;
    let stopped = u64::try_from(stopped.unwrap_or_default()).unwrap_or_default();
    crate::metric_names::count_orders(OrderStatus::Failed, stopped);
    Ok(stopped)
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Waiting to be sent (or to be retried).
    Queued,
    /// Sent; the answer is pending or unknown.
    Sent,
    /// The broker took it (working).
    Accepted,
    /// Filled.
    Filled,
    /// The broker refused it (final).
    Rejected,
    /// Could not be sent for a reason retrying cannot fix.
    Failed,
    /// Not sent within the link's max delay.
    Expired,
}

impl OrderStatus {
    /// Every state, in the order of an order's life.
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Sent,
        Self::Accepted,
        Self::Filled,
        Self::Rejected,
        Self::Failed,
        Self::Expired,
    ];

    /// The stored (and shown) word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Accepted => "accepted",
            Self::Filled => "filled",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }
}

/// An order as the lists show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    /// Id.
    pub id: i64,
    /// The account.
    pub account_id: BrokerAccountId,
    /// The signal that made it.
    pub signal_id: i64,
    /// Its recorder.
    pub recorder_id: RecorderId,
    /// Contract symbol.
    pub contract: String,
    /// `buy` or `sell`.
    pub action: String,
    /// Contracts.
    pub quantity: i64,
    /// State.
    pub status: OrderStatus,
    /// The broker's order id.
    pub broker_order_id: Option<i64>,
    /// Fill price, when known (paper: the signal price).
    pub fill_price: Option<Decimal>,
    /// The broker's message or why it failed.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: i32,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// First sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
}

const ORDER_COLUMNS: &str = "id, account_id, signal_id, recorder_id, contract, action, quantity, \
    status, broker_order_id, fill_price, error, attempts, created_at, sent_at, finished_at";

/// An account's orders, newest first; `before` is an order id cursor.
pub async fn list_account_orders(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    limit: i64,
    before: Option<i64>,
) -> Result<(Vec<OrderRow>, Option<i64>), StoreError> {
    crate::broker_accounts::get_account(tx, account).await?;
    let rows: Vec<OrderRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ORDER_COLUMNS} from orders
         where account_id = $1 and ($2::bigint is null or id < $2)
         order by id desc limit $3"
    )))
    .bind(account)
    .bind(before)
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    Ok(split_page(rows, limit, |r| r.id))
}

/// The orders of these signals (for the signal log), in id order.
pub async fn orders_of_signals(
    tx: &mut TenantTx,
    signals: &[i64],
) -> Result<Vec<OrderRow>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ORDER_COLUMNS} from orders where signal_id = any($1) order by id"
    )))
    .bind(signals)
    .fetch_all(tx.conn())
    .await?)
}

/// One state change of an order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderEvent {
    /// `queued`, `sent`, `retry`, `accepted`, `filled`, `rejected`, `failed`, `expired`.
    pub status: String,
    /// The broker's words or the error.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The state changes of an order, oldest first.
pub async fn order_events(tx: &mut TenantTx, order: i64) -> Result<Vec<OrderEvent>, StoreError> {
    Ok(sqlx::query_as(
        "select status, detail, at from order_events where order_id = $1 order by id",
    )
    .bind(order)
    .fetch_all(tx.conn())
    .await?)
}
