//! Getting a database ready: the embedded cluster or `DATABASE_URL`, roles, migrations, and
//! the application pool (SPEC §4, §5).

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::app_role_check::verify_app_role;
use crate::embedded::{ClusterOptions, EmbeddedCluster, EmbeddedError};
use crate::{SecretKey, Store, StoreError};

/// Owner of the schema: runs migrations, owns every table.
pub const OWNER_ROLE: &str = "jt_owner";
/// The role the application connects as: no superuser, no owner, no BYPASSRLS.
pub const APP_ROLE: &str = "jt_app";
/// Database name inside the embedded cluster.
pub const DATABASE_NAME: &str = "justtrades";
/// `application_name` of our connections (used to see whether other processes still use the
/// embedded cluster before stopping it).
pub const APPLICATION_NAME: &str = "justtrades";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Where the database is and how to reach it.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `DATABASE_URL`: an existing server, connected to as the schema owner. `None` = embedded.
    pub database_url: Option<String>,
    /// `JT_APP_DATABASE_URL`: the application role's connection when we may not manage it.
    pub app_database_url: Option<String>,
    /// `JT_DATA_DIR`.
    pub data_dir: PathBuf,
    /// `JT_PG_BIN_DIR`.
    pub pg_bin_dir: Option<PathBuf>,
    /// Connections in the application pool.
    pub max_connections: u32,
    /// `JT_SECRET_KEY` (derives the role passwords).
    pub secret_key: SecretKey,
}

impl DbConfig {
    /// True for the embedded single-machine default: neither `DATABASE_URL` nor
    /// `JT_APP_DATABASE_URL` is set. Only then may a process both migrate and serve, and only
    /// then is a secret key generated when none is given.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none() && self.app_database_url.is_none()
    }
}

/// Which credentials a process uses on a production database (SPEC §4, least privilege).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `justtrades migrate` (fly's `release_command`): the schema owner from `DATABASE_URL`
    /// creates or updates `jt_app` and applies migrations.
    Migrate,
    /// `serve`, `web`, `worker` and the operator commands: the application role only; never
    /// migrates, and refuses an application role that could bypass row-level security.
    App,
}

/// An open, migrated database and the embedded cluster behind it, if any.
#[derive(Debug)]
pub struct Database {
    store: Store,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Opens the database for `access`.
    ///
    /// Embedded (no `DATABASE_URL`/`JT_APP_DATABASE_URL`): starts or reuses the private
    /// cluster, makes sure the roles and database exist and applies migrations, whatever
    /// the access. Production: [`Access::Migrate`] migrates as the owner; [`Access::App`]
    /// connects as the application role only. Either way the application pool is opened
    /// and its role checked ([`verify_app_role`]).
    pub async fn open(config: &DbConfig, access: Access) -> Result<Self, StoreError> {
        let (cluster, app) = match (&config.database_url, access) {
            _ if config.is_embedded() => {
                let (cluster, owner) = start_embedded(config).await?;
                migrate(&owner).await?;
                (Some(cluster), app_options(&owner, &config.secret_key))
            }
            (Some(url), Access::Migrate) => {
                let owner = parse_url("DATABASE_URL", url)?;
                if config.app_database_url.is_none() {
                    let mut conn = owner.connect().await?;
                    ensure_app_role(&mut conn, &config.secret_key).await?;
                    conn.close().await?;
                }
                migrate(&owner).await?;
                (None, production_app_options(config)?)
            }
            (None, Access::Migrate) => {
                return Err(StoreError::OwnerRequired { command: "migrate" });
            }
            (_, Access::App) => (None, production_app_options(config)?),
        };
        let store = Store::connect(app, config.max_connections).await?;
        verify_app_role(&store).await?;
        Ok(Self { store, cluster })
    }

    /// The tenant-safe handle for all application queries.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The embedded cluster, when one is used.
    pub fn cluster(&self) -> Option<&EmbeddedCluster> {
        self.cluster.as_ref()
    }

    /// Closes the pool and, if this process started the embedded cluster and no other
    /// justtrades process still uses it, stops the cluster.
    pub async fn close(self) -> Result<(), StoreError> {
        self.store.close().await;
        let Some(cluster) = self.cluster else {
            return Ok(());
        };
        if !cluster.started_here() {
            return Ok(());
        }
        let others = other_clients(&cluster).await.unwrap_or(0);
        if others > 0 {
            tracing::info!(
                others,
                "leaving the embedded PostgreSQL running: other justtrades processes use it"
            );
            return Ok(());
        }
        tokio::task::spawn_blocking(move || cluster.stop())
            .await
            .map_err(|e| EmbeddedError::Interrupted(format!("stop: {e}")))??;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }
}

async fn start_embedded(
    config: &DbConfig,
) -> Result<(EmbeddedCluster, PgConnectOptions), StoreError> {
    let options = ClusterOptions {
        data_dir: config.data_dir.clone(),
        bin_dir: config.pg_bin_dir.clone(),
        durable: true,
    };
    let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::ensure_running(&options))
        .await
        .map_err(|e| EmbeddedError::Interrupted(format!("start-up: {e}")))??;
    let owner =
        bootstrap_cluster(&cluster.superuser_options("postgres"), &config.secret_key).await?;
    Ok((cluster, owner))
}

/// The owner's connection for `rotate-secret-key` on a database opened with
/// [`Access::Migrate`]: the embedded owner (passwords still from the current key), or
/// `DATABASE_URL`.
pub(crate) async fn owner_for_rotation(
    db: &Database,
    config: &DbConfig,
) -> Result<PgConnectOptions, StoreError> {
    match (db.cluster(), &config.database_url) {
        (Some(cluster), _) => {
            bootstrap_cluster(&cluster.superuser_options("postgres"), &config.secret_key).await
        }
        (None, Some(url)) => parse_url("DATABASE_URL", url),
        (None, None) => Err(StoreError::OwnerRequired {
            command: "rotate-secret-key",
        }),
    }
}

/// The application role's connection on a production database: `JT_APP_DATABASE_URL`, or
/// `jt_app` (password derived from the secret key) on `DATABASE_URL`'s server and database.
fn production_app_options(config: &DbConfig) -> Result<PgConnectOptions, StoreError> {
    match (&config.app_database_url, &config.database_url) {
        (Some(url), _) => parse_url("JT_APP_DATABASE_URL", url),
        (None, Some(url)) => Ok(app_options(
            &parse_url("DATABASE_URL", url)?,
            &config.secret_key,
        )),
        (None, None) => Err(StoreError::BadUrl {
            name: "JT_APP_DATABASE_URL",
            problem: "neither it nor DATABASE_URL is set".to_owned(),
        }),
    }
}

async fn other_clients(cluster: &EmbeddedCluster) -> Result<i64, StoreError> {
    let mut conn = cluster.superuser_options("postgres").connect().await?;
    let count: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()",
    )
    .bind(APPLICATION_NAME)
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(count)
}

fn parse_url(name: &'static str, url: &str) -> Result<PgConnectOptions, StoreError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        let scheme = url.split("://").next().unwrap_or_default();
        return Err(StoreError::BadUrl {
            name,
            problem: format!("it must start with postgres:// (it starts with \"{scheme}\")"),
        });
    }
    url.parse()
        .map_err(|source: sqlx::Error| StoreError::BadUrl {
            name,
            problem: source.to_string(),
        })
}

/// As the cluster's superuser: the owner and application roles and the database. Returns the
/// owner's connection options. Idempotent; passwords follow the current secret key.
pub async fn bootstrap_cluster(
    superuser: &PgConnectOptions,
    secret: &SecretKey,
) -> Result<PgConnectOptions, StoreError> {
    let mut conn = superuser.connect().await?;
    ensure_role(
        &mut conn,
        OWNER_ROLE,
        "nosuperuser nocreatedb nocreaterole nobypassrls",
        secret,
    )
    .await?;
    ensure_app_role(&mut conn, secret).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
            .bind(DATABASE_NAME)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create database {DATABASE_NAME} owner {OWNER_ROLE}"
        )))
        .execute(&mut conn)
        .await?;
    }
    conn.close().await?;
    Ok(superuser
        .clone()
        .username(OWNER_ROLE)
        .password(&secret.role_password(OWNER_ROLE))
        .database(DATABASE_NAME))
}

/// Creates or updates `jt_app`: can log in, nothing else.
pub async fn ensure_app_role(
    conn: &mut PgConnection,
    secret: &SecretKey,
) -> Result<(), StoreError> {
    ensure_role(
        conn,
        APP_ROLE,
        "nosuperuser nocreatedb nocreaterole nobypassrls noinherit noreplication",
        secret,
    )
    .await
    .map_err(|e| match e {
        StoreError::Database(source) => StoreError::AppRole(source),
        other => other,
    })
}

async fn ensure_role(
    conn: &mut PgConnection,
    role: &str,
    attributes: &str,
    secret: &SecretKey,
) -> Result<(), StoreError> {
    // Roles are cluster-wide: parallel bootstraps (test binaries) may race to create one.
    let mut tx = conn.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('justtrades roles'))")
        .execute(&mut *tx)
        .await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
    let verb = if exists { "alter" } else { "create" };
    // Role names are our constants and the password is hex, so formatting is safe here.
    let password = secret.role_password(role);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{verb} role {role} with login {attributes} password '{password}'"
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Applies our migrations as the owner (sqlx takes an advisory lock, so concurrent starts are
/// safe).
pub async fn migrate(owner: &PgConnectOptions) -> Result<(), StoreError> {
    let mut conn = owner
        .clone()
        .application_name(APPLICATION_NAME)
        .connect()
        .await?;
    // The job queue's schema first: our migration grants the application role on it.
    apalis_postgres::PostgresStorage::migrations()
        .run(&mut conn)
        .await?;
    MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// The application role's options on the same server and database as `owner`.
pub fn app_options(owner: &PgConnectOptions, secret: &SecretKey) -> PgConnectOptions {
    owner
        .clone()
        .username(APP_ROLE)
        .password(&secret.role_password(APP_ROLE))
}

pub(crate) fn app_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        // Fail fast when the database is down: the webhook answers 503 within 2 s (SPEC §6)
        // instead of hanging; TradingView resends a 5xx but gives up on silence at 3 s.
        .acquire_timeout(Duration::from_millis(1_500))
        // A ping per acquire is a round trip per ingest batch (~0.4 ms of a 4 ms batch under
        // load). sqlx already tests each connection when it is released, so only one idle
        // for a while (a restart, a failover, a dropped link) is checked again first. One
        // cut within a second of its release fails its query as if the database were down
        // (a webhook answers 503, nothing half-written).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= Duration::from_secs(1) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}
