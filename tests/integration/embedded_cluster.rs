//! The embedded cluster: reuse, crash recovery, and what happens without binaries.

use sqlx::{ConnectOptions, Connection};

use crate::support::{TempDataDir, ensure_cluster, wait_until_gone};

#[tokio::test]
async fn a_second_caller_reuses_the_running_cluster() {
    let dir = TempDataDir::new();
    let first = ensure_cluster(dir.path(), false).await;
    assert!(first.started_here());
    let second = ensure_cluster(dir.path(), false).await;
    assert!(
        !second.started_here(),
        "the running cluster is reused, not started twice"
    );
    assert_eq!(second.port(), first.port());
    assert_eq!(second.postmaster_pid(), first.postmaster_pid());
}

#[tokio::test]
async fn recovers_from_kill_9_of_postgres_with_a_stale_postmaster_pid() {
    let dir = TempDataDir::new();
    let cluster = ensure_cluster(dir.path(), true).await;
    let mut conn = cluster
        .superuser_options("postgres")
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql("create table survived (n int); insert into survived values (42)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let pid = cluster.postmaster_pid().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::task::spawn_blocking(move || wait_until_gone(pid))
        .await
        .unwrap();
    assert!(
        dir.path().join("pg/postmaster.pid").exists(),
        "kill -9 leaves the pid file"
    );

    let restarted = ensure_cluster(dir.path(), true).await;
    assert!(restarted.started_here());
    assert_ne!(restarted.postmaster_pid(), Some(pid));
    let mut conn = restarted
        .superuser_options("postgres")
        .connect()
        .await
        .unwrap();
    let n: i32 = sqlx::query_scalar("select n from survived")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 42, "committed data survives the crash");
}

#[tokio::test]
async fn a_pid_file_naming_a_live_non_postgres_process_is_treated_as_stale() {
    let dir = TempDataDir::new();
    let cluster = ensure_cluster(dir.path(), false).await;
    tokio::task::spawn_blocking(move || cluster.stop().unwrap())
        .await
        .unwrap();
    // After a crash the old pid may belong to another process by now (here: ourselves).
    let pid_file = dir.path().join("pg/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!(
            "{}\n/x\n0\n5432\n\n127.0.0.1\n0 0\nready\n",
            std::process::id()
        ),
    )
    .unwrap();
    let restarted = ensure_cluster(dir.path(), false).await;
    assert!(restarted.started_here());
    let mut conn = restarted
        .superuser_options("postgres")
        .connect()
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn concurrent_starts_on_one_data_dir_share_one_server() {
    let dir = TempDataDir::new();
    let (a, b) = tokio::join!(
        ensure_cluster(dir.path(), false),
        ensure_cluster(dir.path(), false)
    );
    assert_eq!(a.port(), b.port());
    assert_eq!(a.postmaster_pid(), b.postmaster_pid());
    assert!(
        a.started_here() != b.started_here(),
        "exactly one of them started the server"
    );
}
