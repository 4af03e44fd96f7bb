//! Helpers shared by the tests: throwaway data directories and dedicated clusters.

use std::path::{Path, PathBuf};

use jt_store::embedded::{ClusterOptions, EmbeddedCluster};
use jt_store::{SecretKey, Store};

/// A data directory of its own; on drop, any PostgreSQL still running in it is stopped and
/// the directory removed, even when the test failed half-way.
pub struct TempDataDir(PathBuf);

impl TempDataDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("jt-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp data dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDataDir {
    fn drop(&mut self) {
        let pid_file = std::fs::read_to_string(self.0.join("pg/postmaster.pid"));
        if let Some(pid) = pid_file
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
        {
            let _ = std::process::Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            wait_until_gone(pid);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits (bounded, generously: the machine may be loaded) until a process has exited.
pub fn wait_until_gone(pid: u32) {
    for _ in 0..1200 {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        if !alive {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("process {pid} did not exit");
}

/// Starts (or reuses) a cluster in `dir`, off the async runtime. Non-durable clusters skip
/// fsync and lose recent commits in a crash.
pub async fn ensure_cluster(dir: &Path, durable: bool) -> EmbeddedCluster {
    let options = ClusterOptions {
        data_dir: dir.to_path_buf(),
        bin_dir: None,
        durable,
    };
    tokio::task::spawn_blocking(move || EmbeddedCluster::ensure_running(&options))
        .await
        .expect("join")
        .expect("cluster starts")
}

/// A dedicated cluster with the roles and migrated database, and a store on it: for tests
/// that stop or kill PostgreSQL and so must not share the per-run cluster.
pub async fn dedicated_store(dir: &Path) -> (EmbeddedCluster, Store) {
    let cluster = ensure_cluster(dir, false).await;
    let secret = SecretKey::from_bytes(vec![7; 32]).expect("key");
    let owner = jt_store::bootstrap_cluster(&cluster.superuser_options("postgres"), &secret)
        .await
        .expect("bootstrap");
    jt_store::migrate(&owner).await.expect("migrate");
    let store = Store::connect(jt_store::app_options(&owner, &secret), 4)
        .await
        .expect("connect");
    (cluster, store)
}
