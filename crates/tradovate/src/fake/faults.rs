//! Fault injection for the fake: per account, the next `count` matching requests misbehave.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The kinds of trouble the fake can cause (names as accepted by `POST /_fake/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer normally after a delay (`ms`, default 200).
    Latency,
    /// HTTP 500.
    #[serde(alias = "5xx")]
    ServerError,
    /// HTTP 200 with a penalty ticket (`p-time` = `seconds`, default 1) and no result.
    #[serde(alias = "p-ticket")]
    PTicket,
    /// HTTP 200 with a penalty ticket that demands a captcha (a lock-out).
    #[serde(alias = "p-captcha")]
    PCaptcha,
    /// HTTP 423 ("about to be locked out").
    #[serde(alias = "423")]
    Locked,
    /// HTTP 429 with an empty body (locked out).
    #[serde(alias = "429")]
    TooManyRequests,
    /// Never answer; nothing is done.
    Hang,
    /// Drop the connection after reading the request; nothing is done.
    #[serde(alias = "connection_reset")]
    Reset,
    /// Carry the request out (the order is placed), then never answer.
    #[serde(alias = "accept-then-timeout")]
    AcceptThenTimeout,
    /// A business rejection of the order (`failureReason: MaxPosLimitReached`).
    Reject,
}

/// `POST /_fake/faults` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRequest {
    /// The account name (= the username that logged in).
    pub account: String,
    /// What to do.
    pub fault: FaultKind,
    /// How many matching requests it affects (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Which endpoint it hits: a path such as `order/placeorder` (the default) or
    /// `auth/accesstokenrequest`, or `any`.
    #[serde(default = "place_order_endpoint")]
    pub endpoint: String,
    /// Latency in milliseconds (`latency` only; default 200).
    #[serde(default)]
    pub ms: Option<u64>,
    /// `p-time` in seconds (`p_ticket` only; default 1).
    #[serde(default)]
    pub seconds: Option<f64>,
}

fn one() -> u32 {
    1
}

fn place_order_endpoint() -> String {
    "order/placeorder".to_owned()
}

impl FaultRequest {
    /// `count` × `fault` on the account's next order placements.
    pub fn on_orders(account: &str, fault: FaultKind, count: u32) -> Self {
        Self {
            account: account.to_owned(),
            fault,
            count,
            endpoint: place_order_endpoint(),
            ms: None,
            seconds: None,
        }
    }

    /// The same fault on another endpoint (`any` for all).
    pub fn on_endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.trim_start_matches('/').to_owned();
        self
    }

    /// With this latency.
    pub fn with_ms(mut self, ms: u64) -> Self {
        self.ms = Some(ms);
        self
    }

    /// With this `p-time`.
    pub fn with_seconds(mut self, seconds: f64) -> Self {
        self.seconds = Some(seconds);
        self
    }

    pub(crate) fn matches(&self, account: &str, endpoint: &str) -> bool {
        self.count > 0
            && self.account == account
            && (self.endpoint == "any" || self.endpoint == endpoint)
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.ms.unwrap_or(200))
    }

    pub(crate) fn penalty_seconds(&self) -> f64 {
        self.seconds.unwrap_or(1.0)
    }
}
