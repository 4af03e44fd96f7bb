//! How an order's attempt ends in the store: final states (counted in `jt_orders_total`),
//! waiting until a retry, and the words each ending is stored with.

use chrono::{DateTime, Utc};
use jt_store::TenantTx;
use jt_store::metric_names::count_orders;
use jt_store::order_execution::{Finish, PendingOrder, finish_order, retry_order_at};
use jt_store::orders::OrderStatus;

use crate::executor::{JobError, Step};

/// Ends an order in a final state, counted in `jt_orders_total{state}` (unless it was final
/// already: a disable may have finished it meanwhile).
pub(crate) async fn end(
    tx: &mut TenantTx,
    order: i64,
    finish: &Finish,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    if finish_order(tx, order, finish, now).await? {
        count_orders(finish.status, 1);
    }
    Ok(())
}

/// The end of an order whose owner was disabled before it could be sent.
pub(crate) fn owner_disabled() -> Finish {
    Finish {
        status: OrderStatus::Failed,
        broker_order_id: None,
        fill_price: None,
        detail: Some("not sent: the user was disabled".to_owned()),
    }
}

/// Puts the order back until `at` (never past its expiry); an order already past its max
/// delay ends instead — expired, or failed when its last send went unanswered (it may be at
/// the broker) — so the queue behind it moves on.
pub(crate) async fn wait_or_give_up(
    tx: &mut TenantTx,
    order: &PendingOrder,
    at: DateTime<Utc>,
    message: &str,
    outcome_unknown: bool,
    now: DateTime<Utc>,
) -> Result<Step, JobError> {
    if order.expires_at() > now {
        let at = at.min(order.expires_at());
        retry_order_at(tx, order.id, at, message, outcome_unknown, now).await?;
        return Ok(Step::Waiting);
    }
    let finish = if outcome_unknown {
        Finish {
            status: OrderStatus::Failed,
            broker_order_id: None,
            fill_price: None,
            detail: Some(format!(
                "the last send went unanswered and the max delay passed before the broker \
                 could be asked ({message}); check the order at the broker"
            )),
        }
    } else {
        expiry(order)
    };
    end(tx, order.id, &finish, now).await?;
    Ok(Step::Progress)
}

/// An order found at the broker: filled, or still working.
pub(crate) fn broker_status(ord_status: &str) -> OrderStatus {
    match ord_status {
        "Filled" | "Completed" => OrderStatus::Filled,
        "Rejected" => OrderStatus::Rejected,
        _ => OrderStatus::Accepted,
    }
}

pub(crate) fn expiry(order: &PendingOrder) -> Finish {
    Finish {
        status: OrderStatus::Expired,
        broker_order_id: None,
        fill_price: None,
        detail: Some(format!(
            "not sent within the link's max delay of {} s (a stale market order is worse than none)",
            order.max_delay_secs
        )),
    }
}
