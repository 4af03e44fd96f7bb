//! Test harness: one PostgreSQL cluster per test process (or `DATABASE_URL`'s server), a
//! migrated template database made once, and a fresh clone of it for every test.

pub mod seed;
pub mod seed_execution;

use std::path::PathBuf;
use std::sync::OnceLock;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::embedded::{ClusterOptions, EmbeddedCluster};
use crate::{OWNER_ROLE, SecretKey, Store, app_options, ensure_app_role, migrate};

/// What every test database is made from.
struct Shared {
    /// A role that may create databases (embedded superuser or `DATABASE_URL`'s role).
    admin: PgConnectOptions,
    /// Owner of test databases (`jt_owner` embedded, `DATABASE_URL`'s role otherwise).
    owner: PgConnectOptions,
    owner_password: String,
    template: String,
    secret: SecretKey,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// A fresh, migrated database for one test, and the application [`Store`] on it.
pub struct TestDb {
    /// The application-role handle (RLS applies).
    pub store: Store,
    /// The database name.
    pub name: String,
}

impl TestDb {
    /// Clones the template into a new database. Panics on failure: this is test set-up.
    pub async fn new() -> Self {
        Self::create("jt_test", &shared().template, 5).await
    }

    /// A new database without any schema (not cloned from the migrated template), owned by
    /// the owner role: for tests of who may migrate.
    pub async fn new_empty() -> Self {
        Self::create("jt_test_empty", "template0", 2).await
    }

    async fn create(prefix: &str, template: &str, connections: u32) -> Self {
        let shared = shared();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = shared.admin.connect().await.expect("connect as admin");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "create database {name} template {template} owner {}",
            shared.owner.get_username()
        )))
        .execute(&mut admin)
        .await
        .expect("create the test database");
        admin.close().await.ok();
        let store = Store::connect(
            app_options(&shared.owner, &shared.secret).database(&name),
            connections,
        )
        .await
        .expect("connect as the application role");
        Self { store, name }
    }

    /// Options for connecting to this database as the cluster's administrator (a superuser
    /// on the embedded test cluster).
    pub fn admin_options(&self) -> PgConnectOptions {
        shared().admin.clone().database(&self.name)
    }

    /// Options for connecting as the schema owner to this database.
    pub fn owner_options(&self) -> PgConnectOptions {
        shared().owner.clone().database(&self.name)
    }

    /// Options for connecting as the application role to this database.
    pub fn app_options(&self) -> PgConnectOptions {
        let shared = shared();
        app_options(&shared.owner, &shared.secret).database(&self.name)
    }

    /// The secret key the roles' passwords derive from.
    pub fn secret_key(&self) -> SecretKey {
        shared().secret.clone()
    }

    /// A `postgres://` URL for the owner on this database (for running the binary).
    pub fn owner_url(&self) -> String {
        self.url(&self.owner_options(), &shared().owner_password)
    }

    /// A `postgres://` URL for the application role on this database.
    pub fn app_url(&self) -> String {
        let shared = shared();
        self.url(
            &self.app_options(),
            &shared.secret.role_password(crate::APP_ROLE),
        )
    }

    fn url(&self, options: &PgConnectOptions, password: &str) -> String {
        format!(
            "postgres://{}:{password}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            self.name
        )
    }
}

/// Starts (once per process) the cluster and the template. Runs on its own thread and runtime
/// because every `#[tokio::test]` has its own runtime, and pools must not outlive theirs.
fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime")
                .block_on(set_up())
        })
        .join()
        .expect("test database set-up panicked")
    })
}

async fn set_up() -> Shared {
    let secret = SecretKey::from_bytes(b"test-secret-key-that-is-long-enough-0123456789".to_vec())
        .expect("test key");
    let (admin, owner, owner_password) = match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let admin: PgConnectOptions = url.parse().expect("DATABASE_URL");
            let mut conn = admin.connect().await.expect("connect to DATABASE_URL");
            ensure_app_role(&mut conn, &secret).await.expect("app role");
            (admin.clone(), admin, url_password(&url))
        }
        Err(_) => {
            let dir = test_cluster_dir();
            let cluster = EmbeddedCluster::ensure_running(&ClusterOptions {
                data_dir: dir.clone(),
                bin_dir: None,
                durable: false,
            })
            .expect("start the test cluster");
            cluster.stop_at_exit(&dir).expect("test cluster watchdog");
            let admin = cluster.superuser_options("postgres");
            let owner = crate::bootstrap_cluster(&admin, &secret)
                .await
                .expect("bootstrap roles");
            (admin, owner, secret.role_password(OWNER_ROLE))
        }
    };
    let template = format!("jt_template_{}", std::process::id());
    let mut conn: PgConnection = admin.connect().await.expect("connect as admin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create database {template} owner {}",
        owner.get_username()
    )))
    .execute(&mut conn)
    .await
    .expect("create the template database");
    conn.close().await.ok();
    migrate(&owner.clone().database(&template))
        .await
        .expect("migrate the template");
    Shared {
        admin,
        owner,
        owner_password,
        template,
        secret,
    }
}

fn test_cluster_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "jt-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// The password part of `postgres://user:password@host/db`, still URL-encoded.
fn url_password(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .unwrap_or_default()
}
