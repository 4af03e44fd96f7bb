//! The store's one error type. `web` maps it to responses in one place. Messages include
//! their cause, so wrapped sqlx errors are not also exposed as `source` (chains would print
//! them twice).

use crate::embedded::EmbeddedError;
use crate::secret_key::SecretKeyError;

/// Everything a store function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (connection refused, pool timeout, I/O).
    /// Callers answer 503: the request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Any other database error: a bug or a broken schema, never the client's fault.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Applying migrations failed.
    #[error("could not apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The embedded cluster failed.
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    /// `JT_SECRET_KEY` is unusable.
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    /// The role in `DATABASE_URL` may not create or update the application role.
    #[error(
        "the DATABASE_URL role cannot manage the application role `jt_app` ({0}). Give it \
         CREATEROLE, or create `jt_app` once as an administrator and set JT_APP_DATABASE_URL"
    )]
    AppRole(sqlx::Error),
    /// `DATABASE_URL` or `JT_APP_DATABASE_URL` is not a PostgreSQL URL.
    #[error(
        "{name} is not a valid PostgreSQL URL (postgres://user:password@host:port/db): {problem}"
    )]
    BadUrl {
        /// Which variable.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The application connection could escape row-level security.
    #[error(
        "refusing to start: the application's database role `{role}` {reason}, so row-level \
         security would not keep tenants apart. Connect as the application role `jt_app` \
         (JT_APP_DATABASE_URL, or leave it unset to derive it from DATABASE_URL); see \
         README \"Deploying\""
    )]
    UnsafeAppRole {
        /// The role the pool logs in as.
        role: String,
        /// What makes it unsafe.
        reason: String,
    },
    /// The database has no schema yet, and this process may not create it.
    #[error(
        "the database has no Just.Trades schema yet: run `justtrades migrate` with DATABASE_URL \
         (the schema owner) first (on Fly it is the release_command)"
    )]
    NotMigrated,
    /// A command that needs the schema owner (`migrate`, `rotate-secret-key`) without its
    /// connection.
    #[error(
        "`justtrades {command}` needs DATABASE_URL: the schema owner's connection (the \
         application role in JT_APP_DATABASE_URL may not change the schema)"
    )]
    OwnerRequired {
        /// The command.
        command: &'static str,
    },
    /// Input that breaks a rule; the text says which and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A user with this email exists already.
    #[error("a user with this email already exists")]
    EmailTaken,
    /// A uniqueness rule was broken; the text says which and what to do.
    #[error("{0}")]
    Conflict(String),
    /// Nothing with that key (or it belongs to another tenant, which is the same to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Stored state that does not read back (a bug or a manual edit).
    #[error("stored state is corrupt: {0}")]
    Corrupt(String),
    /// Password hashing failed (never for valid input).
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            // The server is shutting down or restarting (admin_shutdown, crash_shutdown,
            // cannot_connect_now): also temporary.
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| c.starts_with("57P")) => {
                Self::Unavailable(error)
            }
            other => Self::Database(other),
        }
    }
}

impl StoreError {
    /// True when the database could not be reached (answer 503, retry later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The name of the unique constraint a database error violated, if any.
pub(crate) fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}
