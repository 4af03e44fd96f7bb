//! `enqueue_orders`: one order per enabled link, |Δ| × multiplier, deterministic ids; paper
//! accounts fill at the signal price.

use jt_store::account_links::LinkSettings;
use jt_store::orders::{OrderIntent, OrderStatus};
use rust_decimal::Decimal;

use super::support::{buy, sell, set_up};

#[tokio::test]
async fn one_order_per_enabled_link_with_its_multiplier() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    let tradovate = exec.tradovate_account("alice").await;
    let disabled = exec.paper_account("Off").await;
    exec.link(paper, LinkSettings::default()).await;
    let triple = LinkSettings {
        multiplier: Some(3),
        ..LinkSettings::default()
    };
    exec.link(tradovate, triple).await;
    let off = LinkSettings {
        enabled: Some(false),
        ..LinkSettings::default()
    };
    exec.link(disabled, off).await;

    let signal = exec.signal(&buy(2, "25600"), "NQZ6", 2).await;

    let paper_orders = exec.orders(paper).await;
    let broker_orders = exec.orders(tradovate).await;
    assert_eq!(paper_orders.len(), 1);
    assert_eq!(broker_orders.len(), 1);
    assert!(exec.orders(disabled).await.is_empty());
    assert_eq!(
        (paper_orders[0].quantity, paper_orders[0].action.as_str()),
        (2, "buy")
    );
    assert_eq!(broker_orders[0].quantity, 6);
    assert_eq!(broker_orders[0].signal_id, signal);
    assert_eq!(broker_orders[0].contract, "NQZ6");
    assert_eq!(broker_orders[0].status, OrderStatus::Queued);
}

#[tokio::test]
async fn queueing_the_same_signal_again_makes_no_second_order() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    exec.link(paper, LinkSettings::default()).await;
    let signal = exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    let again = OrderIntent {
        recorder_id: exec.recorder,
        signal_id: signal,
        contract: "NQZ6".to_owned(),
        delta: 1,
        price: None,
    };
    assert_eq!(exec.enqueue(&[again]).await, 0);
    assert_eq!(exec.orders(paper).await.len(), 1);
}

#[tokio::test]
async fn a_roll_is_two_legs_and_a_zero_delta_makes_nothing() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    // The signal arrives before the link (so ingest queues nothing for it); the legs below
    // are queued by hand, as ingest would for a roll.
    let signal = exec.signal(&buy(1, "25600"), "NQZ6", 0).await;
    exec.link(paper, LinkSettings::default()).await;
    let legs = [
        OrderIntent {
            recorder_id: exec.recorder,
            signal_id: signal,
            contract: "NQZ6".to_owned(),
            delta: -1,
            price: None,
        },
        OrderIntent {
            recorder_id: exec.recorder,
            signal_id: signal,
            contract: "NQH7".to_owned(),
            delta: 2,
            price: None,
        },
    ];
    assert_eq!(exec.enqueue(&legs).await, 2);
    let orders = exec.orders(paper).await;
    let shape: Vec<_> = orders
        .iter()
        .map(|o| (o.contract.as_str(), o.action.as_str(), o.quantity))
        .collect();
    assert_eq!(shape, [("NQZ6", "sell", 1), ("NQH7", "buy", 2)]);
}

#[tokio::test]
async fn paper_orders_fill_at_the_signal_price_in_order() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    exec.link(paper, LinkSettings::default()).await;
    exec.signal(&buy(1, "25600.25"), "NQZ6", 1).await;
    exec.signal(&sell(3, "25610.5"), "NQZ6", -3).await;

    exec.executor().run_due().await.unwrap();

    let orders = exec.orders(paper).await;
    let fills: Vec<_> = orders
        .iter()
        .map(|o| (o.status, o.action.as_str(), o.quantity, o.fill_price))
        .collect();
    assert_eq!(
        fills,
        [
            (
                OrderStatus::Filled,
                "buy",
                1,
                Some("25600.25".parse::<Decimal>().unwrap())
            ),
            (
                OrderStatus::Filled,
                "sell",
                3,
                Some("25610.5".parse::<Decimal>().unwrap())
            ),
        ]
    );
    assert!(orders.iter().all(|o| o.finished_at.is_some()));
}
