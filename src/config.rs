//! The typed configuration: flags and environment variables, validated at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jt_web::client_ip::TrustedProxies;

/// The secret key's environment variable.
pub const SECRET_KEY_ENV: &str = "JT_SECRET_KEY";
/// The environment variable naming a file that holds the secret key.
pub const SECRET_KEY_FILE_ENV: &str = "JT_SECRET_KEY_FILE";

/// The new key's environment variable for `rotate-secret-key`.
pub const NEW_SECRET_KEY_ENV: &str = "JT_NEW_SECRET_KEY";
/// The environment variable naming a file with the new key for `rotate-secret-key`.
pub const NEW_SECRET_KEY_FILE_ENV: &str = "JT_NEW_SECRET_KEY_FILE";

/// Where the secret key comes from, read from the environment at start.
#[derive(Debug)]
pub enum SecretKeySource {
    /// `JT_SECRET_KEY`.
    Value(String),
    /// `JT_SECRET_KEY_FILE`.
    File(PathBuf),
    /// Neither: generated in the data dir (embedded database only).
    Absent,
}

impl SecretKeySource {
    /// `JT_SECRET_KEY` wins over `JT_SECRET_KEY_FILE`.
    pub fn from_env() -> Self {
        Self::from_variables(SECRET_KEY_ENV, SECRET_KEY_FILE_ENV)
    }

    /// The new key of `rotate-secret-key`: `JT_NEW_SECRET_KEY`, `JT_NEW_SECRET_KEY_FILE`.
    pub fn new_key_from_env() -> Self {
        Self::from_variables(NEW_SECRET_KEY_ENV, NEW_SECRET_KEY_FILE_ENV)
    }

    fn from_variables(value: &str, file: &str) -> Self {
        if let Some(value) = std::env::var_os(value) {
            return Self::Value(value.to_string_lossy().into_owned());
        }
        match std::env::var_os(file) {
            Some(path) if !path.is_empty() => Self::File(PathBuf::from(path)),
            _ => Self::Absent,
        }
    }
}

/// Just.Trades: signal-based position tracking and execution for TradingView strategies.
#[derive(Debug, Parser)]
#[command(
    name = "justtrades",
    version,
    about,
    propagate_version = true,
    after_help = "Secret key (never a flag): JT_SECRET_KEY (32+ bytes) or JT_SECRET_KEY_FILE \
                  (a file holding it). Required with DATABASE_URL or JT_APP_DATABASE_URL; \
                  generated into JT_DATA_DIR/secret.key only for the embedded database."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares (database, secrets, logs).
///
/// The secret key is deliberately not a flag (command lines are visible in `ps`): it comes
/// from [`JT_SECRET_KEY`](SECRET_KEY_ENV) or the file named in
/// [`JT_SECRET_KEY_FILE`](SECRET_KEY_FILE_ENV); see [`SecretKeySource`].
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// PostgreSQL server to use, as its schema owner. Without it, a private cluster is run
    /// from the machine's PostgreSQL binaries in JT_DATA_DIR.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connection for the application role `jt_app`, when DATABASE_URL's role may not
    /// create it.
    #[arg(
        long,
        env = "JT_APP_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub app_database_url: Option<String>,
    /// Directory for the embedded cluster and the generated secret key.
    #[arg(long, env = "JT_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Directory holding initdb/pg_ctl/postgres (default: PATH, /usr/lib/postgresql/*/bin).
    #[arg(long, env = "JT_PG_BIN_DIR", global = true)]
    pub pg_bin_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "JT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

/// How logs are written (to stderr).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the background workers (on the embedded database, migrate
    /// first).
    Serve(ServeArgs),
    /// Run the web server only (production: the `web` process; never migrates).
    Web(ServeArgs),
    /// Run only the order worker (execution jobs); several may run at once.
    Worker(WorkerArgs),
    /// Apply database migrations as the schema owner (DATABASE_URL) and exit; production's
    /// release command.
    Migrate,
    /// Move webhook URLs and role passwords to a new secret key (as the schema owner).
    /// The new key comes from JT_NEW_SECRET_KEY or JT_NEW_SECRET_KEY_FILE; without either,
    /// one is generated (printed on stdout, or stored in JT_DATA_DIR for the embedded
    /// database). Every webhook URL changes. See README "Rotating JT_SECRET_KEY".
    RotateSecretKey,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Operate on recorders.
    #[command(subcommand)]
    Recorder(RecorderCommand),
    /// Benchmarks against a server on a fresh embedded cluster (results in bench/results/).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a fake Tradovate (REST base URL http://ADDR/v1) for tests and demos; no database.
    FakeTradovate(FakeTradovateArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Webhook throughput and latency vs pgbench tpcb-like on the same cluster; --burst for a
    /// bar-close burst, --hangup for senders that hang up. Ignores DATABASE_URL.
    Ingest(jt_bench::IngestArgs),
    /// Signal → order at a fake Tradovate: p50/p99 at a fixed rate (writes bench/results/).
    Orders {
        /// Signals per second.
        #[arg(long, default_value_t = 50)]
        rate: u32,
        /// For how long.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
}

#[derive(Debug, Args)]
pub struct FakeTradovateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub bind: SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum RecorderCommand {
    /// Replay every accepted signal of a recorder and check the stored positions and trades
    /// equal the replay. Exits 1 when they differ (unless --fix rewrote them).
    Rebuild {
        /// Recorder id.
        #[arg(long)]
        id: String,
        /// Rewrite positions and trades from the replay when they differ.
        #[arg(long)]
        fix: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "JT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Public URL of this server (used in webhook URLs); defaults to http://{bind}.
    #[arg(long, env = "JT_BASE_URL")]
    pub base_url: Option<String>,
    /// Reverse proxies (IPs or CIDR ranges, comma-separated) whose Fly-Client-IP /
    /// X-Forwarded-For headers name the client. Empty: the TCP peer is the client.
    #[arg(long, env = "JT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,
    /// Serve /metrics on this address instead of the main listener (e.g. fly.toml's
    /// [metrics] port).
    #[arg(long, env = "JT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Require `Authorization: Bearer <token>` on /metrics (open when unset).
    #[arg(long, env = "JT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// `worker`: where orders go, and where this process's metrics are served.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Serve this worker's /metrics (orders, order latency, broker errors: recorded where
    /// the orders are sent) on this address; none when unset.
    #[arg(long, env = "JT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Require `Authorization: Bearer <token>` on /metrics (open when unset).
    #[arg(long, env = "JT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// Where orders go.
#[derive(Debug, Clone, Args)]
pub struct ExecutionArgs {
    /// Tradovate demo REST base URL (point it at `justtrades fake-tradovate` to try things).
    #[arg(
        long,
        env = "JT_TRADOVATE_DEMO_URL",
        default_value = "https://demo.tradovateapi.com/v1"
    )]
    pub tradovate_demo_url: String,
    /// Tradovate live REST base URL.
    #[arg(
        long,
        env = "JT_TRADOVATE_LIVE_URL",
        default_value = "https://live.tradovateapi.com/v1"
    )]
    pub tradovate_live_url: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin (or prompted for on a terminal).
    Create {
        /// Email address (unique, case-insensitive).
        #[arg(long)]
        email: String,
        /// Make the user an administrator (admin console).
        #[arg(long)]
        admin: bool,
    },
    /// Disable a user: no log-in, webhooks refused, execution stopped.
    Disable {
        /// Email address.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Email address.
        #[arg(long)]
        email: String,
    },
    /// Make a user an administrator (admin console at /admin).
    Promote {
        /// Email address.
        #[arg(long)]
        email: String,
    },
    /// Take a user's administrator role away.
    Demote {
        /// Email address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print only the token.
    Create {
        /// Email address of the token's owner.
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
    },
}
