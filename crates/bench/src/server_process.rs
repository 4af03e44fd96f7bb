//! The server under test: this very executable run as `justtrades serve` on a fresh embedded
//! cluster in a temporary data directory, on a free loopback port.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::BenchError;
use crate::http_response::Connection;

/// First start runs initdb and the migrations: generous on a busy machine.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// Graceful shutdown finishes in-flight requests and stops the cluster.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Settings of the caller's environment that would point the server elsewhere.
const FOREIGN_SETTINGS: [&str; 5] = [
    "DATABASE_URL",
    "JT_APP_DATABASE_URL",
    "JT_SECRET_KEY",
    "JT_BASE_URL",
    "JT_PG_BIN_DIR",
];

/// A temporary `JT_DATA_DIR` under the system temp dir (enterable by the `postgres` user
/// when we run as root). On drop, a PostgreSQL still running in it is stopped and the
/// directory removed.
#[derive(Debug)]
pub struct TempDataDir(PathBuf);

impl TempDataDir {
    /// Creates `{tmp}/jt-bench-{random}` with mode 0711.
    pub fn create() -> Result<Self, BenchError> {
        let dir = std::env::temp_dir().join(format!("jt-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(BenchError::io("create the temporary data dir"))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).map_err(
            BenchError::io("open the temporary data dir to the postgres user"),
        )?;
        Ok(Self(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDataDir {
    fn drop(&mut self) {
        // Normally the server stopped its cluster; after a failure it may still run.
        let pid = std::fs::read_to_string(self.0.join("pg/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
        if let Some(pid) = pid {
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `justtrades serve`.
#[derive(Debug)]
pub struct BenchServer {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    log: PathBuf,
}

impl BenchServer {
    /// Starts `exe serve` on `data_dir` and waits until `/readyz` answers 200.
    pub async fn start(
        exe: &Path,
        data_dir: &Path,
        pg_bin_dir: Option<&Path>,
    ) -> Result<Self, BenchError> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let log = data_dir.join("serve.log");
        let log_file =
            std::fs::File::create(&log).map_err(BenchError::io("create the server log"))?;
        let log_err = log_file
            .try_clone()
            .map_err(BenchError::io("open the server log"))?;
        let mut command = Command::new(exe);
        command.arg("serve");
        for name in FOREIGN_SETTINGS {
            command.env_remove(name);
        }
        if let Some(dir) = pg_bin_dir {
            command.env("JT_PG_BIN_DIR", dir);
        }
        let child = command
            .env("JT_DATA_DIR", data_dir)
            .env("JT_BIND", address.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(BenchError::io(format!("start {} serve", exe.display())))?;
        let mut server = Self {
            child,
            address,
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), BenchError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::Server(format!(
                    "exited during start-up ({status}):\n{}",
                    self.log_tail()
                )));
            }
            if self.is_ready().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BenchError::Server(format!(
            "was not ready within {} s:\n{}",
            READY_TIMEOUT.as_secs(),
            self.log_tail()
        )))
    }

    async fn is_ready(&self) -> bool {
        let Ok(mut connection) = Connection::open(self.address).await else {
            return false;
        };
        let request = format!(
            "GET /readyz HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            self.address
        );
        if connection.send(request.as_bytes()).await.is_err() {
            return false;
        }
        connection
            .receive()
            .await
            .is_ok_and(|head| head.status == 200)
    }

    /// SIGTERM (graceful: in-flight requests finish, the cluster stops), then waits.
    pub async fn stop(mut self) -> Result<(), BenchError> {
        let Some(pid) = self.child.id() else {
            return Ok(()); // already reaped
        };
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(BenchError::io("send SIGTERM to the server"))?;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(BenchError::Server(format!(
                "exited with {status}:\n{}",
                self.log_tail()
            ))),
            Ok(Err(error)) => Err(BenchError::io("wait for the server")(error)),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(BenchError::Server(format!(
                    "did not stop within {} s of SIGTERM; killed it",
                    STOP_TIMEOUT.as_secs()
                )))
            }
        }
    }

    /// The last lines the server logged (for error messages).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(BenchError::io("find a free loopback port"))?;
    Ok(listener
        .local_addr()
        .map_err(BenchError::io("find a free loopback port"))?
        .port())
}
