//! Prometheus metrics (SPEC §10): the `metrics` facade with the Prometheus exporter as the
//! process-wide recorder, served as text at `/metrics` (see [`endpoint`]). No per-user
//! labels: label values are a fixed, small set.
//!
//! Names (`jt_*`):
//! - `jt_webhooks_total{status}` counter — accepted, duplicate, ignored, rejected, unknown,
//!   unavailable, overloaded, error (and the group-commit ingest's incomplete, throttled,
//!   unconfirmed) ([`record_webhook`]);
//! - `jt_webhook_seconds` histogram — time from request to answer ([`record_webhook`]);
//! - `jt_ingest_batch_signals` histogram — signals per ingest transaction, and
//!   `jt_ingest_flush_seconds` histogram — time to write and commit one,
//!   `jt_ingest_phase_seconds{phase}` histogram — that time by phase (acquire, begin,
//!   prepare, decide, write, orders, commit), and `jt_ingest_queue_seconds` histogram — a
//!   signal's wait from admission until its batch starts (recorded by the ingestor in
//!   `jt-store` through the `metrics` facade);
//! - for the execution, jobs, verification and live-refresh work (declared here so names do
//!   not drift; recorded by their code): `jt_orders_total{state}` counter,
//!   `jt_order_latency_seconds` histogram (signal to order on the wire),
//!   `jt_jobs_queued` gauge, `jt_broker_errors_total{kind}` counter,
//!   `jt_discrepancies_open` gauge, `jt_sse_clients` gauge.

pub mod endpoint;
mod latency_window;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use latency_window::LatencySummary;

/// Webhooks answered, by `status`.
pub const WEBHOOKS_TOTAL: &str = "jt_webhooks_total";
/// Webhook answer time.
pub const WEBHOOK_SECONDS: &str = "jt_webhook_seconds";
/// Signals per ingest transaction.
pub const INGEST_BATCH_SIGNALS: &str = "jt_ingest_batch_signals";
/// Time to write and commit one ingest transaction.
pub const INGEST_FLUSH_SECONDS: &str = "jt_ingest_flush_seconds";
/// Orders by final or current `state`.
pub const ORDERS_TOTAL: &str = "jt_orders_total";
/// Signal received to order sent to the broker.
pub const ORDER_LATENCY_SECONDS: &str = "jt_order_latency_seconds";
/// Jobs waiting in the queue.
pub const JOBS_QUEUED: &str = "jt_jobs_queued";
/// Broker call failures by `kind`.
pub const BROKER_ERRORS_TOTAL: &str = "jt_broker_errors_total";
/// Verification discrepancies not yet closed.
pub const DISCREPANCIES_OPEN: &str = "jt_discrepancies_open";
/// Open live-refresh (server-sent events) connections.
pub const SSE_CLIENTS: &str = "jt_sse_clients";

/// Seconds buckets: webhook answers aim at < 20 ms and must stay under TradingView's 3 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0,
];
/// Batch-size buckets (signals per transaction).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// How often histogram samples are folded into buckets when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Records one answered webhook: its status (one of the `jt_webhooks_total` values above)
/// and the time from receiving it to answering. Also feeds the admin health page's
/// p50/p99 of this process.
pub fn record_webhook(status: &'static str, latency: Duration) {
    handle();
    metrics::counter!(WEBHOOKS_TOTAL, "status" => status).increment(1);
    metrics::histogram!(WEBHOOK_SECONDS).record(latency.as_secs_f64());
    latency_window::record(latency);
}

/// Webhook answer time percentiles of this process over the last minutes.
pub fn webhook_latency() -> LatencySummary {
    latency_window::summary()
}

/// The process-wide Prometheus recorder, installed on first use. If another recorder was
/// installed first (not by our code), metrics go there and `/metrics` shows only what this
/// handle saw.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "a metrics recorder was already installed");
        }
        let upkeep = handle.clone();
        // A plain thread: it must outlive any one tokio runtime (tests run many).
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no metrics upkeep thread: histograms drain at scrapes only");
        }
        handle
    })
}

fn builder() -> PrometheusBuilder {
    let seconds = Matcher::Suffix("_seconds".to_owned());
    let batches = Matcher::Full(INGEST_BATCH_SIGNALS.to_owned());
    // Both calls fail only for an empty bucket list; ours are constants.
    let with_buckets = PrometheusBuilder::new()
        .set_buckets_for_metric(seconds, SECONDS_BUCKETS)
        .and_then(|builder| builder.set_buckets_for_metric(batches, BATCH_BUCKETS));
    with_buckets.unwrap_or_else(|error| {
        tracing::error!(%error, "metric buckets refused; histograms render as summaries");
        PrometheusBuilder::new()
    })
}
