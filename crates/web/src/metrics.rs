//! Prometheus metrics (SPEC §10): the `metrics` facade with the Prometheus exporter as the
//! process-wide recorder, served as text at `/metrics` (see [`endpoint`]). No per-user
//! labels: label values are a fixed, small set.
//!
//! The names, their labels and who records each are listed once, in
//! [`jt_store::metric_names`] (re-exported here), so ingest, the worker and this crate
//! cannot drift apart. Gauges that describe the whole cluster (jobs queued and running,
//! open discrepancies) are read from the database at each scrape ([`cluster_gauges`]),
//! so every web process reports the same, correct figure whichever process did the work.

mod cluster_gauges;
pub mod endpoint;
mod latency_window;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use jt_store::metric_names::*;
pub use latency_window::LatencySummary;

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
