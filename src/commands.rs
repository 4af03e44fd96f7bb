//! What each command does: open the database, call the library, report.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use jt_store::password::Password;
use jt_store::users::{self, Email, Role};
use jt_store::{Database, DbConfig, SecretKey, api_tokens};
use jt_web::{AppState, Application, WebConfig};

use crate::config::{
    BenchCommand, Cli, Command, ExecutionArgs, FakeTradovateArgs, GlobalArgs, RecorderCommand,
    ServeArgs, TokenCommand, UserCommand,
};

/// Actor name in the audit log for command-line operations.
const CLI_ACTOR: &str = "cli";

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::FakeTradovate(args) = &cli.command {
        return fake_tradovate(args).await;
    }
    let secret_key = SecretKey::load(cli.global.secret_key.as_deref(), &cli.global.data_dir)?;
    let db = open_database(&cli.global, secret_key.clone()).await?;
    // Close (and stop the embedded cluster we started) whatever the command's outcome.
    let result = match cli.command {
        Command::Serve(args) => serve(&db, secret_key, args).await,
        Command::Worker(args) => worker(&db, secret_key, &args).await,
        Command::Migrate => {
            eprintln!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create { email, admin }) => {
            create_user(&db, &email, admin).await
        }
        Command::User(UserCommand::Disable { email }) => disable_user(&db, &email).await,
        Command::Token(TokenCommand::Create { email, name }) => {
            create_token(&db, &email, &name).await
        }
        Command::Recorder(RecorderCommand::Rebuild { id, fix }) => {
            rebuild_recorder(&db, &id, fix).await
        }
        Command::FakeTradovate(args) => fake_tradovate(&args).await,
        Command::Bench(BenchCommand::Orders { rate, seconds }) => {
            crate::bench_orders::bench_orders(&db, secret_key, rate, seconds).await
        }
    };
    let closed = db.close().await.context("closing the database");
    result.and(closed)
}

async fn open_database(global: &GlobalArgs, secret_key: SecretKey) -> anyhow::Result<Database> {
    let config = DbConfig {
        database_url: global.database_url.clone(),
        app_database_url: global.app_database_url.clone(),
        data_dir: global.data_dir.clone(),
        pg_bin_dir: global.pg_bin_dir.clone(),
        max_connections: 16,
        secret_key,
    };
    Ok(Database::open(&config).await?)
}

async fn serve(db: &Database, secret_key: SecretKey, args: ServeArgs) -> anyhow::Result<()> {
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
    };
    let execution = execution_config(&args.execution);
    let state = AppState::new(db.store().clone(), config).with_execution(execution.clone());
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
    // The worker runs beside the web server (one machine); it stops when the server does.
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(
        db.store().clone(),
        secret_key,
        execution,
        async move {
            let _ = worker_stopped.await;
        },
    ));
    let served = app.serve(shutdown_signal()).await;
    let _ = stop_worker.send(());
    let _ = worker.await;
    session_cleanup.abort();
    served?;
    tracing::info!("server stopped");
    Ok(())
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

async fn worker(db: &Database, secret_key: SecretKey, args: &ExecutionArgs) -> anyhow::Result<()> {
    eprintln!("order worker running (Ctrl-C to stop)");
    run_worker(
        db.store().clone(),
        secret_key,
        execution_config(args),
        shutdown_signal(),
    )
    .await
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
