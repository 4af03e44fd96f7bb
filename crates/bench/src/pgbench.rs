//! `pgbench` tpcb-like on the benchmark's cluster: the yardstick for "one durable
//! transaction per request" on this machine, measured in the same run as the webhooks.

use std::path::{Path, PathBuf};
use std::process::Output;

use jt_store::embedded::{EmbeddedCluster, PgBinaries};
use serde::Serialize;
use tokio::process::Command;

use crate::BenchError;

/// Database pgbench initialises (dropped after its run).
const DATABASE: &str = "pgbench";

/// What pgbench measured, over all its slices.
#[derive(Debug, Clone, Serialize)]
pub struct PgbenchResult {
    /// Transactions per second (without initial connection time), over all slices.
    pub tps: f64,
    /// pgbench's average latency, in ms (slices weighted by their transactions).
    pub latency_average_ms: Option<f64>,
    /// `-s`: scale factor (branches).
    pub scale: u32,
    /// `-c`: clients.
    pub clients: usize,
    /// `-j`: threads.
    pub threads: usize,
    /// `-T` summed over the slices: seconds.
    pub seconds: u64,
    /// pgbench runs this was measured in (alternating with the webhooks).
    pub slices: usize,
}

impl PgbenchResult {
    /// The slices of one run, taken together.
    pub fn of(slices: &[PgbenchSlice], scale: u32, clients: usize) -> Option<Self> {
        let seconds: u64 = slices.iter().map(|s| s.seconds).sum();
        let transactions: f64 = slices.iter().map(PgbenchSlice::transactions).sum();
        let latency = slices
            .iter()
            .map(|s| s.latency_average_ms.map(|ms| ms * s.transactions()))
            .sum::<Option<f64>>();
        (seconds > 0).then(|| Self {
            tps: transactions / seconds as f64,
            latency_average_ms: latency.map(|sum| sum / transactions.max(f64::EPSILON)),
            scale,
            clients,
            threads: threads(clients),
            seconds,
            slices: slices.len(),
        })
    }
}

/// One pgbench run.
#[derive(Debug, Clone, Copy)]
pub struct PgbenchSlice {
    /// Transactions per second (without initial connection time).
    pub tps: f64,
    /// `-T`.
    pub seconds: u64,
    /// pgbench's average latency, in ms.
    pub latency_average_ms: Option<f64>,
}

impl PgbenchSlice {
    fn transactions(&self) -> f64 {
        self.tps * self.seconds as f64
    }
}

/// `-j`: pgbench's threads (the machine has two cores).
fn threads(clients: usize) -> usize {
    clients.min(2)
}

/// How to run pgbench against one cluster.
#[derive(Debug)]
pub struct Pgbench {
    dir: PathBuf,
    port: u16,
    password: String,
}

impl Pgbench {
    /// pgbench (and createdb/dropdb) from the directory the cluster's `initdb` really is in
    /// (`/usr/local/bin/initdb` may be a link into `/usr/lib/postgresql/15/bin`).
    pub fn for_cluster(
        cluster: &EmbeddedCluster,
        pg_bin_dir: Option<&Path>,
    ) -> Result<Self, BenchError> {
        let initdb = PgBinaries::find(pg_bin_dir)?.program("initdb");
        let dir = std::fs::canonicalize(&initdb)
            .map_err(BenchError::io(format!("resolve {}", initdb.display())))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for program in ["pgbench", "createdb", "dropdb", "vacuumdb"] {
            if !dir.join(program).is_file() {
                return Err(BenchError::Pgbench(format!(
                    "is not installed: {program} is missing from {} (Debian: it comes with \
                     the postgresql package; or set JT_PG_BIN_DIR)",
                    dir.display()
                )));
            }
        }
        Ok(Self {
            dir,
            port: cluster.port(),
            password: cluster.superuser_password().to_owned(),
        })
    }

    /// Creates and fills the pgbench database at `scale` (its checkpoint happens before
    /// anything is measured).
    pub async fn prepare(&self, scale: u32) -> Result<(), BenchError> {
        self.program("createdb", &[DATABASE]).await?;
        self.program("pgbench", &["-i", "-q", "-s", &scale.to_string(), DATABASE])
            .await
            .map(drop)
    }

    /// Runs tpcb-like with `clients` for `seconds` on the prepared database, without
    /// pgbench's vacuum first: the slices of a run together do what one run of their whole
    /// length would (`pgbench -i` vacuumed already).
    pub async fn measure(&self, clients: usize, seconds: u64) -> Result<PgbenchSlice, BenchError> {
        let seconds = seconds.max(1);
        let output = self
            .program(
                "pgbench",
                &[
                    "-n",
                    "-c",
                    &clients.to_string(),
                    "-j",
                    &threads(clients).to_string(),
                    "-T",
                    &seconds.to_string(),
                    "-M",
                    "prepared",
                    DATABASE,
                ],
            )
            .await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let tps = parse_value(&text, "tps = ")
            .ok_or_else(|| BenchError::Pgbench(format!("printed no \"tps = \" line:\n{text}")))?;
        Ok(PgbenchSlice {
            tps,
            seconds,
            latency_average_ms: parse_value(&text, "latency average = "),
        })
    }

    /// Drops the database [`Pgbench::prepare`] made.
    pub async fn drop_database(&self) -> Result<(), BenchError> {
        self.program("dropdb", &[DATABASE]).await.map(drop)
    }

    /// Gathers the planner statistics of `database`, as autovacuum does on a database that
    /// has run for a minute.
    pub async fn analyze(&self, database: &str) -> Result<(), BenchError> {
        self.program("vacuumdb", &["--analyze-only", "--quiet", database])
            .await
            .map(drop)
    }

    /// Runs a client program as the cluster superuser over loopback TCP.
    async fn program(&self, name: &str, args: &[&str]) -> Result<Output, BenchError> {
        let output = Command::new(self.dir.join(name))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(args)
            // Only this child sees it; the cluster is a throwaway one.
            .env("PGPASSWORD", &self.password)
            .output()
            .await
            .map_err(BenchError::io(format!("run {name}")))?;
        if !output.status.success() {
            return Err(BenchError::Pgbench(format!(
                "step `{name} {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(output)
    }
}

/// The number after `prefix` on the first line that starts with it.
fn parse_value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tps_and_latency_from_pgbench_output() {
        let output = "transaction type: <builtin: TPC-B (sort of)>\n\
            scaling factor: 16\nquery mode: prepared\nnumber of clients: 16\n\
            latency average = 17.834 ms\n\
            initial connection time = 12.345 ms\n\
            tps = 896.967014 (without initial connection time)\n";
        assert_eq!(parse_value(output, "tps = "), Some(896.967014));
        assert_eq!(parse_value(output, "latency average = "), Some(17.834));
        assert_eq!(parse_value("no result", "tps = "), None);
    }

    #[test]
    fn slices_are_summed_by_their_transactions() {
        let slice = |tps, seconds, latency| PgbenchSlice {
            tps,
            seconds,
            latency_average_ms: Some(latency),
        };
        // 2,000 + 6,000 transactions in 4 s; latencies weighted 1 : 3.
        let result = PgbenchResult::of(&[slice(1000.0, 2, 16.0), slice(3000.0, 2, 4.0)], 16, 16)
            .expect("two slices make a result");
        assert_eq!(result.tps, 2000.0);
        assert_eq!(result.latency_average_ms, Some(7.0));
        assert_eq!((result.seconds, result.slices, result.threads), (4, 2, 2));
        assert!(PgbenchResult::of(&[], 16, 16).is_none());
    }
}
