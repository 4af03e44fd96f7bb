//! The binary itself: `user create`, `token create`, `user disable`, missing binaries.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};
use sqlx::{ConnectOptions, Connection};

use crate::support::{TempDataDir, ensure_cluster};

/// Runs the binary on the embedded cluster of `data_dir`, feeding `stdin`.
fn justtrades(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_justtrades"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("JT_SECRET_KEY")
        .env_remove("JT_PG_BIN_DIR")
        .env("JT_DATA_DIR", data_dir);
    run(command, args, stdin)
}

/// Runs a prepared command with `args`, feeding `stdin`, quiet logs.
pub(crate) fn run(mut command: Command, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run justtrades");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A secret key for runs against `DATABASE_URL` (where one is required).
pub const TEST_SECRET_KEY: &str = "cli-test-secret-key-0123456789abcdef";

/// Runs the binary on the test database `db` (no embedded cluster), feeding `stdin`.
fn on_database(
    db: &jt_store::testing::TestDb,
    data_dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_justtrades"));
    command
        .env("DATABASE_URL", db.owner_url())
        .env("JT_APP_DATABASE_URL", db.app_url())
        .env("JT_SECRET_KEY", TEST_SECRET_KEY)
        .env("JT_DATA_DIR", data_dir);
    run(command, args, stdin)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn user_and_token_commands_work_through_the_binary_on_the_embedded_cluster() {
    let dir = TempDataDir::new();
    let data = dir.path();

    let created = justtrades(
        data,
        &["user", "create", "--email", "Ops@Example.com", "--admin"],
        "a long enough password\n",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(created.stdout.is_empty());

    let short = justtrades(
        data,
        &["user", "create", "--email", "x@example.com"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains("at least 10"),
        "{}",
        text(&short.stderr)
    );

    let duplicate = justtrades(
        data,
        &["user", "create", "--email", "ops@example.com"],
        "a long enough password\n",
    );
    assert!(!duplicate.status.success());
    assert!(
        text(&duplicate.stderr).contains("already exists"),
        "{}",
        text(&duplicate.stderr)
    );

    let token = justtrades(
        data,
        &[
            "token",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "ci",
        ],
        "",
    );
    assert!(token.status.success(), "{}", text(&token.stderr));
    let stdout = text(&token.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "prints only the token: {stdout:?}");
    let token = lines[0];
    assert!(token.starts_with("jt_") && token.len() >= 40, "{token}");

    let disabled = justtrades(data, &["user", "disable", "--email", "OPS@example.com"], "");
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    let refused = justtrades(
        data,
        &[
            "token",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "late",
        ],
        "",
    );
    assert!(
        !refused.status.success(),
        "disabled users get no new tokens"
    );

    // Every command stopped the cluster it started; check the stored state directly.
    assert!(
        !data.join("pg/postmaster.pid").exists(),
        "no PostgreSQL left running"
    );
    let cluster = ensure_cluster(data, false).await;
    let mut conn = cluster
        .superuser_options("justtrades")
        .connect()
        .await
        .unwrap();
    let (role, status): (String, String) =
        sqlx::query_as("select role, status from users where email = 'Ops@Example.com'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((role.as_str(), status.as_str()), ("admin", "disabled"));
    let stored: i64 = sqlx::query_scalar("select count(*) from api_tokens where token_hash = $1")
        .bind(Sha256::digest(token.as_bytes()).to_vec())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 1, "only the hash of the printed token is stored");
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(actions, ["user.create", "token.create", "user.disable"]);
    conn.close().await.unwrap();
    tokio::task::spawn_blocking(move || cluster.stop().unwrap())
        .await
        .unwrap();
}

#[test]
fn without_postgres_binaries_the_binary_fails_and_names_the_package() {
    let dir = TempDataDir::new();
    let empty = dir.path().join("no-binaries-here");
    std::fs::create_dir_all(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_justtrades"))
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env("JT_DATA_DIR", dir.path())
        .env("JT_PG_BIN_DIR", &empty)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
}

#[tokio::test]
async fn with_database_url_the_binary_uses_that_server_and_no_embedded_cluster() {
    let db = jt_store::testing::TestDb::new().await;
    let dir = TempDataDir::new();
    let run = |args: &[&str], stdin: &str| on_database(&db, dir.path(), args, stdin);
    let migrated = run(&["migrate"], "");
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let created = run(
        &["user", "create", "--email", "ext@example.com"],
        "a long enough password\n",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(
        !dir.path().join("pg").exists(),
        "no embedded cluster was created"
    );

    let mut admin = db.store.admin("test").await.unwrap();
    let found = jt_store::users::find_user_by_email(
        &mut admin,
        &jt_store::users::Email::parse("ext@example.com").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(found.1, "active");

    let bad = Command::new(env!("CARGO_BIN_EXE_justtrades"))
        .arg("migrate")
        .env("DATABASE_URL", "mysql://nope")
        .env("JT_SECRET_KEY", TEST_SECRET_KEY)
        .env("JT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("DATABASE_URL is not a valid PostgreSQL URL"),
        "{}",
        text(&bad.stderr)
    );
}

#[tokio::test]
async fn promote_demote_disable_and_enable_through_the_binary_are_audited() {
    let db = jt_store::testing::TestDb::new().await;
    let dir = TempDataDir::new();
    let run = |args: &[&str], stdin: &str| on_database(&db, dir.path(), args, stdin);
    let created = run(
        &["user", "create", "--email", "ops@example.com"],
        "a long enough password\n",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let state = || async {
        let mut admin = db.store.admin("test").await.unwrap();
        let (id, _) = jt_store::users::find_user_by_email(
            &mut admin,
            &jt_store::users::Email::parse("ops@example.com").unwrap(),
        )
        .await
        .unwrap();
        let account = jt_store::admin::user_detail::load_account(&mut admin, id)
            .await
            .unwrap();
        admin.commit().await.unwrap();
        (account.role.as_str(), account.status.as_str())
    };
    assert_eq!(state().await, ("user", "active"));

    for (args, expected) in [
        (["user", "promote"], ("admin", "active")),
        (["user", "disable"], ("admin", "disabled")),
        (["user", "enable"], ("admin", "active")),
        (["user", "demote"], ("user", "active")),
    ] {
        let output = run(&[args[0], args[1], "--email", "OPS@example.com"], "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(state().await, expected, "after {args:?}");
    }
    let unknown = run(&["user", "promote", "--email", "nobody@example.com"], "");
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("not found"),
        "{}",
        text(&unknown.stderr)
    );

    let mut admin = db.store.admin("test").await.unwrap();
    let (entries, _) = jt_store::admin::audit_log::list_audit_entries(&mut admin, None, None, 50)
        .await
        .unwrap();
    admin.commit().await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("cli", "user.create"),
            ("cli", "user.promote"),
            ("cli", "user.disable"),
            ("cli", "user.enable"),
            ("cli", "user.demote"),
        ]
    );
}
