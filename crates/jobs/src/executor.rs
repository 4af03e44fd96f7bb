//! Order execution for one broker account at a time: strictly in order, one order in flight.
//!
//! Whoever holds the account's advisory lock takes the oldest unfinished order, sends it, stores
//! the answer, and goes on to the next; an order that must wait (backoff, lock-out) blocks the
//! ones behind it. Several workers may run: the one without the lock leaves at once, and the
//! holder checks again after releasing it, so no wake-up is lost.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jt_store::broker_accounts::{
    AccountKind, BrokerAccount, ConnectionOutcome, get_account, record_connection,
};
use jt_store::metric_names::{
    BROKER_ERRORS_TOTAL, BrokerErrorKind, ORDER_LATENCY_SECONDS, ORDER_SEND_SECONDS, count_orders,
};
use jt_store::order_execution::{
    Finish, PendingOrder, SendPermit, accounts_with_due_orders, has_due_order, mark_sending,
    oldest_unfinished_order, try_lock_account,
};
use jt_store::orders::OrderStatus;
use jt_store::{BrokerAccountId, SecretKey, Store, StoreError, UserId};
use jt_tradovate::model::{OrderAction, PlaceOrder};
use jt_tradovate::{ErrorClass, TradovateClient, TradovateError};
use tokio::sync::Mutex;

use crate::broker_connection::{ExecutorConfig, connect, lock_out_until, new_client};
use crate::clock::Clock;
use crate::order_outcomes::{broker_status, end, expiry, owner_disabled, wait_or_give_up};

/// A job failed for a reason of ours (the database), not the broker's.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one step of an account's queue did.
pub(crate) enum Step {
    /// An order reached a new state: go on with the next.
    Progress,
    /// The oldest order waits (backoff or lock-out): stop for now.
    Waiting,
    /// Nothing unfinished.
    Idle,
}

/// Sends orders. Cheap to share (`Arc`); keeps one Tradovate client (and token) per account.
pub struct Executor {
    store: Store,
    key: SecretKey,
    clock: Arc<dyn Clock>,
    config: ExecutorConfig,
    clients: Mutex<HashMap<BrokerAccountId, Arc<TradovateClient>>>,
}

impl Executor {
    /// An executor over `store`; `key` opens the stored broker credentials.
    pub fn new(
        store: Store,
        key: SecretKey,
        clock: Arc<dyn Clock>,
        config: ExecutorConfig,
    ) -> Self {
        Self {
            store,
            key,
            clock,
            config,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The store it works on (shared with the verifier).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Now, by its clock.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Runs every account with an order due now (the sweep, and "run pending jobs now" in
    /// tests). Returns how many accounts it looked at.
    pub async fn run_due(&self) -> Result<usize, JobError> {
        let due = accounts_with_due_orders(&self.store, self.clock.now()).await?;
        for (user, account) in &due {
            self.run_account(*user, *account).await?;
        }
        Ok(due.len())
    }

    /// Sends the account's due orders in order, unless another worker is doing it.
    pub async fn run_account(
        &self,
        user: UserId,
        account: BrokerAccountId,
    ) -> Result<(), JobError> {
        loop {
            if !self.drain(user, account).await? {
                return Ok(());
            }
            // The lock is released: an order queued while we held it and whose wake-up found
            // the lock taken is ours to send.
            let mut tx = self.store.tenant(user).await?;
            let due = has_due_order(&mut tx, account, self.clock.now()).await?;
            tx.commit().await?;
            if !due {
                return Ok(());
            }
        }
    }

    /// Holds the account's lock while sending; false when another worker holds it.
    async fn drain(&self, user: UserId, account: BrokerAccountId) -> Result<bool, JobError> {
        let mut lock = self.store.tenant(user).await?;
        if !try_lock_account(&mut lock, account).await? {
            lock.commit().await?;
            return Ok(false);
        }
        let result = loop {
            match self.step(user, account).await {
                Ok(Step::Progress) => continue,
                Ok(Step::Waiting | Step::Idle) => break Ok(true),
                Err(error) => break Err(error),
            }
        };
        lock.commit().await?;
        result
    }

    async fn step(&self, user: UserId, account: BrokerAccountId) -> Result<Step, JobError> {
        let now = self.clock.now();
        let mut tx = self.store.tenant(user).await?;
        let Some(order) = oldest_unfinished_order(&mut tx, account).await? else {
            tx.commit().await?;
            return Ok(Step::Idle);
        };
        if !order.owner_active {
            // Queued just after the disable (which finished the rest): stale, never sent.
            end(&mut tx, order.id, &owner_disabled(), now).await?;
            tx.commit().await?;
            return Ok(Step::Progress);
        }
        if order.next_attempt_at.is_some_and(|at| at > now) {
            tx.commit().await?;
            return Ok(Step::Waiting);
        }
        let expired = order.expires_at() <= now;
        if expired && !order.outcome_unknown {
            end(&mut tx, order.id, &expiry(&order), now).await?;
            tx.commit().await?;
            return Ok(Step::Progress);
        }
        let broker = get_account(&mut tx, account).await?;
        if let Some(until) = broker.locked_until.filter(|until| *until > now) {
            let message = format!("the broker locked this account out until {until}");
            let step =
                wait_or_give_up(&mut tx, &order, until, &message, order.outcome_unknown, now)
                    .await?;
            tx.commit().await?;
            return Ok(step);
        }
        match broker.kind {
            AccountKind::Paper => {
                let filled = Finish {
                    status: OrderStatus::Filled,
                    broker_order_id: None,
                    fill_price: order.price,
                    detail: None,
                };
                end(&mut tx, order.id, &filled, now).await?;
                tx.commit().await?;
                Ok(Step::Progress)
            }
            AccountKind::Tradovate => {
                tx.commit().await?;
                self.send_to_tradovate(user, &broker, &order).await
            }
        }
    }

    async fn send_to_tradovate(
        &self,
        user: UserId,
        broker: &BrokerAccount,
        order: &PendingOrder,
    ) -> Result<Step, JobError> {
        let client = match self.client(user, broker).await {
            Ok(client) => client,
            Err(error) => return self.after_error(user, broker, order, &error, false).await,
        };
        let (account_spec, account_id) = match self.broker_account(user, broker, &client).await {
            Ok(found) => found,
            Err(error) => return self.after_error(user, broker, order, &error, false).await,
        };
        let now = self.clock.now();
        if order.outcome_unknown {
            // The last send may have reached the broker: find it before sending again.
            match client.list_orders().await {
                Ok(orders) => {
                    let cl = Some(order.cl_ord_id.as_str());
                    if let Some(found) = orders.iter().find(|o| o.cl_ord_id.as_deref() == cl) {
                        let finish = Finish {
                            status: broker_status(&found.ord_status),
                            broker_order_id: Some(found.id),
                            fill_price: None,
                            detail: Some("found at the broker after an unanswered send".to_owned()),
                        };
                        return self.finish(user, order.id, &finish).await;
                    }
                }
                Err(error) if order.expires_at() <= now => {
                    let finish = Finish {
                        status: OrderStatus::Failed,
                        broker_order_id: None,
                        fill_price: None,
                        detail: Some(format!(
                            "the last send went unanswered and the broker could not be asked \
                             ({error}); check the order at the broker"
                        )),
                    };
                    return self.finish(user, order.id, &finish).await;
                }
                Err(error) => return self.after_error(user, broker, order, &error, true).await,
            }
        }
        if order.expires_at() <= now {
            return self.finish(user, order.id, &expiry(order)).await;
        }
        let mut tx = self.store.tenant(user).await?;
        let permit = mark_sending(&mut tx, order.id, now).await?;
        match permit {
            SendPermit::Send { .. } => {}
            SendPermit::OwnerDisabled => {
                end(&mut tx, order.id, &owner_disabled(), now).await?;
                tx.commit().await?;
                return Ok(Step::Progress);
            }
            SendPermit::AlreadyFinished => {
                tx.commit().await?;
                return Ok(Step::Progress);
            }
        }
        tx.commit().await?;
        if permit == (SendPermit::Send { first: true }) {
            count_orders(OrderStatus::Sent, 1);
            if let Some(received) = order.signal_received_at {
                // Wall time on both ends (the signal's arrival is the server's clock), not
                // the worker's injectable clock.
                let latency = (chrono::Utc::now() - received).to_std().unwrap_or_default();
                metrics::histogram!(ORDER_LATENCY_SECONDS).record(latency.as_secs_f64());
            }
        }
        let request = PlaceOrder {
            account_spec,
            account_id,
            cl_ord_id: Some(order.cl_ord_id.clone()),
            action: if order.is_buy() {
                OrderAction::Buy
            } else {
                OrderAction::Sell
            },
            symbol: order.contract.clone(),
            order_qty: order.quantity,
            order_type: "Market".to_owned(),
            is_automated: true,
        };
        let sending = std::time::Instant::now();
        let placed = client.place_order(&request).await;
        metrics::histogram!(ORDER_SEND_SECONDS).record(sending.elapsed().as_secs_f64());
        match placed {
            Ok(broker_order_id) => {
                let accepted = Finish {
                    status: OrderStatus::Accepted,
                    broker_order_id: Some(broker_order_id),
                    fill_price: None,
                    detail: None,
                };
                self.finish(user, order.id, &accepted).await
            }
            Err(error) => {
                let unknown = error.class() == ErrorClass::Ambiguous;
                self.after_error(user, broker, order, &error, unknown).await
            }
        }
    }

    async fn finish(&self, user: UserId, order: i64, finish: &Finish) -> Result<Step, JobError> {
        let mut tx = self.store.tenant(user).await?;
        end(&mut tx, order, finish, self.clock.now()).await?;
        tx.commit().await?;
        Ok(Step::Progress)
    }

    /// Stores what a failed call means for the order (and the account's circuit).
    async fn after_error(
        &self,
        user: UserId,
        broker: &BrokerAccount,
        order: &PendingOrder,
        error: &TradovateError,
        outcome_unknown: bool,
    ) -> Result<Step, JobError> {
        let now = self.clock.now();
        let message = error.to_string();
        let kind = match error.class() {
            ErrorClass::Retryable => BrokerErrorKind::Retryable,
            ErrorClass::LockedOut => BrokerErrorKind::LockedOut,
            ErrorClass::Ambiguous => BrokerErrorKind::Ambiguous,
            ErrorClass::Final => match error {
                TradovateError::Rejected { .. } => BrokerErrorKind::Rejected,
                _ => BrokerErrorKind::Failed,
            },
        };
        metrics::counter!(BROKER_ERRORS_TOTAL, "kind" => kind.as_str()).increment(1);
        tracing::info!(order = order.id, account = %broker.id, %message, "order not sent");
        let mut tx = self.store.tenant(user).await?;
        let step = match error.class() {
            ErrorClass::Final => {
                let status = match error {
                    TradovateError::Rejected { .. } => OrderStatus::Rejected,
                    _ => OrderStatus::Failed,
                };
                let finish = Finish {
                    status,
                    broker_order_id: None,
                    fill_price: None,
                    detail: Some(message.clone()),
                };
                end(&mut tx, order.id, &finish, now).await?;
                if !matches!(error, TradovateError::Rejected { .. }) {
                    record_connection(&mut tx, broker.id, &ConnectionOutcome::Failed(message), now)
                        .await?;
                }
                Step::Progress
            }
            ErrorClass::LockedOut => {
                let until = lock_out_until(error, now);
                let outcome = ConnectionOutcome::LockedOut {
                    until,
                    message: message.clone(),
                };
                record_connection(&mut tx, broker.id, &outcome, now).await?;
                wait_or_give_up(&mut tx, order, until, &message, outcome_unknown, now).await?
            }
            ErrorClass::Retryable | ErrorClass::Ambiguous => {
                let wait = error
                    .retry_after()
                    .unwrap_or_else(|| self.backoff(order.attempts));
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                wait_or_give_up(&mut tx, order, at, &message, outcome_unknown, now).await?
            }
        };
        tx.commit().await?;
        Ok(step)
    }

    /// 200 ms doubling per attempt, capped.
    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(0);
        Duration::from_millis(200)
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.config.max_backoff)
    }

    /// The cached client of the account, made from its stored credentials on first use.
    pub(crate) async fn client(
        &self,
        user: UserId,
        broker: &BrokerAccount,
    ) -> Result<Arc<TradovateClient>, TradovateError> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&broker.id) {
            return Ok(client.clone());
        }
        let client = Arc::new(
            new_client(&self.store, &self.key, &self.config, user, broker)
                .await
                .map_err(|e| TradovateError::Config(e.to_string()))?,
        );
        clients.insert(broker.id, client.clone());
        Ok(client)
    }

    /// The broker account to send to: stored by the connection test, or looked up now.
    pub(crate) async fn broker_account(
        &self,
        user: UserId,
        broker: &BrokerAccount,
        client: &TradovateClient,
    ) -> Result<(String, i64), TradovateError> {
        if let (Some(name), Some(id)) = (&broker.broker_account_name, broker.broker_account_id) {
            return Ok((name.clone(), id));
        }
        let outcome = connect(client, broker.broker_account_name.as_deref()).await?;
        let mut tx = self
            .store
            .tenant(user)
            .await
            .map_err(|e| TradovateError::Config(e.to_string()))?;
        record_connection(&mut tx, broker.id, &outcome, self.clock.now())
            .await
            .map_err(|e| TradovateError::Config(e.to_string()))?;
        tx.commit()
            .await
            .map_err(|e| TradovateError::Config(e.to_string()))?;
        match outcome {
            ConnectionOutcome::Connected {
                broker_account_name,
                broker_account_id,
                ..
            } => Ok((broker_account_name, broker_account_id)),
            ConnectionOutcome::Failed(message) | ConnectionOutcome::LockedOut { message, .. } => {
                Err(TradovateError::NotFound(message))
            }
        }
    }
}
