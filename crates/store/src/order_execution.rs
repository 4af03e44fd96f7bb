//! The worker's side of orders: one account at a time (an advisory lock per account), always
//! the oldest unfinished order first, and every state change stored with its time.
//!
//! Times come from the worker's clock (`now` parameters), so expiry and backoff can be tested
//! without waiting.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::orders::OrderStatus;
use crate::{BrokerAccountId, Store, StoreError, TenantTx, UserId};

/// An unfinished order, as the worker needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingOrder {
    /// Id.
    pub id: i64,
    /// Contract symbol.
    pub contract: String,
    /// `buy` or `sell`.
    pub action: String,
    /// Contracts.
    pub quantity: i64,
    /// The signal price.
    pub price: Option<Decimal>,
    /// Client order id.
    pub cl_ord_id: String,
    /// `queued` or `sent`.
    pub status: OrderStatus,
    /// The last send's outcome is unknown: look it up before sending again.
    pub outcome_unknown: bool,
    /// Sends so far.
    pub attempts: i32,
    /// Not before then (none: at once).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Max delay after queueing.
    pub max_delay_secs: i32,
    /// The owner is active (a disabled user's orders are never sent).
    pub owner_active: bool,
    /// When its signal arrived (for the signal → order latency).
    pub signal_received_at: Option<DateTime<Utc>>,
}

impl PendingOrder {
    /// When it expires if still unsent.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.created_at + chrono::Duration::seconds(i64::from(self.max_delay_secs))
    }

    /// True for a buy.
    pub fn is_buy(&self) -> bool {
        self.action == "buy"
    }
}

/// Takes the account's execution lock for this transaction, if nobody holds it. Whoever holds
/// it sends the account's orders, one at a time, in order.
pub async fn try_lock_account(
    tx: &mut TenantTx,
    account: BrokerAccountId,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "select pg_try_advisory_xact_lock(hashtext('jt_execution'), hashtext($1::text))",
    )
    .bind(account)
    .fetch_one(tx.conn())
    .await?)
}

/// The oldest unfinished order of the account (whether due or not: order is strict).
pub async fn oldest_unfinished_order(
    tx: &mut TenantTx,
    account: BrokerAccountId,
) -> Result<Option<PendingOrder>, StoreError> {
    Ok(sqlx::query_as(
        "select o.id, o.contract, o.action, o.quantity, o.price, o.cl_ord_id, o.status,
                o.outcome_unknown, o.attempts,
                nullif(o.next_attempt_at, '-infinity') as next_attempt_at, o.created_at,
                o.max_delay_secs,
                coalesce((select u.status = 'active' from users u where u.id = o.user_id), false)
                    as owner_active,
                (select s.received_at from recorded_signals s where s.id = o.signal_id)
                    as signal_received_at
         from orders o where o.account_id = $1 and o.status in ('queued', 'sent')
         order by o.id limit 1",
    )
    .bind(account)
    .fetch_optional(tx.conn())
    .await?)
}

/// Whether the account's oldest unfinished order is due by `now` (checked after releasing the lock,
/// so a wake-up that found the lock taken is never lost).
pub async fn has_due_order(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        // Only the oldest counts: the ones behind it wait for it (strict order).
        "select coalesce((select next_attempt_at <= $2 from orders
             where account_id = $1 and status in ('queued', 'sent') order by id limit 1), false)",
    )
    .bind(account)
    .bind(now)
    .fetch_one(tx.conn())
    .await?)
}

/// Whether an order may go on the wire, decided by [`mark_sending`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPermit {
    /// Marked as sent: send it now. `first` when this is its first send.
    Send {
        /// No earlier send (counts once for the signal → order latency).
        first: bool,
    },
    /// Its owner is disabled: it must not be sent (finish it).
    OwnerDisabled,
    /// Something else finished it meanwhile (e.g. the disable did): nothing to send.
    AlreadyFinished,
}

/// Records that the order is about to go on the wire, if it still may: the owner is active
/// and the order unfinished. Until its answer is stored, its outcome counts as unknown (a
/// crash in between means: look it up before resending).
///
/// This is the last check before a send, made in the statement that marks it: a disable
/// that committed earlier is seen here, and one that commits later finds the order `sent`
/// (the send then precedes the disable; the broker's answer is still recorded).
pub async fn mark_sending(
    tx: &mut TenantTx,
    order: i64,
    now: DateTime<Utc>,
) -> Result<SendPermit, StoreError> {
    let (owner_active, attempts): (bool, Option<i32>) = sqlx::query_as(
        "with owner as (
             select coalesce((select status = 'active' from users where id = app_user_id()),
                             false) as active
         ),
         o as (
             update orders set status = 'sent', sent_at = coalesce(sent_at, $2),
                 attempts = attempts + 1, outcome_unknown = true
             where id = $1 and status in ('queued', 'sent') and (select active from owner)
             returning id, user_id, attempts
         ),
         e as (
             insert into order_events (user_id, order_id, status, at)
             select user_id, id, 'sent', $2 from o
         )
         select (select active from owner), (select attempts from o)",
    )
    .bind(order)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    Ok(match (owner_active, attempts) {
        (false, _) => SendPermit::OwnerDisabled,
        (true, None) => SendPermit::AlreadyFinished,
        (true, Some(attempts)) => SendPermit::Send {
            first: attempts == 1,
        },
    })
}

/// A final state: `accepted`, `filled`, `rejected`, `failed` or `expired`.
#[derive(Debug, Clone)]
pub struct Finish {
    /// The state.
    pub status: OrderStatus,
    /// The broker's order id.
    pub broker_order_id: Option<i64>,
    /// The fill price (paper).
    pub fill_price: Option<Decimal>,
    /// The broker's words or the error.
    pub detail: Option<String>,
}

/// Ends the order in a final state; false when it was final already (nothing changed).
///
/// A final order changes again only while its outcome is unknown: when a disable stopped it
/// during a send, the broker's answer to that send is still the truth and is recorded.
pub async fn finish_order(
    tx: &mut TenantTx,
    order: i64,
    finish: &Finish,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let finished = sqlx::query(
        "with o as (
             update orders set status = $2, broker_order_id = coalesce($3, broker_order_id),
                 fill_price = $4, error = $5, finished_at = $6, outcome_unknown = false
             where id = $1 and (status in ('queued', 'sent') or outcome_unknown)
             returning id, user_id
         )
         insert into order_events (user_id, order_id, status, detail, at)
         select user_id, id, $2, $5, $6 from o",
    )
    .bind(order)
    .bind(finish.status)
    .bind(finish.broker_order_id)
    .bind(finish.fill_price)
    .bind(&finish.detail)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(finished.rows_affected() > 0)
}

/// Puts the order back to wait until `at` (after a retryable error or during a lock-out).
/// `outcome_unknown` keeps it `sent` so the next attempt looks it up first. An order finished
/// meanwhile (a disable) stays finished.
pub async fn retry_order_at(
    tx: &mut TenantTx,
    order: i64,
    at: DateTime<Utc>,
    detail: &str,
    outcome_unknown: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "with o as (
             update orders set next_attempt_at = $2, error = $3, outcome_unknown = $4,
                 status = case when $4 then 'sent' else 'queued' end
             where id = $1 and status in ('queued', 'sent') returning id, user_id
         )
         insert into order_events (user_id, order_id, status, detail, at)
         select user_id, id, 'retry', $3, $5 from o",
    )
    .bind(order)
    .bind(at)
    .bind(detail)
    .bind(outcome_unknown)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Every (user, account) with an unfinished order due by `now`, across tenants (ids only):
/// the worker's sweep after a restart or a lost wake-up.
pub async fn accounts_with_due_orders(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, BrokerAccountId)>, StoreError> {
    Ok(
        sqlx::query_as("select user_id, account_id from accounts_with_due_orders($1)")
            .bind(now)
            .fetch_all(store.unscoped_pool())
            .await?,
    )
}
