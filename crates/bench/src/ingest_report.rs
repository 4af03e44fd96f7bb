//! The result of `justtrades bench ingest`: printed as a table, saved as JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::BenchError;
use crate::ingest_options::{IngestPlan, Mode};
use crate::latency_stats::{LatencySummary, StatusCounts};
use crate::pgbench::PgbenchResult;

/// Everything a run measured, with what it ran on.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// UTC time the run finished.
    pub date: String,
    /// `git rev-parse --short HEAD` of the working directory (`-dirty` with local changes).
    pub git_commit: String,
    /// CPUs available to this process (the server and the load generator share them).
    pub machine_cores: usize,
    /// The options, defaults resolved.
    pub config: IngestPlan,
    /// The webhook side.
    pub webhooks: WebhookResult,
    /// The ordinary senders that ran alongside the hang-ups (`--background`).
    pub background: Option<WebhookResult>,
    /// pgbench on the same cluster (sustained mode).
    pub pgbench: Option<PgbenchResult>,
    /// Webhook answers per second ÷ pgbench TPS (sustained mode).
    pub ratio_webhooks_to_pgbench: Option<f64>,
}

/// What the webhooks did.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookResult {
    /// First send to last answer (to last send for hang-ups).
    pub seconds: f64,
    /// Requests written completely.
    pub sent: u64,
    /// Answers received.
    pub answered: u64,
    /// Answers per second (signals sent per second for hang-ups).
    pub per_second: f64,
    /// Latency of the answers.
    pub latency: Option<LatencySummary>,
    /// Answers by status, failures as `error: …`.
    pub statuses: StatusCounts,
    /// Signals stored in the database (any status) for the run's recorders.
    pub stored: u64,
    /// Σ per recorder of sent − stored (never below zero).
    pub lost: u64,
}

impl IngestReport {
    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let c = &self.config;
        let w = &self.webhooks;
        let mut out = format!(
            "ingest benchmark ({mode:?}): {} connections, {} recorders, {} users; commit {}, {} cores\n",
            c.concurrency,
            c.recorders,
            c.users,
            self.git_commit,
            self.machine_cores,
            mode = c.mode,
        );
        out.push_str(&format!(
            "{:<22}{:>14}{:>11}{:>11}{:>11}\n",
            "", "throughput", "p50 ms", "p99 ms", "max ms"
        ));
        if let Some(pg) = &self.pgbench {
            out.push_str(&format!(
                "{:<22}{:>10.1} tps{:>11}{:>11}{:>11}   (scale {}, -c {} -j {}, {} s in {} slices; latency avg {} ms)\n",
                "pgbench tpcb-like",
                pg.tps,
                "-",
                "-",
                "-",
                pg.scale,
                pg.clients,
                pg.threads,
                pg.seconds,
                pg.slices,
                pg.latency_average_ms
                    .map_or("?".to_owned(), |ms| format!("{ms:.2}")),
            ));
        }
        let (p50, p99, max) = latency_columns(w.latency);
        let unit = match c.mode {
            Mode::Hangup => "sent/s",
            Mode::Sustained | Mode::Burst => "req/s",
        };
        out.push_str(&format!(
            "{:<22}{:>8.1} {unit:<5}{:>11}{:>11}{:>11}\n",
            "webhooks", w.per_second, p50, p99, max
        ));
        if let Some(b) = &self.background {
            let (p50, p99, max) = latency_columns(b.latency);
            out.push_str(&format!(
                "{:<22}{:>8.1} req/s{:>11}{:>11}{:>11}   (answers {}; lost {})\n",
                "background senders",
                b.per_second,
                p50,
                p99,
                max,
                b.statuses.describe(),
                b.lost
            ));
        }
        if let Some(ratio) = self.ratio_webhooks_to_pgbench {
            out.push_str(&format!("ratio webhooks / pgbench: {ratio:.2}\n"));
        }
        let span = match c.mode {
            Mode::Hangup => "first send to last send",
            _ => "first send to last answer",
        };
        out.push_str(&format!("{span}: {:.3} s\n", w.seconds));
        out.push_str(&format!("answers: {}\n", w.statuses.describe()));
        out.push_str(&format!(
            "sent {}, stored {}, lost {}\n",
            w.sent, w.stored, w.lost
        ));
        out
    }

    /// Writes `{dir}/{kind}-{YYYYmmdd-HHMMSS}.json` and returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, BenchError> {
        std::fs::create_dir_all(dir)
            .map_err(BenchError::io(format!("create {}", dir.display())))?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("{}-{stamp}.json", self.config.file_prefix()));
        let mut json = serde_json::to_string_pretty(self)
            .map_err(|e| BenchError::io("encode the results")(e.into()))?;
        json.push('\n');
        std::fs::write(&path, json).map_err(BenchError::io(format!("write {}", path.display())))?;
        Ok(path)
    }
}

/// p50, p99 and max for the table, `-` without answers.
fn latency_columns(latency: Option<LatencySummary>) -> (String, String, String) {
    latency.map_or(("-".into(), "-".into(), "-".into()), |l| {
        (
            format!("{:.2}", l.p50_ms),
            format!("{:.2}", l.p99_ms),
            format!("{:.2}", l.max_ms),
        )
    })
}

/// The commit being measured, `unknown` outside a git checkout.
pub fn git_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|status| !status.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        None => "unknown".to_owned(),
    }
}
