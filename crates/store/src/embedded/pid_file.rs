//! Reading `postmaster.pid` to tell a running cluster from a stopped or crashed one.

use std::path::Path;

/// What the data directory's lock file says, checked against the live processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// No `postmaster.pid`.
    Stopped,
    /// `postmaster.pid` names a process that is not a live PostgreSQL (crash, kill -9).
    Stale,
    /// A live postmaster owns the directory.
    Running {
        /// Its pid.
        pid: u32,
        /// The TCP port it listens on.
        port: u16,
        /// Its status line says `ready`.
        ready: bool,
    },
}

/// Reads `{pgdata}/postmaster.pid` (lines: pid, data dir, start time, port, socket dir,
/// listen address, shmem key, status).
pub fn server_state(pgdata: &Path) -> ServerState {
    let Ok(text) = std::fs::read_to_string(pgdata.join("postmaster.pid")) else {
        return ServerState::Stopped;
    };
    let lines: Vec<&str> = text.lines().collect();
    let pid = lines.first().and_then(|l| l.trim().parse::<u32>().ok());
    let port = lines.get(3).and_then(|l| l.trim().parse::<u16>().ok());
    match (pid, port) {
        (Some(pid), Some(port)) if is_postgres_process(pid) => ServerState::Running {
            pid,
            port,
            ready: lines.get(7).is_some_and(|l| l.trim() == "ready"),
        },
        // Written but not complete yet: a postmaster is starting right now.
        (Some(pid), None) if is_postgres_process(pid) => ServerState::Running {
            pid,
            port: 0,
            ready: false,
        },
        _ => ServerState::Stale,
    }
}

/// A pid is ours only if it is a live `postgres` process: after a crash the pid may have been
/// reused by something else, which PostgreSQL itself would mistake for a running server.
fn is_postgres_process(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    if proc_dir.join("self").exists() {
        let dir = proc_dir.join(pid.to_string());
        let is_postgres =
            std::fs::read_to_string(dir.join("comm")).is_ok_and(|comm| comm.trim() == "postgres");
        // A killed postmaster may linger as a zombie when nothing reaps it (containers).
        let is_zombie = std::fs::read_to_string(dir.join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        return is_postgres && !is_zombie;
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}
