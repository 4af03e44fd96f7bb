//! The fake's memory: logins, tokens, accounts, orders, fills, positions and pending faults.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::fake::faults::FaultRequest;
use crate::model::{
    Account, Contract, Fill, Order, OrderAction, PlaceOrder, PlaceOrderResult, Position,
};

/// How the fake behaves when no fault is injected.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Lifetime of the access tokens it hands out (Tradovate: 80–90 minutes).
    pub token_lifetime: Duration,
    /// The price market orders fill at.
    pub fill_price: Decimal,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(80 * 60),
            fill_price: Decimal::from(100),
        }
    }
}

/// An order as the fake received it (`GET /_fake/orders`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FakeOrder {
    /// The broker order id it got.
    pub order_id: i64,
    /// Account name.
    pub account: String,
    /// Account id.
    pub account_id: i64,
    /// Contract symbol.
    pub symbol: String,
    /// Buy or sell.
    pub action: OrderAction,
    /// Contracts.
    pub qty: i64,
    /// Client order id.
    pub cl_ord_id: Option<String>,
    /// `isAutomated` as sent.
    pub is_automated: bool,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// Counters for tests (`GET /_fake/stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FakeStats {
    /// Successful `accesstokenrequest`s.
    pub logins: u64,
    /// Successful renewals.
    pub renewals: u64,
    /// `placeorder` requests that reached the handler (faulted ones included).
    pub place_order_requests: u64,
}

pub(crate) struct Session {
    pub username: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct Memory {
    next_id: i64,
    pub accounts: HashMap<String, Account>,
    pub tokens: HashMap<String, Session>,
    pub contracts: HashMap<String, i64>,
    pub orders: Vec<(FakeOrder, Order)>,
    pub fills: Vec<Fill>,
    pub positions: HashMap<(i64, i64), i64>,
    pub faults: Vec<FaultRequest>,
    pub stats: FakeStats,
}

/// Shared state of one fake server.
pub struct FakeState {
    pub(crate) config: FakeConfig,
    pub(crate) memory: Mutex<Memory>,
}

impl FakeState {
    pub(crate) fn new(config: FakeConfig) -> Self {
        Self {
            config,
            memory: Mutex::new(Memory::default()),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Memory {
    pub(crate) fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account of a username, created on its first login.
    pub(crate) fn account_for(&mut self, username: &str) -> Account {
        if let Some(account) = self.accounts.get(username) {
            return account.clone();
        }
        let id = self.next_id();
        let account = Account {
            id,
            name: username.to_owned(),
            user_id: id,
            active: true,
        };
        self.accounts.insert(username.to_owned(), account.clone());
        account
    }

    pub(crate) fn contract_id(&mut self, symbol: &str) -> i64 {
        if let Some(id) = self.contracts.get(symbol) {
            return *id;
        }
        let id = self.next_id();
        self.contracts.insert(symbol.to_owned(), id);
        id
    }

    pub(crate) fn contracts_of(&self, ids: &[i64]) -> Vec<Contract> {
        let mut found: Vec<Contract> = self
            .contracts
            .iter()
            .filter(|(_, id)| ids.contains(id))
            .map(|(name, id)| Contract {
                id: *id,
                name: name.clone(),
            })
            .collect();
        found.sort_by_key(|c| c.id);
        found
    }

    /// Takes one use of the first fault matching this account and endpoint.
    pub(crate) fn take_fault(&mut self, account: &str, endpoint: &str) -> Option<FaultRequest> {
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.matches(account, endpoint))?;
        fault.count -= 1;
        let taken = fault.clone();
        self.faults.retain(|f| f.count > 0);
        Some(taken)
    }

    /// Places (and at once fills) a market order for `account`.
    pub(crate) fn place(
        &mut self,
        account: &Account,
        order: &PlaceOrder,
        fill_price: Decimal,
    ) -> PlaceOrderResult {
        if order.account_id != account.id || order.account_spec != account.name {
            return rejection("Unauthorized", "the order names another account");
        }
        if order.order_qty < 1 {
            return rejection("MaxOrderQtyIsNotSpecified", "orderQty must be at least 1");
        }
        if order.order_type != "Market" {
            return rejection("Unsupported", "the fake fills market orders only");
        }
        if !is_contract_symbol(&order.symbol) {
            return rejection("InvalidContract", "unknown contract symbol");
        }
        let contract_id = self.contract_id(&order.symbol);
        let order_id = self.next_id();
        let now = Utc::now();
        let signed = match order.action {
            OrderAction::Buy => order.order_qty,
            OrderAction::Sell => -order.order_qty,
        };
        *self.positions.entry((account.id, contract_id)).or_default() += signed;
        let fill_id = self.next_id();
        self.fills.push(Fill {
            id: fill_id,
            order_id,
            contract_id,
            action: order.action,
            qty: order.order_qty,
            price: fill_price,
            timestamp: Some(now),
        });
        let received = FakeOrder {
            order_id,
            account: account.name.clone(),
            account_id: account.id,
            symbol: order.symbol.clone(),
            action: order.action,
            qty: order.order_qty,
            cl_ord_id: order.cl_ord_id.clone(),
            is_automated: order.is_automated,
            received_at: now,
        };
        let listed = Order {
            id: order_id,
            account_id: account.id,
            contract_id,
            action: order.action,
            ord_status: "Filled".to_owned(),
            cl_ord_id: order.cl_ord_id.clone(),
            timestamp: Some(now),
        };
        self.orders.push((received, listed));
        PlaceOrderResult {
            order_id: Some(order_id),
            failure_reason: None,
            failure_text: None,
        }
    }

    pub(crate) fn positions_of(&self, account_id: i64) -> Vec<Position> {
        let mut rows: Vec<Position> = self
            .positions
            .iter()
            .filter(|((account, _), _)| *account == account_id)
            .map(|((account, contract), net)| Position {
                id: account * 1_000_000 + contract,
                account_id: *account,
                contract_id: *contract,
                net_pos: *net,
            })
            .collect();
        rows.sort_by_key(|p| p.id);
        rows
    }
}

pub(crate) fn rejection(reason: &str, text: &str) -> PlaceOrderResult {
    PlaceOrderResult {
        order_id: None,
        failure_reason: Some(reason.to_owned()),
        failure_text: Some(text.to_owned()),
    }
}

/// `NQZ6`, `MESM26`: root, month code, one- or two-digit year.
pub(crate) fn is_contract_symbol(symbol: &str) -> bool {
    let digits = symbol
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .count();
    let Some(head) = symbol.get(..symbol.len() - digits) else {
        return false;
    };
    let mut chars = head.chars().rev();
    let month = chars.next();
    let root_len = chars.clone().count();
    (1..=2).contains(&digits)
        && month.is_some_and(|m| "FGHJKMNQUVXZ".contains(m))
        && (1..=4).contains(&root_len)
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
