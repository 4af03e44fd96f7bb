//! `pgbench` tpcb-like on the benchmark's cluster: the yardstick for "one durable
//! transaction per request" on this machine, measured in the same run as the webhooks.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use jt_store::embedded::{EmbeddedCluster, PgBinaries};
use serde::Serialize;
use tokio::process::Command;

use crate::BenchError;

/// Database pgbench initialises (dropped after its run).
const DATABASE: &str = "pgbench";

/// What pgbench measured.
#[derive(Debug, Clone, Serialize)]
pub struct PgbenchResult {
    /// Transactions per second (without initial connection time).
    pub tps: f64,
    /// pgbench's average latency, in ms.
    pub latency_average_ms: Option<f64>,
    /// `-s`: scale factor (branches).
    pub scale: u32,
    /// `-c`: clients.
    pub clients: usize,
    /// `-j`: threads.
    pub threads: usize,
    /// `-T`: seconds.
    pub seconds: u64,
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

    /// Creates and fills the pgbench database at `scale`, runs tpcb-like with `clients`
    /// for `duration`, then drops the database (its checkpoint happens before the webhooks).
    pub async fn run(
        &self,
        scale: u32,
        clients: usize,
        duration: Duration,
    ) -> Result<PgbenchResult, BenchError> {
        let threads = clients.min(2);
        let seconds = duration.as_secs().max(1);
        self.program("createdb", &[DATABASE]).await?;
        self.program("pgbench", &["-i", "-q", "-s", &scale.to_string(), DATABASE])
            .await?;
        let output = self
            .program(
                "pgbench",
                &[
                    "-c",
                    &clients.to_string(),
                    "-j",
                    &threads.to_string(),
                    "-T",
                    &seconds.to_string(),
                    "-M",
                    "prepared",
                    DATABASE,
                ],
            )
            .await?;
        self.program("dropdb", &[DATABASE]).await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let tps = parse_value(&text, "tps = ")
            .ok_or_else(|| BenchError::Pgbench(format!("printed no \"tps = \" line:\n{text}")))?;
        Ok(PgbenchResult {
            tps,
            latency_average_ms: parse_value(&text, "latency average = "),
            scale,
            clients,
            threads,
            seconds,
        })
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
}
