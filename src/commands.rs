//! What each command does: open the database, call the library, report.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use jt_store::password::Password;
use jt_store::users::{self, Email, Role, UserStatus};
use jt_store::{
    Access, AdminTx, Database, DbConfig, SecretKey, SecretKeyError, StoreError, UserId, api_tokens,
    key_rotation,
};
use jt_web::metrics::endpoint::{MetricsConfig, serve_separately as serve_metrics_separately};
use jt_web::{AppState, Application, WebConfig};

use crate::config::{
    BenchCommand, Cli, Command, ExecutionArgs, FakeTradovateArgs, GlobalArgs, RecorderCommand,
    SecretKeySource, ServeArgs, TokenCommand, UserCommand, WorkerArgs,
};

/// Actor name in the audit log for command-line operations.
const CLI_ACTOR: &str = "cli";

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The benchmark starts its own server and cluster: it opens no database here.
    if let Command::Bench(BenchCommand::Ingest(args)) = &cli.command {
        jt_bench::run_ingest(args, cli.global.pg_bin_dir.as_deref()).await?;
        return Ok(());
    }
    if let Command::FakeTradovate(args) = &cli.command {
        return fake_tradovate(args).await;
    }
    let config = db_config(&cli.global)?;
    // Only `migrate` may use the schema owner; everything else runs as the application role
    // (on the embedded database, every command may still migrate it: SPEC §4).
    let access = match cli.command {
        Command::Migrate | Command::RotateSecretKey => Access::Migrate,
        _ => Access::App,
    };
    let db = Database::open(&config, access).await?;
    let secret_key = config.secret_key.clone();
    // Close (and stop the embedded cluster we started) whatever the command's outcome.
    let result = match cli.command {
        Command::Serve(args) => serve(&db, secret_key, args, Workers::Run).await,
        Command::Web(args) => serve(&db, secret_key, args, Workers::Elsewhere).await,
        Command::Worker(args) => worker(&db, secret_key, &args).await,
        Command::Migrate => {
            eprintln!("migrations applied");
            Ok(())
        }
        Command::RotateSecretKey => rotate_secret_key(&db, &config).await,
        Command::User(UserCommand::Create { email, admin }) => {
            create_user(&db, &email, admin).await
        }
        Command::User(UserCommand::Disable { email }) => disable_user(&db, &email).await,
        Command::User(UserCommand::Enable { email }) => {
            set_status(&db, &email, UserStatus::Active).await
        }
        Command::User(UserCommand::Promote { email }) => set_role(&db, &email, Role::Admin).await,
        Command::User(UserCommand::Demote { email }) => set_role(&db, &email, Role::User).await,
        Command::Token(TokenCommand::Create { email, name }) => {
            create_token(&db, &email, &name).await
        }
        Command::Recorder(RecorderCommand::Rebuild { id, fix }) => {
            rebuild_recorder(&db, &id, fix).await
        }
        Command::Bench(BenchCommand::Orders { rate, seconds }) => {
            crate::bench_orders::bench_orders(&db, secret_key, rate, seconds).await
        }
        Command::Bench(BenchCommand::Ingest(_)) | Command::FakeTradovate(_) => {
            unreachable!("these return before the database is opened")
        }
    };
    let closed = db.close().await.context("closing the database");
    result.and(closed)
}

fn db_config(global: &GlobalArgs) -> anyhow::Result<DbConfig> {
    // The same rule as DbConfig::is_embedded, needed before the config exists.
    let embedded = global.database_url.is_none() && global.app_database_url.is_none();
    let secret_key = match SecretKeySource::from_env() {
        SecretKeySource::Value(value) => SecretKey::from_bytes(value.into_bytes())?,
        SecretKeySource::File(path) => SecretKey::read_file(&path)?,
        SecretKeySource::Absent if embedded => SecretKey::load_or_generate(&global.data_dir)?,
        SecretKeySource::Absent => return Err(SecretKeyError::Required.into()),
    };
    Ok(DbConfig {
        database_url: global.database_url.clone(),
        app_database_url: global.app_database_url.clone(),
        data_dir: global.data_dir.clone(),
        pg_bin_dir: global.pg_bin_dir.clone(),
        max_connections: 16,
        secret_key,
    })
}

/// Whether this process also runs the order worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workers {
    /// `serve`: web and worker in one process (one machine).
    Run,
    /// `web`: workers run as their own processes.
    Elsewhere,
}

async fn serve(
    db: &Database,
    secret_key: SecretKey,
    args: ServeArgs,
    workers: Workers,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another justtrades serve running? set JT_BIND)",
                args.bind
            )
        })?;
    let address = listener.local_addr()?;
    let base_url = args
        .base_url
        .unwrap_or_else(|| format!("http://{address}"))
        .trim_end_matches('/')
        .to_owned();
    let config = WebConfig {
        base_url: base_url.clone(),
        secret_key: secret_key.clone(),
        trusted_proxies: args.trusted_proxies,
    };
    let execution = execution_config(&args.execution);
    let metrics = MetricsConfig {
        token: args.metrics_token.filter(|token| !token.is_empty()),
        separate_listener: args.metrics_bind.is_some(),
    };
    let metrics_server = match args.metrics_bind {
        Some(bind) => Some(spawn_metrics_listener(bind, metrics.clone(), db.store()).await?),
        None => None,
    };
    let state = AppState::new(db.store().clone(), config)
        .with_metrics(metrics)
        .with_execution(execution.clone());
    let app = Application::from_listener(listener, state);
    tracing::info!("listening on http://{address}");
    eprintln!("Just.Trades is listening on http://{address} (public URL {base_url})");
    let mut admin = db.store().admin(CLI_ACTOR).await?;
    if users::count_users(&mut admin).await? == 0 {
        eprintln!(
            "No users yet. Create the first admin:\n  \
             cargo run --release -- user create --email you@example.com --admin"
        );
    }
    admin.commit().await?;
    let session_cleanup = jt_web::spawn_expired_session_cleanup(db.store());
    let signal_stats = jt_web::spawn_signal_stats_folding(db.store());
    // On one machine the worker runs beside the web server and stops when the server does.
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = (workers == Workers::Run).then(|| {
        tokio::spawn(run_worker(
            db.store().clone(),
            secret_key,
            execution,
            async move {
                let _ = worker_stopped.await;
            },
        ))
    });
    let served = app.serve(shutdown_signal()).await;
    let _ = stop_worker.send(());
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    session_cleanup.abort();
    signal_stats.abort();
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    served?;
    tracing::info!("server stopped");
    Ok(())
}

async fn rotate_secret_key(db: &Database, config: &DbConfig) -> anyhow::Result<()> {
    let (text, generated) = match SecretKeySource::new_key_from_env() {
        SecretKeySource::Value(value) => (value, false),
        SecretKeySource::File(path) => (
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading JT_NEW_SECRET_KEY_FILE {}", path.display()))?
                .trim()
                .to_owned(),
            false,
        ),
        SecretKeySource::Absent => (SecretKey::generate_text(), true),
    };
    let new_key = SecretKey::from_bytes(text.clone().into_bytes())?;
    let report = key_rotation::rotate_secret_key(db, config, &new_key).await?;
    eprintln!(
        "rotated: {} webhook URLs changed (users must paste the new URLs from their recorder \
         pages into TradingView); role passwords {}",
        report.webhook_urls,
        if report.role_passwords {
            "updated"
        } else {
            "NOT changed (JT_APP_DATABASE_URL is set: change that role's password yourself)"
        }
    );
    let key_is_stored_here =
        config.is_embedded() && matches!(SecretKeySource::from_env(), SecretKeySource::Absent);
    if key_is_stored_here {
        SecretKey::replace_generated(&config.data_dir, &text)?;
        let path = config.data_dir.join("secret.key");
        eprintln!("the new key is stored in {}", path.display());
    } else if generated {
        println!("{text}");
        eprintln!("set the key printed above as JT_SECRET_KEY everywhere and restart");
    } else {
        eprintln!("set the new key as JT_SECRET_KEY everywhere and restart");
    }
    Ok(())
}

/// Binds `JT_METRICS_BIND` and serves `/metrics` there until aborted.
async fn spawn_metrics_listener(
    bind: std::net::SocketAddr,
    metrics: MetricsConfig,
    store: &jt_store::Store,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let store = store.clone();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} for metrics (set JT_METRICS_BIND)"))?;
    eprintln!("metrics on http://{}/metrics", listener.local_addr()?);
    Ok(tokio::spawn(async move {
        let served =
            serve_metrics_separately(listener, &metrics, store, std::future::pending()).await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics listener stopped");
        }
    }))
}

async fn create_user(db: &Database, email: &str, admin: bool) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let password = Password::parse(&read_password()?)?;
    let role = if admin { Role::Admin } else { Role::User };
    let id = users::create_user(db.store(), &email, &password, role).await?;
    let mut tx = db.store().admin(CLI_ACTOR).await?;
    tx.audit(
        "user.create",
        Some(id),
        serde_json::json!({ "email": email.as_str(), "admin": admin }),
    )
    .await?;
    tx.commit().await?;
    eprintln!("created user {} ({id})", email.as_str());
    Ok(())
}

async fn disable_user(db: &Database, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let mut tx = db.store().admin(CLI_ACTOR).await?;
    let id = users::disable_user(&mut tx, &email).await?;
    tx.commit().await?;
    eprintln!("disabled user {} ({id})", email.as_str());
    Ok(())
}

async fn set_status(db: &Database, email: &str, status: UserStatus) -> anyhow::Result<()> {
    let change =
        async |tx: &mut AdminTx, id| users::set_user_status(tx, id, status).await.map(|_| ());
    let id = change_user(db, email, change).await?;
    eprintln!("user {email} ({id}) is now {}", status.as_str());
    Ok(())
}

async fn set_role(db: &Database, email: &str, role: Role) -> anyhow::Result<()> {
    let id = change_user(db, email, async |tx: &mut AdminTx, id| {
        users::set_user_role(tx, id, role).await
    })
    .await?;
    let role = match role {
        Role::Admin => "an administrator",
        Role::User => "a user (not an administrator)",
    };
    eprintln!("user {email} ({id}) is now {role}");
    Ok(())
}

/// Finds the user by e-mail and applies an audited `change` in one admin transaction.
async fn change_user(
    db: &Database,
    email: &str,
    change: impl AsyncFnOnce(&mut AdminTx, UserId) -> Result<(), StoreError>,
) -> anyhow::Result<UserId> {
    let email = Email::parse(email)?;
    let mut tx = db.store().admin(CLI_ACTOR).await?;
    let (id, _) = users::find_user_by_email(&mut tx, &email).await?;
    change(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

async fn create_token(db: &Database, email: &str, name: &str) -> anyhow::Result<()> {
    let email = Email::parse(email)?;
    let mut admin = db.store().admin(CLI_ACTOR).await?;
    let (user, status) = users::find_user_by_email(&mut admin, &email).await?;
    if status != "active" {
        bail!(
            "user {} is {status}; enable it before creating tokens",
            email.as_str()
        );
    }
    admin
        .audit(
            "token.create",
            Some(user),
            serde_json::json!({ "name": name }),
        )
        .await?;
    let mut tx = db.store().tenant(user).await?;
    let token = api_tokens::create_api_token(&mut tx, name).await?;
    tx.commit().await?;
    admin.commit().await?;
    println!("{}", token.token);
    Ok(())
}

async fn rebuild_recorder(db: &Database, id: &str, fix: bool) -> anyhow::Result<()> {
    let id = id
        .parse()
        .with_context(|| format!("\"{id}\" is not a recorder id (a UUID)"))?;
    let report = jt_store::rebuild::rebuild_recorder(db.store(), id, fix).await?;
    println!("replayed {} accepted signals", report.signals);
    for difference in &report.differences {
        println!("difference: {difference}");
    }
    match (report.differences.is_empty(), report.fixed) {
        (true, _) => println!("stored positions and trades equal the replay"),
        (false, true) => println!("rewrote positions and trades from the replay"),
        (false, false) => {
            bail!("stored state differs from the replay; run again with --fix to rewrite it")
        }
    }
    Ok(())
}

/// The password: prompted for without echo on a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Password (at least 10 characters): ")
            .context("reading the password");
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from stdin")?;
    Ok(input.lines().next().unwrap_or_default().to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn execution_config(args: &ExecutionArgs) -> jt_jobs::ExecutorConfig {
    jt_jobs::ExecutorConfig {
        urls: jt_jobs::BrokerUrls {
            demo: args.tradovate_demo_url.clone(),
            live: args.tradovate_live_url.clone(),
        },
        ..jt_jobs::ExecutorConfig::default()
    }
}

/// Runs the order worker until `shutdown`.
async fn run_worker(
    store: jt_store::Store,
    secret_key: SecretKey,
    execution: jt_jobs::ExecutorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = store.job_queue_pool();
    let executor = std::sync::Arc::new(jt_jobs::Executor::new(
        store,
        secret_key,
        std::sync::Arc::new(jt_jobs::SystemClock),
        execution,
    ));
    // apalis keeps workers by name: one per process.
    let name = format!("jt-worker-{}-{}", std::process::id(), instance_suffix());
    jt_jobs::run_worker(
        &name,
        executor,
        pool,
        jt_jobs::WorkerConfig::default(),
        shutdown,
    )
    .await
    .context("the order worker stopped")?;
    Ok(())
}

fn instance_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}

async fn worker(db: &Database, secret_key: SecretKey, args: &WorkerArgs) -> anyhow::Result<()> {
    // The worker's counters and histograms live in this process: serve them here.
    let metrics_server = match args.metrics_bind {
        Some(bind) => {
            let metrics = MetricsConfig {
                token: args.metrics_token.clone().filter(|token| !token.is_empty()),
                separate_listener: true,
            };
            Some(spawn_metrics_listener(bind, metrics, db.store()).await?)
        }
        None => None,
    };
    eprintln!("order worker running (Ctrl-C to stop)");
    let result = run_worker(
        db.store().clone(),
        secret_key,
        execution_config(&args.execution),
        shutdown_signal(),
    )
    .await;
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    result
}

/// Serves the fake Tradovate until Ctrl-C or SIGTERM.
async fn fake_tradovate(args: &FakeTradovateArgs) -> anyhow::Result<()> {
    let fake = jt_tradovate::fake::FakeTradovate::bind(args.bind, Default::default())
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    eprintln!(
        "fake Tradovate at {} (GET /_fake/orders, POST /_fake/faults)",
        fake.base_url()
    );
    fake.run_until(shutdown_signal()).await;
    Ok(())
}
