//! The only ways to get a connection for application data. Row-level security policies read
//! `app.user_id` (tenant) and `app.role` (admin console); both are set transaction-locally,
//! so a connection returned to the pool carries nothing over.

use std::net::IpAddr;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::provision::{APPLICATION_NAME, app_pool_options};
use crate::sessions::SessionTable;
use crate::{StoreError, UserId};

/// The application's database handle. Cloning is cheap (a pool).
///
/// It deliberately has no method that hands out a bare connection: tenant data is reached
/// through [`TenantTx`], operator work through [`AdminTx`].
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Opens the application pool (role `jt_app`).
    pub async fn connect(
        options: sqlx::postgres::PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = app_pool_options(max_connections)
            .connect_with(options.application_name(APPLICATION_NAME))
            .await?;
        Ok(Self { pool })
    }

    /// A transaction that sees and changes only `user`'s rows.
    pub async fn tenant(&self, user: UserId) -> Result<TenantTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.user_id', $1, true)")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(TenantTx { tx, user })
    }

    /// A transaction for operator work across tenants (admin console, CLI). `actor` is
    /// recorded in the audit log for what it changes.
    pub async fn admin(&self, actor: &str) -> Result<AdminTx, StoreError> {
        self.admin_for(Operator {
            name: actor.to_owned(),
            user_id: None,
            ip: None,
        })
        .await
    }

    /// [`Store::admin`] for an operator the audit log can name fully: the admin account
    /// and the address it acted from (the admin console).
    pub async fn admin_for(&self, operator: Operator) -> Result<AdminTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select set_config('app.role', 'admin', true)")
            .execute(&mut *tx)
            .await?;
        Ok(AdminTx { tx, operator })
    }

    /// The browser-session table, which holds no tenant data (see [`crate::sessions`]). The
    /// handle reaches that table only.
    pub fn sessions(&self) -> SessionTable {
        SessionTable::new(self.pool.clone())
    }

    /// The pool without any scope, for this crate's queries that need none: the `SECURITY
    /// DEFINER` lookups that return one narrow row (log-in, webhook and API tokens). Row-level security hides every
    /// tenant row from it. Not public, so handlers cannot reach it.
    pub(crate) fn unscoped_pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool for the job queue (apalis, schema `apalis`, which holds no tenant data): apalis
    /// takes a pool. Row-level security still hides every tenant row from it.
    pub fn job_queue_pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// Round trip to the database (readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction with neither `app.user_id` nor `app.role`: what a handler that forgot
    /// the tenant would get. Only for tests proving that it sees nothing.
    #[cfg(feature = "test-support")]
    pub async fn unscoped_tx_for_tests(
        &self,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// A transaction scoped to one tenant by row-level security.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    user: UserId,
}

impl TenantTx {
    /// The tenant this transaction acts for.
    pub fn user_id(&self) -> UserId {
        self.user
    }

    /// The connection, for store functions (and tests): RLS still applies to everything.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

/// Who acts in an [`AdminTx`], as the audit log records it.
#[derive(Debug, Clone)]
pub struct Operator {
    /// A display name: the admin's email, or `cli` for the command line.
    pub name: String,
    /// The admin account, when a logged-in admin acts (not for the CLI).
    pub user_id: Option<UserId>,
    /// The client address the action came from, when over HTTP.
    pub ip: Option<IpAddr>,
}

/// A transaction for operators: admin policies apply (see the migrations).
#[derive(Debug)]
pub struct AdminTx {
    tx: Transaction<'static, Postgres>,
    operator: Operator,
}

impl AdminTx {
    /// The connection, for store functions.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Writes one audit-log entry for an action taken in this transaction.
    pub async fn audit(
        &mut self,
        action: &str,
        target_user: Option<UserId>,
        details: serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_log (actor, action, target_user_id, details, actor_user_id, ip)
             values ($1, $2, $3, $4, $5, $6::inet)",
        )
        .bind(&self.operator.name)
        .bind(action)
        .bind(target_user)
        .bind(details)
        .bind(self.operator.user_id)
        .bind(self.operator.ip.map(|ip| ip.to_string()))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}
