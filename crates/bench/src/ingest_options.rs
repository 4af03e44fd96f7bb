//! `justtrades bench ingest` options and the run they describe.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::BenchError;

/// Options of `justtrades bench ingest`. Some defaults depend on the mode.
#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// Bar-close burst: SIGNALS alerts over RECORDERS recorders with CONCURRENCY in flight,
    /// all fired at once; reports the time to the last answer and checks every one is stored.
    #[arg(long, conflicts_with = "hangup")]
    pub burst: bool,
    /// Senders that close the connection right after the request body, without waiting for
    /// the answer; reports how many of the sent signals were stored.
    #[arg(long)]
    pub hangup: bool,
    /// Concurrent requests, one connection each [default: 16; --burst: 1000].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Recorders the alerts are spread over [default: 64; --burst: 2000].
    #[arg(long)]
    pub recorders: Option<usize>,
    /// Users owning the recorders [default: 16; --burst: 200].
    #[arg(long)]
    pub users: Option<usize>,
    /// Seconds of webhooks in the sustained run (pgbench runs as long).
    #[arg(long, default_value_t = 20)]
    pub duration_secs: u64,
    /// The sustained run alternates pgbench and the webhooks in slices of this many seconds
    /// (pgbench first, then webhooks first, and so on), so that both see the same machine:
    /// a shared machine's speed drifts within seconds. 0: pgbench for the whole duration,
    /// then the webhooks.
    #[arg(long, default_value_t = 2)]
    pub slice_secs: u64,
    /// Alerts to send in --burst and --hangup [default: --burst: 10000; --hangup: 2000].
    #[arg(long)]
    pub signals: Option<usize>,
    /// With --hangup: this many ordinary senders (on recorders of their own) keep the
    /// server busy while the hang-ups are sent.
    #[arg(long, default_value_t = 0, requires = "hangup")]
    pub background: usize,
    /// pgbench scale factor [default: the concurrency, at least 16].
    #[arg(long)]
    pub pgbench_scale: Option<u32>,
    /// Where the JSON result is written.
    #[arg(long, default_value = "bench/results")]
    pub results_dir: PathBuf,
}

/// Which benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// pgbench and webhooks, alternating, for a fixed duration at a fixed concurrency.
    Sustained,
    /// A bar-close burst.
    Burst,
    /// Senders that hang up after the body.
    Hangup,
}

impl Mode {
    /// The result file's prefix (one kind of result file per mode).
    pub fn file_prefix(self) -> &'static str {
        match self {
            Mode::Sustained => "ingest",
            Mode::Burst => "ingest-burst",
            Mode::Hangup => "ingest-hangup",
        }
    }
}

/// The run, with every default resolved (saved with the results).
#[derive(Debug, Clone, Serialize)]
pub struct IngestPlan {
    /// Which benchmark.
    pub mode: Mode,
    /// Concurrent connections.
    pub concurrency: usize,
    /// Recorders.
    pub recorders: usize,
    /// Users.
    pub users: usize,
    /// Sustained run length (sustained mode).
    pub duration_secs: u64,
    /// Length of the alternating slices (sustained mode; 0: one each).
    pub slice_secs: u64,
    /// Alerts in all (burst and hang-up modes).
    pub signals: Option<usize>,
    /// pgbench scale (sustained mode).
    pub pgbench_scale: Option<u32>,
    /// Ordinary senders running alongside the hang-ups (hang-up mode).
    pub background: usize,
}

impl IngestPlan {
    /// Resolves the defaults of `args`' mode and checks the numbers make a run.
    pub fn from_args(args: &IngestArgs) -> Result<Self, BenchError> {
        let mode = match (args.burst, args.hangup) {
            (true, _) => Mode::Burst,
            (false, true) => Mode::Hangup,
            (false, false) => Mode::Sustained,
        };
        let (concurrency, recorders, users, signals) = match mode {
            Mode::Sustained => (16, 64, 16, None),
            Mode::Burst => (1000, 2000, 200, Some(10_000)),
            Mode::Hangup => (16, 64, 16, Some(2000)),
        };
        let concurrency = args.concurrency.unwrap_or(concurrency);
        let plan = Self {
            mode,
            concurrency,
            recorders: args.recorders.unwrap_or(recorders),
            users: args.users.unwrap_or(users),
            duration_secs: args.duration_secs,
            slice_secs: args.slice_secs,
            signals: signals.map(|default| args.signals.unwrap_or(default)),
            pgbench_scale: (mode == Mode::Sustained)
                .then(|| args.pgbench_scale.unwrap_or(concurrency.max(16) as u32)),
            background: args.background,
        };
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), BenchError> {
        let at_least_one = [
            ("--concurrency", self.concurrency),
            ("--recorders", self.recorders),
            ("--users", self.users),
            ("--duration-secs", self.duration_secs as usize),
            ("--signals", self.signals.unwrap_or(1)),
            ("--pgbench-scale", self.pgbench_scale.unwrap_or(1) as usize),
        ];
        for (flag, value) in at_least_one {
            if value == 0 {
                return Err(BenchError::Options(format!("{flag} must be at least 1")));
            }
        }
        if self.users > self.recorders {
            return Err(BenchError::Options(format!(
                "--users ({}) must not exceed --recorders ({}): every user gets a recorder",
                self.users, self.recorders
            )));
        }
        Ok(())
    }

    /// Recorders to create: the run's, plus as many again for a background load.
    pub fn recorders_to_create(&self) -> usize {
        if self.background > 0 {
            2 * self.recorders
        } else {
            self.recorders
        }
    }

    /// The result file's prefix: one kind of result per mode, hang-ups with a background
    /// load apart from those on an idle server.
    pub fn file_prefix(&self) -> String {
        let prefix = self.mode.file_prefix();
        if self.background > 0 {
            format!("{prefix}-loaded")
        } else {
            prefix.to_owned()
        }
    }

    /// The sustained run's length.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs)
    }

    /// The sustained run's slices: how long each lasts and whether pgbench runs before the
    /// webhooks in it. The order alternates, so a drift in the machine's speed weighs on
    /// both sides alike; the last slice takes what is left of the duration.
    pub fn slices(&self) -> Vec<Slice> {
        let slice = match self.slice_secs {
            0 => self.duration_secs,
            secs => secs.min(self.duration_secs),
        };
        let mut slices = Vec::new();
        let mut left = self.duration_secs;
        while left > 0 {
            let seconds = if left < 2 * slice { left } else { slice };
            slices.push(Slice {
                seconds,
                pgbench_first: slices.len() % 2 == 0,
            });
            left -= seconds;
        }
        slices
    }
}

/// One slice of the sustained run: pgbench and the webhooks, each for `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// How long each side runs.
    pub seconds: u64,
    /// pgbench runs before the webhooks (else after).
    pub pgbench_first: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(duration_secs: u64, slice_secs: u64) -> IngestPlan {
        let args = IngestArgs {
            burst: false,
            hangup: false,
            concurrency: None,
            recorders: None,
            users: None,
            duration_secs,
            slice_secs,
            signals: None,
            background: 0,
            pgbench_scale: None,
            results_dir: PathBuf::new(),
        };
        IngestPlan::from_args(&args).expect("a valid plan")
    }

    #[test]
    fn slices_alternate_and_add_up_to_the_duration() {
        let slices = plan(7, 2).slices();
        let seconds: Vec<u64> = slices.iter().map(|s| s.seconds).collect();
        let first: Vec<bool> = slices.iter().map(|s| s.pgbench_first).collect();
        assert_eq!(seconds, [2, 2, 3]);
        assert_eq!(first, [true, false, true]);
        assert_eq!(
            plan(20, 0).slices(),
            [Slice {
                seconds: 20,
                pgbench_first: true
            }]
        );
        assert_eq!(
            plan(1, 2).slices(),
            [Slice {
                seconds: 1,
                pgbench_first: true
            }]
        );
    }
}
