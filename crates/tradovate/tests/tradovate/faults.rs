//! One test per fault class: the error class the worker acts on, and what the fake placed.

use std::time::Duration;

use jt_tradovate::fake::{FakeConfig, FaultKind, FaultRequest};
use jt_tradovate::{ErrorClass, LockOut, TradovateError};

use crate::support::{logged_in, market_order, start_fake};

#[tokio::test]
async fn an_order_is_placed_listed_filled_and_positioned() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, "alice").await;
    assert_eq!(account.name, "alice");

    let id = client
        .place_order(&market_order(&account, "jt-1", 2))
        .await
        .expect("placed");

    let received = fake.orders();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].order_id, id);
    assert_eq!(received[0].cl_ord_id.as_deref(), Some("jt-1"));
    assert_eq!((received[0].symbol.as_str(), received[0].qty), ("NQZ6", 2));
    assert!(received[0].is_automated);
    let listed = client.list_orders().await.expect("order list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].cl_ord_id.as_deref(), Some("jt-1"));
    assert_eq!(listed[0].ord_status, "Filled");
    let fills = client.list_fills().await.expect("fill list");
    assert_eq!((fills[0].order_id, fills[0].qty), (id, 2));
    assert_eq!(fills[0].price, rust_decimal::Decimal::from(100));
    let positions = client.list_positions().await.expect("positions");
    assert_eq!(positions[0].net_pos, 2);
    let contract = client.find_contract("NQZ6").await.expect("contract");
    assert_eq!(contract.id, positions[0].contract_id);
    let missing = client
        .find_contract("NOPE")
        .await
        .expect_err("no such contract");
    assert_eq!(missing.class(), ErrorClass::Final);
}

#[tokio::test]
async fn a_refused_login_is_final() {
    let fake = start_fake(FakeConfig::default()).await;
    let mut credentials = crate::support::credentials("bob");
    credentials.password = String::new();
    let client = jt_tradovate::TradovateClient::new(
        &fake.base_url(),
        credentials,
        crate::support::test_config(),
    )
    .expect("client");
    let error = client.connect().await.expect_err("refused");
    assert!(matches!(error, TradovateError::Login(ref text) if text.contains("Incorrect")));
    assert_eq!(error.class(), ErrorClass::Final);
}

/// Injects `fault` on the next order, tries to place one, and returns the error and how many
/// orders the fake holds afterwards.
async fn place_with(fault: FaultRequest) -> (TradovateError, usize) {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, &fault.account).await;
    fake.inject(fault);
    let error = client
        .place_order(&market_order(&account, "jt-fault", 1))
        .await
        .expect_err("the fault makes it fail");
    (error, fake.orders().len())
}

#[tokio::test]
async fn a_server_error_is_retryable_and_places_nothing() {
    let (error, placed) =
        place_with(FaultRequest::on_orders("carol", FaultKind::ServerError, 1)).await;
    assert!(matches!(error, TradovateError::Server(500)));
    assert_eq!(error.class(), ErrorClass::Retryable);
    assert_eq!(placed, 0);
}

#[tokio::test]
async fn a_short_penalty_is_waited_out_and_resent_with_its_ticket_once() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, "dave").await;
    fake.inject(FaultRequest::on_orders("dave", FaultKind::PTicket, 1).with_seconds(0.05));
    client
        .place_order(&market_order(&account, "jt-p", 1))
        .await
        .expect("placed after the penalty");
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(fake.stats().place_order_requests, 2);
}

#[tokio::test]
async fn a_long_penalty_is_returned_as_retryable_with_its_wait() {
    let (error, placed) =
        place_with(FaultRequest::on_orders("erin", FaultKind::PTicket, 1).with_seconds(30.0)).await;
    assert_eq!(error.class(), ErrorClass::Retryable);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(placed, 0);
}

#[tokio::test]
async fn captcha_423_and_429_are_lock_outs() {
    for (fault, kind) in [
        (FaultKind::PCaptcha, LockOut::Captcha),
        (FaultKind::Locked, LockOut::Locked),
        (FaultKind::TooManyRequests, LockOut::TooManyRequests),
    ] {
        let (error, placed) = place_with(FaultRequest::on_orders("frank", fault, 1)).await;
        assert_eq!(error.class(), ErrorClass::LockedOut, "{fault:?}");
        assert!(matches!(error, TradovateError::LockedOut { kind: k, .. } if k == kind));
        assert_eq!(error.retry_after(), Some(jt_tradovate::LOCK_OUT));
        assert_eq!(placed, 0);
    }
}

#[tokio::test]
async fn a_hang_times_out_as_ambiguous_and_placed_nothing() {
    let (error, placed) = place_with(FaultRequest::on_orders("gina", FaultKind::Hang, 1)).await;
    assert!(matches!(error, TradovateError::Timeout(_)), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Ambiguous);
    assert_eq!(placed, 0);
}

#[tokio::test]
async fn a_connection_reset_is_ambiguous_and_placed_nothing() {
    let (error, placed) = place_with(FaultRequest::on_orders("hank", FaultKind::Reset, 1)).await;
    assert!(matches!(error, TradovateError::Interrupted(_)), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Ambiguous);
    assert_eq!(placed, 0);
}

#[tokio::test]
async fn accept_then_timeout_is_ambiguous_and_the_order_is_in_the_order_list() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, "ivy").await;
    fake.inject(FaultRequest::on_orders(
        "ivy",
        FaultKind::AcceptThenTimeout,
        1,
    ));
    let error = client
        .place_order(&market_order(&account, "jt-ambiguous", 1))
        .await
        .expect_err("no answer");
    assert_eq!(error.class(), ErrorClass::Ambiguous);
    let listed = client.list_orders().await.expect("order list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].cl_ord_id.as_deref(), Some("jt-ambiguous"));
}

#[tokio::test]
async fn a_rejection_is_final_with_the_brokers_reason() {
    let (error, placed) = place_with(FaultRequest::on_orders("jack", FaultKind::Reject, 1)).await;
    assert!(
        matches!(error, TradovateError::Rejected { ref reason, .. } if reason == "MaxPosLimitReached")
    );
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("position limit"));
    assert_eq!(placed, 0);
}

#[tokio::test]
async fn latency_below_the_timeout_still_places_the_order() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, "kim").await;
    fake.inject(FaultRequest::on_orders("kim", FaultKind::Latency, 1).with_ms(100));
    client
        .place_order(&market_order(&account, "jt-slow", 1))
        .await
        .expect("placed");
    assert_eq!(fake.orders().len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connect_error() {
    let fake = start_fake(FakeConfig::default()).await;
    let base = fake.base_url();
    drop(fake);
    let client = jt_tradovate::TradovateClient::new(
        &base,
        crate::support::credentials("lee"),
        crate::support::test_config(),
    )
    .expect("client");
    let error = client.list_accounts().await.expect_err("nothing listens");
    assert_eq!(error.class(), ErrorClass::Retryable, "{error:?}");
}

#[tokio::test]
async fn faults_and_orders_are_reachable_over_http() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, account) = logged_in(&fake, "mia").await;
    let http = reqwest::Client::new();
    let root = format!("http://{}", fake.address());
    let answer = http
        .post(format!("{root}/_fake/faults"))
        .json(&serde_json::json!({ "account": "mia", "fault": "5xx", "count": 1 }))
        .send()
        .await
        .expect("faults");
    assert_eq!(answer.status(), 200);
    let error = client
        .place_order(&market_order(&account, "jt-a", 1))
        .await
        .expect_err("500");
    assert_eq!(error.class(), ErrorClass::Retryable);
    client
        .place_order(&market_order(&account, "jt-b", 3))
        .await
        .expect("placed");
    let orders: serde_json::Value = http
        .get(format!("{root}/_fake/orders"))
        .send()
        .await
        .expect("orders")
        .json()
        .await
        .expect("json");
    assert_eq!(orders.as_array().map(Vec::len), Some(1));
    assert_eq!(orders[0]["account"], "mia");
    assert_eq!(orders[0]["symbol"], "NQZ6");
    assert_eq!(orders[0]["action"], "Buy");
    assert_eq!(orders[0]["qty"], 3);
    assert_eq!(orders[0]["clOrdId"], "jt-b");
}
