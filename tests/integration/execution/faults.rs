//! Every fault class of the fake ends in the right state, with zero duplicate orders; the
//! clock is moved by hand, never slept on.

use std::time::Duration;

use jt_store::account_links::LinkSettings;
use jt_store::broker_accounts::{AccountStatus, get_account};
use jt_store::orders::{OrderStatus, order_events};
use jt_tradovate::fake::{FaultKind, FaultRequest};

use super::support::{Execution, buy, set_up};

/// A Tradovate account "trader" linked to the recorder, one buy queued, `fault` injected.
async fn one_order_with(fault: FaultKind, count: u32) -> (Execution, jt_store::BrokerAccountId) {
    let exec = set_up().await;
    let account = exec.tradovate_account("trader").await;
    let settings = LinkSettings {
        max_delay_secs: Some(60),
        ..LinkSettings::default()
    };
    exec.link(account, settings).await;
    exec.fake
        .inject(FaultRequest::on_orders("trader", fault, count).with_seconds(20.0));
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    (exec, account)
}

async fn status_after_retry(exec: &Execution, account: jt_store::BrokerAccountId) -> OrderStatus {
    let executor = exec.executor();
    executor.run_due().await.unwrap();
    exec.clock.advance(Duration::from_secs(21));
    executor.run_due().await.unwrap();
    exec.orders(account).await[0].status
}

#[tokio::test]
async fn retryable_faults_end_accepted_with_one_order_at_the_broker() {
    for fault in [
        FaultKind::ServerError,
        FaultKind::PTicket,
        FaultKind::Hang,
        FaultKind::Reset,
        FaultKind::AcceptThenTimeout,
        FaultKind::Latency,
    ] {
        let (exec, account) = one_order_with(fault, 1).await;
        let status = status_after_retry(&exec, account).await;
        // Found by the lookup after an unanswered send, the broker's state shows (Filled).
        assert!(
            matches!(status, OrderStatus::Accepted | OrderStatus::Filled),
            "{fault:?}: {status:?}"
        );
        let placed = exec.fake.orders();
        assert_eq!(
            placed.len(),
            1,
            "{fault:?}: exactly one order at the broker"
        );
        let orders = exec.orders(account).await;
        assert_eq!(
            orders[0].broker_order_id,
            Some(placed[0].order_id),
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn an_unanswered_order_is_looked_up_not_resent() {
    let (exec, account) = one_order_with(FaultKind::AcceptThenTimeout, 1).await;
    let executor = exec.executor();
    executor.run_due().await.unwrap();
    let orders = exec.orders(account).await;
    assert_eq!(orders[0].status, OrderStatus::Sent, "outcome unknown");
    exec.clock.advance(Duration::from_secs(1));
    executor.run_due().await.unwrap();
    assert_eq!(exec.orders(account).await[0].status, OrderStatus::Filled);
    assert_eq!(exec.fake.stats().place_order_requests, 1, "never resent");
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    let events = order_events(&mut tx, orders[0].id).await.unwrap();
    tx.commit().await.unwrap();
    let states: Vec<_> = events.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(states, ["queued", "sent", "retry", "filled"]);
    // `queued` is stamped by the database; the rest by the worker's (test) clock.
    assert!(events[1..].windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test]
async fn a_rejection_is_final_with_the_brokers_words() {
    let (exec, account) = one_order_with(FaultKind::Reject, 1).await;
    exec.executor().run_due().await.unwrap();
    let order = &exec.orders(account).await[0];
    assert_eq!(order.status, OrderStatus::Rejected);
    assert!(
        order
            .error
            .as_deref()
            .unwrap()
            .contains("MaxPosLimitReached")
    );
    assert!(order.finished_at.is_some());
    assert!(exec.fake.orders().is_empty());
}

#[tokio::test]
async fn lock_outs_open_the_circuit_and_stop_sending() {
    for fault in [
        FaultKind::TooManyRequests,
        FaultKind::Locked,
        FaultKind::PCaptcha,
    ] {
        let (exec, account) = one_order_with(fault, 1).await;
        exec.signal(&buy(1, "25601"), "NQZ6", 1).await;
        let executor = exec.executor();
        executor.run_due().await.unwrap();
        executor.run_due().await.unwrap();
        assert_eq!(
            exec.fake.stats().place_order_requests,
            1,
            "{fault:?}: no hammering"
        );
        let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
        let broker = get_account(&mut tx, account).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(broker.status, AccountStatus::LockedOut, "{fault:?}");
        assert!(broker.locked_until.unwrap() > exec.clock_now() + chrono::Duration::minutes(59));
        // The orders wait behind the circuit and expire after the max delay, unsent.
        exec.clock.advance(Duration::from_secs(61));
        executor.run_due().await.unwrap();
        let states: Vec<_> = exec
            .orders(account)
            .await
            .iter()
            .map(|o| o.status)
            .collect();
        assert_eq!(
            states,
            [OrderStatus::Expired, OrderStatus::Expired],
            "{fault:?}"
        );
        assert_eq!(exec.fake.stats().place_order_requests, 1);
    }
}

#[tokio::test]
async fn an_order_retried_past_its_max_delay_expires() {
    let (exec, account) = one_order_with(FaultKind::ServerError, 1000).await;
    let executor = exec.executor();
    for _ in 0..5 {
        executor.run_due().await.unwrap();
        exec.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(exec.orders(account).await[0].status, OrderStatus::Queued);
    exec.clock.advance(Duration::from_secs(40));
    executor.run_due().await.unwrap();
    let order = &exec.orders(account).await[0];
    assert_eq!(order.status, OrderStatus::Expired);
    assert!(order.error.as_deref().unwrap().contains("max delay"));
    assert!(exec.fake.orders().is_empty());
}

impl Execution {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use jt_jobs::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn an_unanswered_order_behind_a_lock_out_fails_at_its_max_delay_and_frees_the_queue() {
    let (exec, account) = one_order_with(FaultKind::Hang, 1).await;
    exec.signal(&buy(1, "25601"), "NQZ6", 1).await;
    let executor = exec.executor();
    executor.run_due().await.unwrap();
    // The lookup before the resend is locked out.
    exec.fake.inject(
        FaultRequest::on_orders("trader", FaultKind::TooManyRequests, 1).on_endpoint("order/list"),
    );
    exec.clock.advance(Duration::from_secs(1));
    executor.run_due().await.unwrap();
    exec.clock.advance(Duration::from_secs(61));
    tokio::time::timeout(Duration::from_secs(20), executor.run_due())
        .await
        .expect("the queue does not spin")
        .unwrap();
    let orders = exec.orders(account).await;
    assert_eq!(orders[0].status, OrderStatus::Failed);
    assert!(
        orders[0]
            .error
            .as_deref()
            .unwrap()
            .contains("check the order at the broker")
    );
    assert_eq!(orders[1].status, OrderStatus::Expired);
    assert!(exec.fake.orders().is_empty());
}
