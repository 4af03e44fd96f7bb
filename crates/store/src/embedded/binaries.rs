//! Finding the PostgreSQL server binaries installed on the machine.

use std::path::{Path, PathBuf};

use super::EmbeddedError;

/// The directory that holds `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    dir: PathBuf,
}

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

impl PgBinaries {
    /// Looks in `override_dir` only when given (`JT_PG_BIN_DIR`); otherwise in `PATH`, then in
    /// the usual distribution locations, newest major version first.
    pub fn find(override_dir: Option<&Path>) -> Result<Self, EmbeddedError> {
        let candidates: Vec<PathBuf> = match override_dir {
            Some(dir) => vec![dir.to_path_buf()],
            None => std::env::var_os("PATH")
                .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .chain(versioned_dirs("/usr/lib/postgresql", "bin"))
                .chain(versioned_dirs("/usr/local/opt", "bin"))
                .chain([PathBuf::from("/usr/local/pgsql/bin")])
                .collect(),
        };
        candidates
            .into_iter()
            .find(|dir| REQUIRED.iter().all(|bin| dir.join(bin).is_file()))
            .map(|dir| Self { dir })
            .ok_or_else(|| EmbeddedError::BinariesNotFound {
                searched: override_dir
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|| {
                        "PATH, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin".to_owned()
                    }),
            })
    }

    /// Full path of one of the server programs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The directory the binaries were found in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `/usr/lib/postgresql/{15,16,...}/bin`, highest version first.
fn versioned_dirs(parent: &str, leaf: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut dirs: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name
                .trim_start_matches("postgresql@")
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()?;
            Some((version, entry.path().join(leaf)))
        })
        .collect();
    dirs.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}
