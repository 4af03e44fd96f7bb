//! Disabling a user stops their orders, end to end: the console's disable, the executor and
//! the apalis workers against the fake Tradovate over HTTP. Nothing queued before (or by a
//! batch that commits just after) the disable reaches the broker; enabling again does not
//! resend old orders, and new signals execute again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jt_jobs::{Executor, ExecutorConfig};
use jt_store::BrokerAccountId;
use jt_store::account_links::LinkSettings;
use jt_store::orders::{OrderRow, OrderStatus, order_events};
use jt_store::users::{UserStatus, set_user_status};
use jt_tradovate::ClientConfig;
use jt_tradovate::fake::{FaultKind, FaultRequest};

use super::{admin_browser, submit_from};
use crate::execution::support::{Execution, buy, sell, set_up};
use crate::execution::worker::{start_worker, wait_for_listeners};

const NOT_SENT: &str = "not sent: the user was disabled";

/// Orders the fake received, asked over HTTP (`GET /_fake/orders`).
async fn orders_at_broker(exec: &Execution) -> Vec<serde_json::Value> {
    let url = format!("http://{}/_fake/orders", exec.fake.address());
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Disables or enables the user through the console (an admin's form post).
async fn set_status_in_console(exec: &Execution, admin: &jt_web::testing::TestBrowser, to: &str) {
    let page = format!("/admin/users/{}", exec.user.id);
    let response = submit_from(admin, &page, &format!("{page}/{to}")).await;
    assert_eq!(response.status(), 303, "{to}");
}

/// The state changes of an order as (status, detail), oldest first.
async fn events(exec: &Execution, order: i64) -> Vec<(String, Option<String>)> {
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    let events = order_events(&mut tx, order).await.unwrap();
    tx.commit().await.unwrap();
    events.into_iter().map(|e| (e.status, e.detail)).collect()
}

fn assert_stopped(orders: &[OrderRow]) {
    for order in orders {
        assert_eq!(order.status, OrderStatus::Failed, "{order:?}");
        assert_eq!(order.error.as_deref(), Some(NOT_SENT), "{order:?}");
        assert!(order.finished_at.is_some() && order.sent_at.is_none());
    }
}

#[tokio::test]
async fn a_disable_fails_queued_orders_none_reach_the_broker_and_enabling_does_not_resend() {
    let exec = set_up().await;
    let broker = exec.tradovate_account("halted").await;
    let paper = exec.paper_account("Paper").await;
    exec.link(broker, LinkSettings::default()).await;
    exec.link(paper, LinkSettings::default()).await;
    // Three signals, their orders queued on both accounts; no worker has run yet.
    for (body, delta) in [
        (buy(1, "25600"), 1),
        (buy(1, "25601"), 1),
        (sell(2, "25602"), -2),
    ] {
        exec.signal(&body, "NQZ6", delta).await;
    }
    assert_eq!(exec.orders(broker).await.len(), 3);
    assert!(
        exec.orders(broker)
            .await
            .iter()
            .all(|o| o.status == OrderStatus::Queued)
    );

    let (_, admin) = admin_browser(&exec.app, "ops@example.com").await;
    set_status_in_console(&exec, &admin, "disable").await;

    // The sweep finds nothing, and a wake-up job for each account sends nothing either.
    let executor = exec.executor();
    assert_eq!(executor.run_due().await.unwrap(), 0);
    for account in [broker, paper] {
        executor.run_account(exec.user.id, account).await.unwrap();
    }
    assert!(orders_at_broker(&exec).await.is_empty());
    let stopped = exec.orders(broker).await;
    assert_eq!(stopped.len(), 3);
    assert_stopped(&stopped);
    assert_stopped(&exec.orders(paper).await);
    assert_eq!(
        events(&exec, stopped[0].id).await,
        [
            ("queued".to_owned(), None),
            ("failed".to_owned(), Some(NOT_SENT.to_owned()))
        ]
    );
    // The audit entry says how many orders the disable stopped.
    let mut tx = exec.app.store.admin("test").await.unwrap();
    let (entries, _) =
        jt_store::admin::audit_log::list_audit_entries(&mut tx, Some(exec.user.id), None, 50)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let disable = entries.iter().find(|e| e.action == "user.disable").unwrap();
    assert_eq!(disable.details["orders_stopped"], 6);

    // Enabled again: the old orders stay failed, a new signal executes.
    set_status_in_console(&exec, &admin, "enable").await;
    let fresh = exec.signal(&buy(1, "25610"), "NQZ6", 1).await;
    assert_eq!(executor.run_due().await.unwrap(), 2);
    let at_broker = orders_at_broker(&exec).await;
    assert_eq!(at_broker.len(), 1, "{at_broker:?}");
    let cl_ord_id = at_broker[0]["clOrdId"].as_str().unwrap();
    assert!(
        cl_ord_id.starts_with(&format!("jt-{fresh}-")),
        "{cl_ord_id}"
    );
    let broker_orders = exec.orders(broker).await;
    assert_stopped(&broker_orders[..3]);
    assert_eq!(broker_orders[3].status, OrderStatus::Accepted);
    assert_eq!(exec.orders(paper).await[3].status, OrderStatus::Filled);
}

#[tokio::test]
async fn an_order_queued_just_after_the_disable_is_refused_by_the_worker_and_never_revived() {
    let exec = set_up().await;
    // Signals before the link: ingest queues nothing for them, the test queues by hand what
    // a batch that committed just after the disable would have queued.
    let late = exec.accepted(&buy(1, "25600"), "NQZ6", 1).await;
    let later = exec.accepted(&buy(1, "25601"), "NQZ6", 1).await;
    let broker = exec.tradovate_account("late-batch").await;
    exec.link(broker, LinkSettings::default()).await;
    let mut tx = exec.app.store.admin("test").await.unwrap();
    assert_eq!(
        set_user_status(&mut tx, exec.user.id, UserStatus::Disabled)
            .await
            .unwrap(),
        0
    );
    tx.commit().await.unwrap();
    assert_eq!(exec.enqueue(std::slice::from_ref(&late)).await, 1);

    // The sweep skips disabled users; the order's own wake-up job refuses it.
    let executor = exec.executor();
    assert_eq!(executor.run_due().await.unwrap(), 0);
    assert_eq!(exec.orders(broker).await[0].status, OrderStatus::Queued);
    executor.run_account(exec.user.id, broker).await.unwrap();
    assert_stopped(&exec.orders(broker).await);
    assert!(orders_at_broker(&exec).await.is_empty());

    // One whose wake-up never ran is stale by the time the user is enabled: enabling
    // finishes it rather than sending it.
    assert_eq!(exec.enqueue(std::slice::from_ref(&later)).await, 1);
    let mut tx = exec.app.store.admin("test").await.unwrap();
    assert_eq!(
        set_user_status(&mut tx, exec.user.id, UserStatus::Active)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(executor.run_due().await.unwrap(), 0);
    let orders = exec.orders(broker).await;
    assert_eq!(orders.len(), 2);
    assert_stopped(&orders);
    assert!(orders_at_broker(&exec).await.is_empty());
}

/// Waits until every order of `account` is final.
async fn wait_until_final(exec: &Execution, account: BrokerAccountId, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let orders = exec.orders(account).await;
        let unfinished = |o: &OrderRow| matches!(o.status, OrderStatus::Queued | OrderStatus::Sent);
        if orders.len() == count && !orders.iter().any(unfinished) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "orders never finished: {orders:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_worker_processes_send_nothing_for_a_disabled_user() {
    let exec = set_up().await;
    // Signals before the link: what batches committing just after the disable would queue.
    let mut late = Vec::new();
    for i in 0..4 {
        late.push(
            exec.accepted(&buy(1, &format!("{}", 25500 + i)), "NQZ6", 1)
                .await,
        );
    }
    let broker = exec.tradovate_account("two-workers-halted").await;
    exec.link(broker, LinkSettings::default()).await;
    let (stop_a, a) = start_worker(&exec, "worker-a");
    let (stop_b, b) = start_worker(&exec, "worker-b");
    wait_for_listeners(&exec, 2).await;
    // While the user is active, the workers send (proof that they would).
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    wait_until_final(&exec, broker, 1).await;
    assert_eq!(orders_at_broker(&exec).await.len(), 1);

    let mut tx = exec.app.store.admin("test").await.unwrap();
    set_user_status(&mut tx, exec.user.id, UserStatus::Disabled)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Each in its own transaction with its own wake-up job, which either worker may take.
    for intent in &late {
        assert_eq!(exec.enqueue(std::slice::from_ref(intent)).await, 1);
    }
    wait_until_final(&exec, broker, 1 + late.len()).await;
    assert_stopped(&exec.orders(broker).await[1..]);
    assert_eq!(orders_at_broker(&exec).await.len(), 1);
    let _ = stop_a.send(());
    let _ = stop_b.send(());
    let _ = a.await;
    let _ = b.await;
}

/// An executor whose broker calls may take up to 10 s (the default test one gives up after
/// 400 ms).
fn patient_executor(exec: &Execution) -> Executor {
    let config = ExecutorConfig {
        client: ClientConfig {
            request_timeout: Duration::from_secs(10),
            ..exec.executor_config().client
        },
        ..exec.executor_config()
    };
    Executor::new(
        exec.app.store.clone(),
        exec.key.clone(),
        exec.clock.clone(),
        config,
    )
}

#[tokio::test]
async fn a_send_in_flight_at_the_disable_keeps_the_brokers_answer_and_nothing_follows_it() {
    let exec = set_up().await;
    let broker = exec.tradovate_account("in-flight").await;
    exec.link(broker, LinkSettings::default()).await;
    let (_, admin) = admin_browser(&exec.app, "ops@example.com").await;
    exec.fake
        .inject(FaultRequest::on_orders("in-flight", FaultKind::Latency, 1).with_ms(4_000));
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    exec.signal(&buy(1, "25601"), "NQZ6", 1).await;
    let executor = Arc::new(patient_executor(&exec));
    let running = {
        let executor = executor.clone();
        let user = exec.user.id;
        tokio::spawn(async move { executor.run_account(user, broker).await })
    };
    // The first order is on the wire (marked sent; the broker answers in 4 s): disable now.
    let deadline = Instant::now() + Duration::from_secs(20);
    while exec.orders(broker).await[0].status != OrderStatus::Sent {
        assert!(Instant::now() < deadline, "the order was never sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    set_status_in_console(&exec, &admin, "disable").await;
    let orders = exec.orders(broker).await;
    assert_eq!(orders[0].status, OrderStatus::Failed, "{orders:?}");
    assert!(
        orders[0]
            .error
            .as_deref()
            .unwrap()
            .contains("may be at the broker")
    );
    running.await.unwrap().unwrap();

    // The broker's answer to the send in flight is the truth; the order behind it never went.
    let orders = exec.orders(broker).await;
    assert_eq!(orders[0].status, OrderStatus::Accepted, "{orders:?}");
    assert!(orders[0].broker_order_id.is_some());
    let statuses: Vec<String> = events(&exec, orders[0].id)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(statuses, ["queued", "sent", "failed", "accepted"]);
    assert_stopped(&orders[1..]);
    executor.run_account(exec.user.id, broker).await.unwrap();
    assert_eq!(orders_at_broker(&exec).await.len(), 1);
}

#[tokio::test]
async fn only_an_admin_transaction_may_stop_orders_and_only_of_a_disabled_user() {
    let exec = set_up().await;
    let call = "select stop_orders_of_disabled_user($1)";
    // The user themselves (a tenant transaction), even while disabled: refused.
    let mut tx = exec.app.store.admin("test").await.unwrap();
    set_user_status(&mut tx, exec.user.id, UserStatus::Disabled)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let refused = exec
        .app
        .post_webhook(&exec.webhook_url, &buy(1, "25601"))
        .await;
    assert_eq!(refused.status(), 403);
    let mut tenant = exec.app.store.tenant(exec.user.id).await.unwrap();
    let refused = sqlx::query(call)
        .bind(exec.user.id)
        .execute(tenant.conn())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("not an admin transaction"),
        "{refused}"
    );
    drop(tenant);
    // An admin transaction for an active user: refused (an active user's orders stay).
    let other = exec.app.create_user("active@example.com").await;
    let mut admin = exec.app.store.admin("test").await.unwrap();
    let refused = sqlx::query(call)
        .bind(other.id)
        .execute(admin.conn())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not disabled"), "{refused}");
}
