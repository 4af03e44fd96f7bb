//! The typed configuration: flags and environment variables, validated at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Just.Trades: signal-based position tracking and execution for TradingView strategies.
#[derive(Debug, Parser)]
#[command(name = "justtrades", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares (database, secrets, logs).
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
    /// Secret key (32+ bytes) that derives webhook URLs and database role passwords.
    /// Generated into JT_DATA_DIR/secret.key when absent. Keep it stable.
    #[arg(long, env = "JT_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
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
    /// Run the web server and the order worker (migrates first).
    Serve(ServeArgs),
    /// Run only the order worker (execution jobs); several may run at once.
    Worker(ExecutionArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Operate on recorders.
    #[command(subcommand)]
    Recorder(RecorderCommand),
    /// Run a fake Tradovate (REST base URL http://ADDR/v1) for tests and demos; no database.
    FakeTradovate(FakeTradovateArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
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
