//! A private PostgreSQL cluster started from the machine's server binaries, for development,
//! single-box installs and tests (SPEC §4). Blocking code: call it from `spawn_blocking`.

mod binaries;
mod cluster;
mod os_user;
mod pid_file;

pub use binaries::PgBinaries;
pub use cluster::{ClusterOptions, EmbeddedCluster};
pub(crate) use cluster::{read_or_create_secret, replace_secret};
pub use os_user::ServerUser;

/// Why the embedded cluster could not be set up, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// No `initdb`/`pg_ctl`/`postgres` anywhere we looked.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in {searched}. \
         Install them (Debian/Ubuntu: `apt-get install postgresql`, which puts them in \
         /usr/lib/postgresql/<version>/bin), point JT_PG_BIN_DIR at their directory, or set \
         DATABASE_URL to use an existing PostgreSQL server"
    )]
    BinariesNotFound {
        /// Where we looked.
        searched: String,
    },
    /// Running as root without a `postgres` account to hand the server to.
    #[error(
        "running as root, but PostgreSQL refuses to run as root and there is no `postgres` \
         user to run it as: install the postgresql package (it creates the user), run as a \
         normal user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    /// The `postgres` user cannot reach the data directory.
    #[error(
        "the postgres user cannot use {dir}: every parent directory must be enterable by it \
         (blocked at {blocked}). Set JT_DATA_DIR to a directory it can reach (e.g. \
         /var/lib/justtrades) or run `chmod o+x` on the blocking directory"
    )]
    NotReachable {
        /// The cluster directory.
        dir: String,
        /// The first parent that lacks the search bit for others.
        blocked: String,
    },
    /// Another PostgreSQL server holds the data directory and does not become ready.
    #[error(
        "another PostgreSQL server (pid {pid}) already runs on {dir} but does not accept \
         connections; stop it (`pg_ctl -D {dir} stop`) or use another JT_DATA_DIR"
    )]
    Busy {
        /// pid from `postmaster.pid`.
        pid: u32,
        /// The cluster directory.
        dir: String,
    },
    /// A server program failed.
    #[error("{program} failed ({status}): {output}")]
    Command {
        /// Program name.
        program: String,
        /// Exit status.
        status: String,
        /// Its output, or the tail of the server log.
        output: String,
    },
    /// The blocking task running a cluster operation died (a bug).
    #[error("the embedded PostgreSQL {0} was interrupted")]
    Interrupted(String),
    /// File-system trouble.
    #[error("could not {action}: {source}")]
    Io {
        /// What we tried to do.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl EmbeddedError {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let action = action.into();
        move |source| Self::Io { action, source }
    }
}
