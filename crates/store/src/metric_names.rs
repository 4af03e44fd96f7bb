//! The names and label values of every Prometheus metric (SPEC §10), in the lowest crate
//! that records any, so ingest (here), the worker (`jt-jobs`) and the web server (`jt-web`,
//! which serves `/metrics`) cannot drift apart. No per-user labels: every label takes a
//! value from a small fixed set.
//!
//! | name | type | labels | recorded by |
//! |---|---|---|---|
//! | `jt_webhooks_total` | counter | `status` | web, per answer |
//! | `jt_webhook_seconds` | histogram | | web: request to answer (ingest latency) |
//! | `jt_ingest_batch_signals` | histogram | | store: signals per ingest transaction |
//! | `jt_ingest_flush_seconds` | histogram | | store: write and commit of one batch |
//! | `jt_ingest_phase_seconds` | histogram | `phase` (decide, acquire, apply: from remembered facts; acquire, begin, facts, decide, write, commit: under the row locks) | store: that time by phase |
//! | `jt_ingest_stale_groups_total` | counter | | store: tenant groups whose remembered facts were no longer current (written again under the locks) |
//! | `jt_ingest_queue_seconds` | histogram | | store: a signal's wait from admission until its batch starts |
//! | `jt_orders_total` | counter | `state` ([`OrderStatus`]) | worker; store for orders a disable stopped |
//! | `jt_order_latency_seconds` | histogram | | worker: signal received → order on the wire (first send) |
//! | `jt_order_send_seconds` | histogram | | worker: one place-order call to the broker |
//! | `jt_broker_errors_total` | counter | `kind` ([`BrokerErrorKind`]) | worker |
//! | `jt_jobs_queued` | gauge | `queue` | web at scrape time, from the database (all processes) |
//! | `jt_jobs_running` | gauge | `queue` | web at scrape time, from the database |
//! | `jt_discrepancies_open` | gauge | | web at scrape time, from the database |
//! | `jt_sse_clients` | gauge | | web: open live-refresh streams of this process |

use crate::orders::OrderStatus;

/// Webhooks answered, by `status` (accepted, duplicate, ignored, rejected, unknown,
/// incomplete, throttled, overloaded, unavailable, unconfirmed, error).
pub const WEBHOOKS_TOTAL: &str = "jt_webhooks_total";
/// Webhook request to answer, seconds.
pub const WEBHOOK_SECONDS: &str = "jt_webhook_seconds";
/// Signals per ingest transaction (group commit).
pub const INGEST_BATCH_SIGNALS: &str = "jt_ingest_batch_signals";
/// Time to write and commit one ingest transaction, seconds.
pub const INGEST_FLUSH_SECONDS: &str = "jt_ingest_flush_seconds";
/// One ingest transaction's time by `phase`, seconds.
pub const INGEST_PHASE_SECONDS: &str = "jt_ingest_phase_seconds";
/// A signal's wait from admission until its batch starts, seconds.
pub const INGEST_QUEUE_SECONDS: &str = "jt_ingest_queue_seconds";
/// Tenant groups whose remembered facts another writer had changed (another process, a
/// settings change): decided again from facts read under the row locks.
pub const INGEST_STALE_GROUPS_TOTAL: &str = "jt_ingest_stale_groups_total";
/// Orders that reached a `state` ([`OrderStatus`]).
pub const ORDERS_TOTAL: &str = "jt_orders_total";
/// Signal received to the order's first send to the broker, seconds.
pub const ORDER_LATENCY_SECONDS: &str = "jt_order_latency_seconds";
/// One place-order round trip to the broker, seconds.
pub const ORDER_SEND_SECONDS: &str = "jt_order_send_seconds";
/// Failed broker calls by `kind` ([`BrokerErrorKind`]).
pub const BROKER_ERRORS_TOTAL: &str = "jt_broker_errors_total";
/// Jobs waiting (pending, fetched, or failed with attempts left), by `queue`.
pub const JOBS_QUEUED: &str = "jt_jobs_queued";
/// Jobs running now, by `queue`.
pub const JOBS_RUNNING: &str = "jt_jobs_running";
/// Verification discrepancies not yet closed, all users.
pub const DISCREPANCIES_OPEN: &str = "jt_discrepancies_open";
/// Open live-refresh (server-sent events) streams of this process.
pub const SSE_CLIENTS: &str = "jt_sse_clients";

/// Every name above, for tests and documentation.
pub const ALL: &[&str] = &[
    WEBHOOKS_TOTAL,
    WEBHOOK_SECONDS,
    INGEST_BATCH_SIGNALS,
    INGEST_FLUSH_SECONDS,
    INGEST_PHASE_SECONDS,
    INGEST_QUEUE_SECONDS,
    INGEST_STALE_GROUPS_TOTAL,
    ORDERS_TOTAL,
    ORDER_LATENCY_SECONDS,
    ORDER_SEND_SECONDS,
    BROKER_ERRORS_TOTAL,
    JOBS_QUEUED,
    JOBS_RUNNING,
    DISCREPANCIES_OPEN,
    SSE_CLIENTS,
];

/// The `kind` label of [`BROKER_ERRORS_TOTAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerErrorKind {
    /// Connection error, timeout before sending, 5xx or a penalty ticket: retried.
    Retryable,
    /// No answer after sending: looked up at the broker before any resend.
    Ambiguous,
    /// Captcha, 423 or 429: the account's circuit opens for about an hour.
    LockedOut,
    /// A business rejection by the broker (final).
    Rejected,
    /// Anything else retrying cannot fix (bad credentials, unknown account; final).
    Failed,
}

impl BrokerErrorKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Ambiguous => "ambiguous",
            Self::LockedOut => "locked_out",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }
}

/// Counts orders that reached `state` in [`ORDERS_TOTAL`]: `sent` when an order goes on the
/// wire for the first time, or a final state. (`queued` is not counted: ingest queues orders
/// in SQL; waiting work shows as [`JOBS_QUEUED`] and on the admin health page.)
pub fn count_orders(state: OrderStatus, orders: u64) {
    metrics::counter!(ORDERS_TOTAL, "state" => state.as_str()).increment(orders);
}
