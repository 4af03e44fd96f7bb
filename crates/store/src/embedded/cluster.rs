//! Creating, starting, reusing and stopping the private cluster in `JT_DATA_DIR`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rand::Rng as _;
use sqlx::postgres::PgConnectOptions;

use super::pid_file::{ServerState, server_state};
use super::{EmbeddedError, PgBinaries, ServerUser};

/// Superuser of the embedded cluster.
const SUPERUSER: &str = "postgres";
/// How long a start or a wait for readiness may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to run the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `JT_DATA_DIR`; the cluster lives in `{data_dir}/pg`.
    pub data_dir: PathBuf,
    /// `JT_PG_BIN_DIR`: look for the server binaries only here.
    pub bin_dir: Option<PathBuf>,
    /// `false` for throwaway test clusters: no fsync, for speed.
    pub durable: bool,
}

/// A running private cluster. Dropping it does not stop it; call [`EmbeddedCluster::stop`].
#[derive(Debug)]
pub struct EmbeddedCluster {
    binaries: PgBinaries,
    user: ServerUser,
    data_dir: PathBuf,
    pgdata: PathBuf,
    durable: bool,
    superuser_password: String,
    port: u16,
    started_here: bool,
}

impl EmbeddedCluster {
    /// Connects to the cluster in `data_dir` when it runs, creates and/or starts it otherwise.
    /// A file lock serialises concurrent callers (several CLI commands or test binaries).
    pub fn ensure_running(options: &ClusterOptions) -> Result<Self, EmbeddedError> {
        let binaries = PgBinaries::find(options.bin_dir.as_deref())?;
        let user = ServerUser::detect()?;
        let data_dir = prepare_data_dir(&options.data_dir, user)?;
        let pgdata = data_dir.join("pg");
        let _lock = lock_file(&data_dir)?;
        let superuser_password = read_or_create_secret(&data_dir.join("postgres.password"), 24)?;
        let mut cluster = Self {
            binaries,
            user,
            data_dir,
            pgdata,
            durable: options.durable,
            superuser_password,
            port: 0,
            started_here: false,
        };
        if !cluster.pgdata.join("PG_VERSION").is_file() {
            cluster.init()?;
        }
        match server_state(&cluster.pgdata) {
            ServerState::Running { pid, .. } => cluster.port = cluster.wait_ready(pid)?,
            ServerState::Stale => {
                tracing::warn!(dir = %cluster.pgdata.display(), "removing stale postmaster.pid left by a crashed PostgreSQL");
                fs::remove_file(cluster.pgdata.join("postmaster.pid"))
                    .map_err(EmbeddedError::io("remove a stale postmaster.pid"))?;
                cluster.start()?;
            }
            ServerState::Stopped => cluster.start()?,
        }
        Ok(cluster)
    }

    /// Options for a superuser connection to `database`.
    pub fn superuser_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(SUPERUSER)
            .password(&self.superuser_password)
            .database(database)
    }

    /// The superuser's password, for client programs of the cluster (e.g. `pgbench` in
    /// `justtrades bench`); it is also kept in `{data_dir}/postgres.password`.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// True when this process started the server (and so should stop it when done).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `JT_DATA_DIR`.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The PostgreSQL data directory (`{data_dir}/pg`).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// pid of the running postmaster, if any.
    pub fn postmaster_pid(&self) -> Option<u32> {
        match server_state(&self.pgdata) {
            ServerState::Running { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Stops the server (fast mode: open transactions roll back, clients are disconnected).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !matches!(server_state(&self.pgdata), ServerState::Running { .. }) {
            return Ok(());
        }
        let output = self
            .pg_ctl()
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .map_err(EmbeddedError::io("run pg_ctl stop"))?;
        check(output, "pg_ctl stop")
    }

    /// Starts the server again after [`EmbeddedCluster::stop`] (or a crash), on the same port
    /// when it is still free.
    pub fn start(&mut self) -> Result<(), EmbeddedError> {
        let mut last_error = None;
        let deadline = Instant::now() + START_TIMEOUT;
        // Retries cover a port taken meanwhile and the shared memory of a killed server whose
        // children have not exited yet.
        while Instant::now() < deadline {
            self.port = self.choose_port();
            self.write_config()?;
            let output = self
                .pg_ctl()
                .arg("-l")
                .arg(self.pgdata.join("server.log"))
                .args(["-w", "-t", "60", "start"])
                .output()
                .map_err(EmbeddedError::io("run pg_ctl start"))?;
            match check(output, "pg_ctl start") {
                Ok(()) => {
                    self.started_here = true;
                    tracing::info!(port = self.port, dir = %self.pgdata.display(), "embedded PostgreSQL started");
                    return Ok(());
                }
                Err(error) => {
                    last_error = Some(self.with_log_tail(error));
                    if let ServerState::Stale = server_state(&self.pgdata) {
                        let _ = fs::remove_file(self.pgdata.join("postmaster.pid"));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
        Err(last_error.unwrap_or(EmbeddedError::Command {
            program: "pg_ctl start".into(),
            status: "timeout".into(),
            output: String::new(),
        }))
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        if self.pgdata.exists() {
            // An interrupted initdb leaves a half-made directory that initdb refuses to reuse.
            fs::remove_dir_all(&self.pgdata)
                .map_err(EmbeddedError::io("remove a half-initialised cluster"))?;
        }
        fs::create_dir_all(&self.pgdata).map_err(EmbeddedError::io("create the cluster dir"))?;
        fs::set_permissions(&self.pgdata, fs::Permissions::from_mode(0o700))
            .map_err(EmbeddedError::io("restrict the cluster dir"))?;
        self.user.chown(&self.pgdata)?;
        if !self.user.can_write(&self.pgdata) {
            return Err(EmbeddedError::NotReachable {
                dir: self.pgdata.display().to_string(),
                blocked: first_closed_parent(&self.pgdata),
            });
        }
        // initdb reads the superuser password from a file the server user can read.
        let pwfile = self
            .data_dir
            .join(format!(".initdb-pw-{}", std::process::id()));
        write_private(&pwfile, &self.superuser_password)?;
        self.user.chown(&pwfile)?;
        let mut initdb = self.user.command(&self.binaries.program("initdb"));
        initdb
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-U", SUPERUSER, "-A", "scram-sha-256", "-E", "UTF8"])
            .args(["--no-locale", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(&self.pgdata);
        if !self.durable {
            initdb.arg("--no-sync");
        }
        let result = initdb
            .output()
            .map_err(EmbeddedError::io("run initdb"))
            .and_then(|output| check(output, "initdb"));
        let _ = fs::remove_file(&pwfile);
        if let Err(error) = result {
            let _ = fs::remove_dir_all(&self.pgdata);
            return Err(error);
        }
        let mut conf = OpenOptions::new()
            .append(true)
            .open(self.pgdata.join("postgresql.conf"))
            .map_err(EmbeddedError::io("open postgresql.conf"))?;
        writeln!(conf, "\ninclude_if_exists = 'justtrades.conf'")
            .map_err(EmbeddedError::io("write postgresql.conf"))?;
        tracing::info!(dir = %self.pgdata.display(), "created embedded PostgreSQL cluster");
        Ok(())
    }

    /// Our settings, rewritten at every start (the port may change).
    fn write_config(&self) -> Result<(), EmbeddedError> {
        let mut conf = format!(
            "# Written by justtrades at every start.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = ''\n\
             max_connections = 200\n",
            self.port
        );
        if !self.durable {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.pgdata.join("justtrades.conf");
        fs::write(&path, conf).map_err(EmbeddedError::io("write justtrades.conf"))?;
        self.user.chown(&path)
    }

    /// The port of the last start when it is still free, a fresh free one otherwise.
    fn choose_port(&self) -> u16 {
        let previous = fs::read_to_string(self.pgdata.join("justtrades.conf"))
            .ok()
            .and_then(|conf| {
                conf.lines()
                    .find_map(|l| l.strip_prefix("port = ")?.trim().parse::<u16>().ok())
            });
        previous
            .filter(|port| port_is_free(*port))
            .or_else(free_port)
            .unwrap_or(5432)
    }

    fn wait_ready(&self, pid: u32) -> Result<u16, EmbeddedError> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            match server_state(&self.pgdata) {
                ServerState::Running {
                    ready: true, port, ..
                } => return Ok(port),
                ServerState::Running { .. } => std::thread::sleep(Duration::from_millis(100)),
                _ => break,
            }
        }
        Err(EmbeddedError::Busy {
            pid,
            dir: self.pgdata.display().to_string(),
        })
    }

    fn pg_ctl(&self) -> Command {
        let mut command = self.user.command(&self.binaries.program("pg_ctl"));
        command
            .arg("-D")
            .arg(&self.pgdata)
            .current_dir(&self.pgdata);
        command
    }

    fn with_log_tail(&self, error: EmbeddedError) -> EmbeddedError {
        let Ok(log) = fs::read_to_string(self.pgdata.join("server.log")) else {
            return error;
        };
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        match error {
            EmbeddedError::Command {
                program, status, ..
            } => EmbeddedError::Command {
                program,
                status,
                output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            },
            other => other,
        }
    }

    /// Test clusters: stop the server and delete `remove` when this process exits, however
    /// it exits. A shell waits for EOF on a pipe that only the kernel closes, at our exit.
    #[cfg(feature = "test-support")]
    pub fn stop_at_exit(&self, remove: &Path) -> Result<(), EmbeddedError> {
        use std::process::Stdio;
        use std::sync::Mutex;
        static KEEP_OPEN: Mutex<Vec<std::process::ChildStdin>> = Mutex::new(Vec::new());
        let script = r#"cat >/dev/null
pid=$(head -n 1 "$0/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
fi
rm -rf "$1""#;
        let mut child = Command::new("/bin/sh")
            .args(["-c", script])
            .arg(&self.pgdata)
            .arg(remove)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(EmbeddedError::io("start the test cluster watchdog"))?;
        if let (Some(stdin), Ok(mut keep)) = (child.stdin.take(), KEEP_OPEN.lock()) {
            keep.push(stdin);
        }
        Ok(())
    }
}

fn check(output: Output, program: &str) -> Result<(), EmbeddedError> {
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    Err(EmbeddedError::Command {
        program: program.to_owned(),
        status: output.status.to_string(),
        output: text,
    })
}

/// Creates the data dir; when root, lets the `postgres` user enter it (not read it).
fn prepare_data_dir(dir: &Path, user: ServerUser) -> Result<PathBuf, EmbeddedError> {
    let created = !dir.exists();
    fs::create_dir_all(dir).map_err(EmbeddedError::io(format!("create {}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(EmbeddedError::io(format!("resolve {}", dir.display())))?;
    if created && matches!(user, ServerUser::Drop { .. }) {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711))
            .map_err(EmbeddedError::io("set data dir permissions"))?;
    }
    Ok(dir)
}

fn lock_file(data_dir: &Path) -> Result<File, EmbeddedError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(".cluster.lock"))
        .map_err(EmbeddedError::io("open the cluster lock file"))?;
    file.lock()
        .map_err(EmbeddedError::io("lock the cluster lock file"))?;
    Ok(file)
}

/// Replaces a generated secret (key rotation), under the same lock as
/// [`read_or_create_secret`].
pub(crate) fn replace_secret(path: &Path, secret: &str) -> Result<(), EmbeddedError> {
    let _lock = lock_secret(path)?;
    write_private(path, secret)
}

/// Locks `{path}.lock` until the returned file is dropped.
fn lock_secret(path: &Path) -> Result<File, EmbeddedError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(EmbeddedError::io(format!("open {}", lock_path.display())))?;
    lock.lock()
        .map_err(EmbeddedError::io(format!("lock {}", lock_path.display())))?;
    Ok(lock)
}

/// Reads a generated secret, creating it (0600) on first use. Processes starting at the same
/// time (`serve` and a CLI command) take a lock first, so they cannot each write their own
/// secret (and one of them read a half-written file).
pub(crate) fn read_or_create_secret(path: &Path, bytes: usize) -> Result<String, EmbeddedError> {
    let _lock = lock_secret(path)?;
    // The lock is released when `_lock` is dropped, after the secret is written.
    if let Ok(existing) = fs::read_to_string(path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    let mut random = vec![0u8; bytes];
    rand::rng().fill(random.as_mut_slice());
    let secret = hex::encode(random);
    write_private(path, &secret)?;
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> Result<(), EmbeddedError> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(EmbeddedError::io(format!("create {}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(EmbeddedError::io(format!("write {}", path.display())))
}

fn first_closed_parent(dir: &Path) -> String {
    dir.ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|p| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 == 0))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| dir.display().to_string())
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).ok()?;
    listener.local_addr().ok().map(|a| a.port())
}
