//! Which operating-system user runs the cluster. PostgreSQL refuses to run as root, so a root
//! process hands the server to the unprivileged `postgres` user.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::EmbeddedError;

/// The account the server programs run as: ourselves, or `postgres` when we are root.
#[derive(Debug, Clone, Copy)]
pub enum ServerUser {
    /// The current (non-root) user.
    Current,
    /// Root drops to this uid/gid for every server program.
    Drop {
        /// uid of `postgres`.
        uid: u32,
        /// gid of `postgres`.
        gid: u32,
    },
}

impl ServerUser {
    /// Decides from the effective uid of this process.
    pub fn detect() -> Result<Self, EmbeddedError> {
        if effective_uid() != Some(0) {
            return Ok(Self::Current);
        }
        let passwd =
            std::fs::read_to_string("/etc/passwd").map_err(|source| EmbeddedError::Io {
                action: "read /etc/passwd".into(),
                source,
            })?;
        passwd
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.first() == Some(&"postgres") && fields.len() > 3).then(|| {
                    Some(Self::Drop {
                        uid: fields[2].parse().ok()?,
                        gid: fields[3].parse().ok()?,
                    })
                })?
            })
            .ok_or(EmbeddedError::NoPostgresUser)
    }

    /// A command that runs as this user.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        if let Self::Drop { uid, gid } = *self {
            // std clears supplementary groups when root sets a uid.
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Gives `path` to this user (no-op when we are that user already).
    pub fn chown(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Self::Drop { uid, gid } = *self {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|source| {
                EmbeddedError::Io {
                    action: format!("give {} to the postgres user", path.display()),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// True when this user can create files in `dir` (checks every parent's search bit too).
    pub fn can_write(&self, dir: &Path) -> bool {
        self.command(Path::new("/bin/sh"))
            .args(["-c", "test -w \"$0\" && test -x \"$0\""])
            .arg(dir)
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }
}

/// Effective uid, read from `/proc` (Linux); `None` elsewhere, where we assume not root.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}
