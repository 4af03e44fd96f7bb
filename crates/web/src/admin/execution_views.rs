//! Execution rows as the console prints them (user page and health page): words and UTC
//! times, never credentials. The CSS class of a state is `status-{word}`.

use chrono::{DateTime, Utc};
use jt_store::admin::execution_health::{
    BrokerTrouble, DiscrepancyRow, ExecutionHealth, LockedOutAccount, TroubledOrder,
};
use jt_store::admin::user_execution::{
    AdminBrokerAccount, FailedOrder, UserExecution, VerificationStatus,
};
use jt_store::broker_accounts::{AccountKind, AccountStatus, Environment};
use jt_store::job_queue::QueueDepth;
use jt_store::orders::OrderStatus;

use crate::pages::display;

fn utc(at: DateTime<Utc>) -> String {
    display::time(at, chrono_tz::UTC)
}

/// The execution sections of a user's page.
pub(super) struct UserExecutionView {
    pub(super) accounts: Vec<AccountRow>,
    pub(super) order_states: Vec<StateCount>,
    pub(super) failed_orders: Vec<FailedOrderRow>,
    pub(super) discrepancies: Vec<DiscrepancyView>,
}

impl UserExecutionView {
    pub(super) fn new(execution: UserExecution) -> Self {
        Self {
            accounts: execution
                .accounts
                .into_iter()
                .map(AccountRow::new)
                .collect(),
            order_states: execution
                .order_states
                .into_iter()
                .map(|c| StateCount::new(c.status, c.orders))
                .collect(),
            failed_orders: execution
                .failed_orders
                .into_iter()
                .map(FailedOrderRow::new)
                .collect(),
            discrepancies: execution
                .discrepancies
                .into_iter()
                .map(DiscrepancyView::new)
                .collect(),
        }
    }
}

/// A broker account of the user.
pub(super) struct AccountRow {
    pub(super) name: String,
    pub(super) kind: &'static str,
    pub(super) status: &'static str,
    pub(super) detail: String,
    pub(super) verification: &'static str,
    pub(super) verification_detail: String,
}

impl AccountRow {
    pub(super) fn new(account: AdminBrokerAccount) -> Self {
        let kind = match (account.kind, account.environment) {
            (AccountKind::Paper, _) => "paper",
            (AccountKind::Tradovate, Some(Environment::Live)) => "Tradovate live",
            (AccountKind::Tradovate, _) => "Tradovate demo",
        };
        let status = match account.status {
            AccountStatus::Unchecked => "unchecked",
            AccountStatus::Connected => "connected",
            AccountStatus::Error => "error",
            AccountStatus::LockedOut => "locked-out",
        };
        let detail = match account.locked_until.filter(|until| *until > Utc::now()) {
            Some(until) => format!("locked out until {}", utc(until)),
            None => account.status_message.unwrap_or_default(),
        };
        let (verification, verification_detail) = if !account.verification_enabled {
            ("off", String::new())
        } else {
            match account.verification_status {
                None => ("pending", "no check yet".to_owned()),
                Some(status) => (
                    status.as_str(),
                    verification_detail(
                        status,
                        account.verification_checked_at,
                        account.verification_unavailable_since,
                    ),
                ),
            }
        };
        Self {
            name: account.name,
            kind,
            status,
            detail,
            verification,
            verification_detail,
        }
    }
}

fn verification_detail(
    status: VerificationStatus,
    checked_at: Option<DateTime<Utc>>,
    unavailable_since: Option<DateTime<Utc>>,
) -> String {
    match (status, unavailable_since, checked_at) {
        (VerificationStatus::Unavailable, Some(since), _) => {
            format!("unavailable since {}", utc(since))
        }
        (_, _, Some(at)) => format!("checked {}", utc(at)),
        _ => String::new(),
    }
}

/// An order state and how many.
pub(super) struct StateCount {
    pub(super) state: &'static str,
    pub(super) orders: i64,
}

impl StateCount {
    pub(super) fn new(status: OrderStatus, orders: i64) -> Self {
        Self {
            state: status.as_str(),
            orders,
        }
    }
}

/// A failed, rejected or expired order of the user.
pub(super) struct FailedOrderRow {
    pub(super) id: i64,
    pub(super) account: String,
    pub(super) signal_id: i64,
    pub(super) order: String,
    pub(super) status: &'static str,
    pub(super) error: String,
    pub(super) created: String,
    pub(super) finished: String,
}

impl FailedOrderRow {
    pub(super) fn new(order: FailedOrder) -> Self {
        Self {
            id: order.id,
            account: order.account_name,
            signal_id: order.signal_id,
            order: format!("{} {} {}", order.action, order.quantity, order.contract),
            status: order.status.as_str(),
            error: order.error.unwrap_or_default(),
            created: utc(order.created_at),
            finished: order.finished_at.map(utc).unwrap_or_default(),
        }
    }
}

/// An open discrepancy (user page, or health page with its owner).
pub(super) struct DiscrepancyView {
    pub(super) user_id: String,
    pub(super) email: String,
    pub(super) account: String,
    pub(super) contract: String,
    pub(super) expected: i64,
    pub(super) actual: i64,
    pub(super) first_seen: String,
    pub(super) last_seen: String,
}

impl DiscrepancyView {
    pub(super) fn new(row: DiscrepancyRow) -> Self {
        Self {
            user_id: row.user_id.to_string(),
            email: row.email,
            account: row.account_name,
            contract: row.contract,
            expected: row.expected,
            actual: row.actual,
            first_seen: utc(row.first_seen),
            last_seen: utc(row.last_seen),
        }
    }
}

/// The execution sections of the health page.
pub(super) struct ExecutionHealthView {
    pub(super) queues: Vec<QueueRow>,
    pub(super) order_states: Vec<StateCount>,
    pub(super) trouble: BrokerTrouble,
    pub(super) troubled_orders: Vec<TroubleRow>,
    pub(super) locked_out_count: i64,
    pub(super) locked_out: Vec<LockedOutRow>,
    pub(super) discrepancies_open: i64,
    pub(super) discrepancies: Vec<DiscrepancyView>,
}

impl ExecutionHealthView {
    pub(super) fn new(health: ExecutionHealth) -> Self {
        Self {
            queues: health.queues.into_iter().map(QueueRow::new).collect(),
            order_states: health
                .orders_last_hour
                .into_iter()
                .map(|(status, orders)| StateCount::new(status, orders))
                .collect(),
            trouble: health.trouble,
            troubled_orders: health
                .troubled_orders
                .into_iter()
                .map(TroubleRow::new)
                .collect(),
            locked_out_count: health.locked_out_count,
            locked_out: health
                .locked_out
                .into_iter()
                .map(LockedOutRow::new)
                .collect(),
            discrepancies_open: health.discrepancies_open,
            discrepancies: health
                .discrepancies
                .into_iter()
                .map(DiscrepancyView::new)
                .collect(),
        }
    }
}

/// One queue's unfinished jobs.
pub(super) struct QueueRow {
    pub(super) queue: String,
    pub(super) queued: i64,
    pub(super) running: i64,
}

impl QueueRow {
    pub(super) fn new(depth: QueueDepth) -> Self {
        Self {
            queue: depth.queue,
            queued: depth.queued,
            running: depth.running,
        }
    }
}

/// A failed, rejected or expired order of any user (health page).
pub(super) struct TroubleRow {
    pub(super) user_id: String,
    pub(super) email: String,
    pub(super) account: String,
    pub(super) order_id: i64,
    pub(super) status: &'static str,
    pub(super) error: String,
    pub(super) finished: String,
}

impl TroubleRow {
    pub(super) fn new(order: TroubledOrder) -> Self {
        Self {
            user_id: order.user_id.to_string(),
            email: order.email,
            account: order.account_name,
            order_id: order.id,
            status: order.status.as_str(),
            error: order.error.unwrap_or_default(),
            finished: utc(order.finished_at),
        }
    }
}

/// A locked-out account (health page).
pub(super) struct LockedOutRow {
    pub(super) user_id: String,
    pub(super) email: String,
    pub(super) account: String,
    pub(super) until: String,
    pub(super) message: String,
}

impl LockedOutRow {
    pub(super) fn new(account: LockedOutAccount) -> Self {
        Self {
            user_id: account.user_id.to_string(),
            email: account.email,
            account: account.account_name,
            until: utc(account.locked_until),
            message: account.status_message.unwrap_or_default(),
        }
    }
}
