//! `justtrades bench ingest`: a fresh server and cluster, users and recorders, pgbench, the
//! webhook load, the stored-signal check, then everything stopped and removed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jt_store::{Access, DATABASE_NAME, Database, DbConfig, SecretKey, Store};

use crate::BenchError;
use crate::ingest_options::{IngestArgs, IngestPlan, Mode};
use crate::ingest_report::{IngestReport, WebhookResult, git_commit};
use crate::latency_stats::LatencySummary;
use crate::load_generator::{
    LoadOutcome, LoadTarget, SustainedLoad, Until, run_burst, run_hangups, run_sustained,
};
use crate::pgbench::{Pgbench, PgbenchResult};
use crate::provisioning::{Recorders, lost, provision, stored_per_recorder};
use crate::server_process::{BenchServer, TempDataDir};

/// How long stored counts may keep changing after the load (hung-up senders' signals are
/// still being processed when the load generator is done).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Recorders of their own for the warm-up, and how long it lasts.
const WARM_UP_RECORDERS: usize = 16;
const WARM_UP: Duration = Duration::from_secs(3);

/// Runs the benchmark `args` describe, prints the table and saves the JSON result.
/// `pg_bin_dir` is `JT_PG_BIN_DIR`.
pub async fn run_ingest(
    args: &IngestArgs,
    pg_bin_dir: Option<&Path>,
) -> Result<IngestReport, BenchError> {
    let plan = IngestPlan::from_args(args)?;
    let exe = std::env::current_exe().map_err(BenchError::io("find this executable"))?;
    let data = TempDataDir::create()?;
    // Generated before the server starts, so the server uses it too (webhook tokens).
    let secret = SecretKey::load_or_generate(data.path())?;
    eprintln!(
        "starting a server on a fresh cluster in {}",
        data.path().display()
    );
    let server = BenchServer::start(&exe, data.path(), pg_bin_dir).await?;
    let measured = measure(&plan, &server, &secret, data.path(), pg_bin_dir).await;
    eprintln!("stopping the server");
    let stopped = server.stop().await;
    drop(data);
    let report = measured?;
    stopped?;
    print!("{}", report.table());
    let path = report.save(&args.results_dir)?;
    println!("saved {}", path.display());
    Ok(report)
}

async fn measure(
    plan: &IngestPlan,
    server: &BenchServer,
    secret: &SecretKey,
    data_dir: &Path,
    pg_bin_dir: Option<&Path>,
) -> Result<IngestReport, BenchError> {
    let db = Database::open(
        &DbConfig {
            database_url: None,
            app_database_url: None,
            data_dir: data_dir.to_path_buf(),
            pg_bin_dir: pg_bin_dir.map(Path::to_path_buf),
            max_connections: 4,
            secret_key: secret.clone(),
        },
        Access::App,
    )
    .await?;
    let measured = measure_with(plan, server, secret, &db, pg_bin_dir).await;
    db.close().await?;
    measured
}

async fn measure_with(
    plan: &IngestPlan,
    server: &BenchServer,
    secret: &SecretKey,
    db: &Database,
    pg_bin_dir: Option<&Path>,
) -> Result<IngestReport, BenchError> {
    let created = plan.recorders_to_create();
    eprintln!("creating {} users and {created} recorders", plan.users);
    let mut recorders =
        provision(db.store(), secret, plan.users, created + WARM_UP_RECORDERS).await?;
    let warm_up_recorders = recorders.split_off(created);
    let cluster = db
        .cluster()
        .map(|cluster| Pgbench::for_cluster(cluster, pg_bin_dir))
        .transpose()?;
    if let Some(cluster) = &cluster {
        warm_up(server, warm_up_recorders, cluster).await?;
    }
    let Measured {
        mut outcome,
        background,
        pgbench,
    } = run_load(plan, server, &recorders.webhook_paths, cluster.as_ref()).await?;
    let stored = settled_counts(db.store(), &recorders).await?;
    let (main_stored, background_stored) = stored.split_at(plan.recorders);
    Ok(IngestReport {
        date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        git_commit: git_commit(),
        machine_cores: std::thread::available_parallelism().map_or(1, usize::from),
        config: plan.clone(),
        webhooks: webhook_result(plan.mode, &mut outcome, main_stored),
        background: background
            .map(|mut outcome| webhook_result(Mode::Sustained, &mut outcome, background_stored)),
        ratio_webhooks_to_pgbench: pgbench
            .as_ref()
            .map(|pg| outcome.answers_per_second() / pg.tps),
        pgbench,
    })
}

/// Makes the fresh database look like one that has run for a minute: signals stored (on
/// recorders of their own) and planner statistics gathered, as autovacuum does within its
/// first minute. Without statistics, the plans PostgreSQL caches for ingest's statements
/// are made for empty tables and can probe the wrong index until autovacuum's first ANALYZE
/// replaces them: the measurement would be of a database's first minute.
async fn warm_up(
    server: &BenchServer,
    recorders: Recorders,
    cluster: &Pgbench,
) -> Result<(), BenchError> {
    eprintln!(
        "warm-up: {} s of webhooks on {} recorders of their own, then ANALYZE",
        WARM_UP.as_secs(),
        recorders.ids.len()
    );
    let target = LoadTarget {
        address: server.address,
        webhook_paths: recorders.webhook_paths,
    };
    run_sustained(&target, WARM_UP_RECORDERS, Until::Elapsed(WARM_UP)).await;
    cluster.analyze(DATABASE_NAME).await
}

/// What the load of a run did.
struct Measured {
    outcome: LoadOutcome,
    /// The background senders' (hang-ups with `--background`).
    background: Option<LoadOutcome>,
    /// pgbench's (sustained mode on our own cluster).
    pgbench: Option<PgbenchResult>,
}

impl Measured {
    /// The webhooks' outcome, nothing alongside.
    fn alone(outcome: LoadOutcome) -> Self {
        Self {
            outcome,
            background: None,
            pgbench: None,
        }
    }
}

/// The webhook load of `plan`'s mode, with pgbench in sustained mode.
async fn run_load(
    plan: &IngestPlan,
    server: &BenchServer,
    webhook_paths: &[String],
    cluster: Option<&Pgbench>,
) -> Result<Measured, BenchError> {
    // The run's recorders first; a background load gets the rest.
    let (main_paths, background_paths) = webhook_paths.split_at(plan.recorders);
    let target = |paths: &[String]| LoadTarget {
        address: server.address,
        webhook_paths: paths.to_vec(),
    };
    let signals = plan.signals.unwrap_or(0);
    eprintln!(
        "webhooks: {:?} with {} connections",
        plan.mode, plan.concurrency
    );
    Ok(match plan.mode {
        Mode::Sustained => run_sliced(plan, &target(main_paths), cluster).await?,
        Mode::Burst => {
            Measured::alone(run_burst(&target(main_paths), plan.concurrency, signals).await)
        }
        Mode::Hangup => {
            let stop = Arc::new(AtomicBool::new(false));
            let hangups = async {
                let outcome = run_hangups(&target(main_paths), plan.concurrency, signals).await;
                stop.store(true, Ordering::Relaxed);
                outcome
            };
            let background = async {
                if plan.background == 0 {
                    return None;
                }
                let until = Until::Stopped(stop.clone());
                Some(run_sustained(&target(background_paths), plan.background, until).await)
            };
            let (outcome, background) = tokio::join!(hangups, background);
            Measured {
                background,
                ..Measured::alone(outcome)
            }
        }
    })
}

/// The sustained webhooks, alternating with pgbench on the same cluster in `plan`'s slices
/// (without a cluster of our own, the webhooks alone).
async fn run_sliced(
    plan: &IngestPlan,
    target: &LoadTarget,
    cluster: Option<&Pgbench>,
) -> Result<Measured, BenchError> {
    let mut load = SustainedLoad::new(target, plan.concurrency);
    let Some(pgbench) = cluster else {
        load.run(Until::Elapsed(plan.duration())).await;
        return Ok(Measured::alone(load.finish()));
    };
    let slices = plan.slices();
    let scale = plan.pgbench_scale.unwrap_or(16);
    eprintln!(
        "pgbench (scale {scale}, {} clients) alternating with the webhooks: {} s each in {} slices",
        plan.concurrency,
        plan.duration_secs,
        slices.len()
    );
    pgbench.prepare(scale).await?;
    let mut measured = Vec::with_capacity(slices.len());
    for slice in slices {
        let webhooks = Until::Elapsed(Duration::from_secs(slice.seconds));
        if slice.pgbench_first {
            measured.push(pgbench.measure(plan.concurrency, slice.seconds).await?);
            load.run(webhooks).await;
        } else {
            load.run(webhooks).await;
            measured.push(pgbench.measure(plan.concurrency, slice.seconds).await?);
        }
    }
    pgbench.drop_database().await?;
    Ok(Measured {
        pgbench: PgbenchResult::of(&measured, scale, plan.concurrency),
        ..Measured::alone(load.finish())
    })
}

/// Stored signals per recorder once the counts stop changing (or after [`SETTLE_TIMEOUT`]).
async fn settled_counts(store: &Store, recorders: &Recorders) -> Result<Vec<u64>, BenchError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut counts = stored_per_recorder(store, &recorders.ids).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = stored_per_recorder(store, &recorders.ids).await?;
        if again == counts || Instant::now() > deadline {
            return Ok(again);
        }
        counts = again;
    }
}

fn webhook_result(mode: Mode, outcome: &mut LoadOutcome, stored: &[u64]) -> WebhookResult {
    // Hung-up senders get no answers: their rate is of signals sent.
    let per_second = match mode {
        Mode::Hangup => outcome.sent() as f64 / outcome.elapsed.as_secs_f64().max(f64::EPSILON),
        Mode::Sustained | Mode::Burst => outcome.answers_per_second(),
    };
    WebhookResult {
        seconds: outcome.elapsed.as_secs_f64(),
        sent: outcome.sent(),
        answered: outcome.latencies.len() as u64,
        per_second,
        latency: LatencySummary::of(&mut outcome.latencies),
        statuses: outcome.statuses.clone(),
        stored: stored.iter().sum(),
        lost: lost(&outcome.sent_per_recorder, stored),
    }
}
