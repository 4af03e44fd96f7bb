//! Benchmarks for Just.Trades (SPEC §11), run by `justtrades bench …` against a real server
//! on a fresh embedded cluster. The binary only parses the command line and calls
//! [`run_ingest`].
//!
//! The load generator ([`load_generator`]) speaks raw HTTP/1.1 over tokio TCP with
//! pre-built requests, so it costs the server's machine little CPU.

mod error;
pub mod http_response;
mod ingest_options;
mod ingest_report;
mod ingest_run;
pub mod latency_stats;
pub mod load_generator;
mod pgbench;
pub mod provisioning;
mod server_process;
pub mod signal_mix;

pub use error::BenchError;
pub use ingest_options::{IngestArgs, IngestPlan, Mode};
pub use ingest_report::{IngestReport, WebhookResult};
pub use ingest_run::run_ingest;
pub use pgbench::PgbenchResult;
