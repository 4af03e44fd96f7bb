//! Against the fake over HTTP: multipliers across two accounts, a flip is one order, and
//! strict per-account order with two executors racing.

use std::sync::Arc;

use jt_store::account_links::LinkSettings;
use jt_store::orders::OrderStatus;
use jt_tradovate::model::OrderAction;

use super::support::{buy, sell, set_up};

#[tokio::test]
async fn multipliers_across_two_accounts_and_a_flip_is_one_order() {
    let exec = set_up().await;
    let single = exec.tradovate_account("single").await;
    let double = exec.tradovate_account("double").await;
    exec.link(single, LinkSettings::default()).await;
    let times_two = LinkSettings {
        multiplier: Some(2),
        ..LinkSettings::default()
    };
    exec.link(double, times_two).await;

    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    // Long 1 → short 2: one sell of 3, not a close and an open.
    exec.signal(&sell(3, "25610"), "NQZ6", -3).await;
    exec.executor().run_due().await.unwrap();

    let sent: Vec<_> = exec
        .fake
        .orders()
        .into_iter()
        .map(|o| (o.account, o.action, o.qty))
        .collect();
    let of = |name: &str| -> Vec<(OrderAction, i64)> {
        sent.iter()
            .filter(|(a, _, _)| a == name)
            .map(|(_, action, qty)| (*action, *qty))
            .collect()
    };
    assert_eq!(
        of("single"),
        [(OrderAction::Buy, 1), (OrderAction::Sell, 3)]
    );
    assert_eq!(
        of("double"),
        [(OrderAction::Buy, 2), (OrderAction::Sell, 6)]
    );
    for account in [single, double] {
        let orders = exec.orders(account).await;
        assert!(orders.iter().all(|o| o.status == OrderStatus::Accepted));
        assert!(orders.iter().all(|o| o.broker_order_id.is_some()));
    }
    assert!(exec.fake.orders().iter().all(|o| o.is_automated));
}

#[tokio::test]
async fn strict_order_under_rapid_signals_with_two_executors() {
    let exec = set_up().await;
    let account = exec.tradovate_account("rapid").await;
    exec.link(account, LinkSettings::default()).await;
    let first = Arc::new(exec.executor());
    let second = Arc::new(exec.executor());
    // 100 signals; both executors race to send while they arrive.
    let mut expected = Vec::new();
    for i in 0..100i64 {
        let quantity = i % 3 + 1;
        // Distinct prices: identical bodies would be duplicates.
        let price = format!("{}", 25600 + i);
        let body = if i % 2 == 0 {
            buy(quantity, &price)
        } else {
            sell(quantity, &price)
        };
        let delta = if i % 2 == 0 { quantity } else { -quantity };
        let signal = exec.signal(&body, "NQZ6", delta).await;
        expected.push(signal);
        if i % 10 == 9 {
            let (a, b) = tokio::join!(first.run_due(), second.run_due());
            a.unwrap();
            b.unwrap();
        }
    }
    let (a, b) = tokio::join!(first.run_due(), second.run_due());
    a.unwrap();
    b.unwrap();

    let orders = exec.orders(account).await;
    assert_eq!(orders.len(), 100);
    assert!(orders.iter().all(|o| o.status == OrderStatus::Accepted));
    let by_id: Vec<_> = orders.iter().map(|o| o.signal_id).collect();
    assert_eq!(by_id, expected, "orders follow the signals");
    let sent: Vec<String> = exec
        .fake
        .orders()
        .into_iter()
        .filter_map(|o| o.cl_ord_id)
        .collect();
    assert_eq!(sent.len(), 100, "no duplicates");
    let sent_signals: Vec<i64> = sent
        .iter()
        .map(|cl| cl.split('-').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        sent_signals, expected,
        "the broker got them in signal order"
    );
}
