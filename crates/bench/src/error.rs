//! What can stop a benchmark run.

/// Why `justtrades bench` could not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options make no run (e.g. zero recorders).
    #[error("{0}")]
    Options(String),
    /// The database (provisioning or counting) failed.
    #[error(transparent)]
    Store(#[from] jt_store::StoreError),
    /// The generated secret key could not be made or read.
    #[error(transparent)]
    SecretKey(#[from] jt_store::SecretKeyError),
    /// The embedded cluster's binaries could not be found.
    #[error(transparent)]
    Embedded(#[from] jt_store::embedded::EmbeddedError),
    /// The benchmarked server did not start, answer or stop.
    #[error("the benchmark server {0}")]
    Server(String),
    /// pgbench failed or printed no result.
    #[error("pgbench {0}")]
    Pgbench(String),
    /// File-system or process trouble.
    #[error("could not {action}: {source}")]
    Io {
        /// What we tried to do.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl BenchError {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let action = action.into();
        move |source| Self::Io { action, source }
    }
}
