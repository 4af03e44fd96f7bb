//! Issue 12, items 1–3 and 8: production processes hold the application role only, never
//! migrate, refuse a role that escapes row-level security, need a shared secret key; and the
//! application role cannot rewrite history.

use std::process::{Command, Output};

use jt_store::testing::TestDb;
use jt_store::{Store, StoreError, verify_app_role};
use sqlx::{ConnectOptions, Connection};

use crate::cli::{TEST_SECRET_KEY, run, text};
use crate::support::TempDataDir;

/// Runs the binary against a production-style database: `DATABASE_URL` and friends given in
/// `env`, nothing inherited from the test's environment.
fn justtrades(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    let dir = TempDataDir::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_justtrades"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("JT_APP_DATABASE_URL")
        .env_remove("JT_SECRET_KEY")
        .env_remove("JT_SECRET_KEY_FILE")
        .env("JT_DATA_DIR", dir.path());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = run(command, args, stdin);
    assert!(
        !dir.path().join("pg").exists() && !dir.path().join("secret.key").exists(),
        "production commands neither start a cluster nor generate a key"
    );
    output
}

fn sql_state(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|code| code.into_owned())
}

async fn table_exists(db: &TestDb, table: &str) -> bool {
    let mut owner = db.owner_options().connect().await.unwrap();
    let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(table)
        .fetch_one(&mut owner)
        .await
        .unwrap();
    owner.close().await.unwrap();
    exists
}

#[tokio::test]
async fn the_application_role_cannot_change_the_schema() {
    let db = TestDb::new().await;
    let mut app = db.app_options().connect().await.unwrap();
    for ddl in [
        "create table intruder (id int)",
        "alter table recorders add column intruder int",
        "drop table recorded_signals",
        "alter table users disable row level security",
        "drop policy users_tenant on users",
    ] {
        let error = sqlx::query(ddl).execute(&mut app).await.unwrap_err();
        assert_eq!(
            sql_state(&error).as_deref(),
            Some("42501"),
            "{ddl}: {error}"
        );
    }
    app.close().await.unwrap();
}

#[tokio::test]
async fn the_application_role_cannot_delete_history() {
    let db = TestDb::new().await;
    let mut app = db.app_options().connect().await.unwrap();
    for delete in [
        "delete from recorders",
        "delete from recorded_signals",
        "delete from api_tokens",
        "delete from users",
        "update recorded_signals set status = 'ignored'",
    ] {
        let error = sqlx::query(delete).execute(&mut app).await.unwrap_err();
        assert_eq!(
            sql_state(&error).as_deref(),
            Some("42501"),
            "{delete}: {error}"
        );
    }
    app.close().await.unwrap();
}

#[tokio::test]
async fn history_restricts_deletes_and_is_tied_to_its_tenant() {
    let db = TestDb::new().await;
    let mut owner = db.owner_options().connect().await.unwrap();
    let (alice, bob, recorder) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    // As the owner, with the tenant set so the forced policies let the rows through.
    let mut tx = owner.begin().await.unwrap();
    for user in [alice, bob] {
        sqlx::query("select set_config('app.user_id', $1, true)")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("insert into users (id, email, password_hash) values ($1, $2, 'x')")
            .bind(user)
            .bind(format!("{user}@example.com"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("select set_config('app.user_id', $1, true)")
        .bind(alice.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "insert into recorders (id, user_id, name, webhook_token_hash) values ($1, $2, 'r', 'h')",
    )
    .bind(recorder)
    .bind(alice)
    .execute(&mut *tx)
    .await
    .unwrap();
    let insert_signal = "insert into recorded_signals
        (user_id, recorder_id, seq, received_at, status, raw_body, body_sha256)
        values ($1, $2, $3, now(), 'accepted', '', '')";
    sqlx::query(insert_signal)
        .bind(alice)
        .bind(recorder)
        .bind(1_i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Bob's signal on Alice's recorder breaks the composite foreign key.
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("select set_config('app.user_id', $1, true)")
        .bind(bob.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query(insert_signal)
        .bind(bob)
        .bind(recorder)
        .bind(2_i64)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(sql_state(&error).as_deref(), Some("23503"), "{error}");
    tx.rollback().await.unwrap();

    // Deleting the recorder does not cascade into its history: it is refused.
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("select set_config('app.user_id', $1, true)")
        .bind(alice.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query("delete from recorders where id = $1")
        .bind(recorder)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(sql_state(&error).as_deref(), Some("23503"), "{error}");
    tx.rollback().await.unwrap();
    owner.close().await.unwrap();
}

#[tokio::test]
async fn every_security_definer_function_pins_its_search_path() {
    let db = TestDb::new().await;
    let mut owner = db.owner_options().connect().await.unwrap();
    let unpinned: Vec<String> = sqlx::query_scalar(
        "select p.oid::regprocedure::text from pg_proc p
         join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prosecdef
           and not coalesce(p.proconfig @> array['search_path=pg_catalog, public, pg_temp'], false)",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert_eq!(unpinned, Vec::<String>::new());
    owner.close().await.unwrap();
}

#[tokio::test]
async fn the_role_check_refuses_a_superuser_and_the_owner_and_accepts_the_app_role() {
    let db = TestDb::new().await;
    let superuser = Store::connect(db.admin_options(), 1).await.unwrap();
    let refused = verify_app_role(&superuser).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::UnsafeAppRole { reason, .. } if reason == "is a superuser"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("JT_APP_DATABASE_URL"),
        "{refused}"
    );
    let owner = Store::connect(db.owner_options(), 1).await.unwrap();
    let refused = verify_app_role(&owner).await.unwrap_err();
    assert!(refused.to_string().contains("owns the tables"), "{refused}");
    verify_app_role(&db.store).await.unwrap();
}

#[tokio::test]
async fn the_binary_refuses_to_serve_as_the_owner() {
    let db = TestDb::new().await;
    let owner_url = db.owner_url();
    let output = justtrades(
        &[
            ("DATABASE_URL", &owner_url),
            ("JT_APP_DATABASE_URL", &owner_url),
            ("JT_SECRET_KEY", TEST_SECRET_KEY),
        ],
        &["user", "create", "--email", "x@example.com"],
        "a long enough password\n",
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("refusing to start"), "{stderr}");
    assert!(stderr.contains("owns the tables"), "{stderr}");
}

#[tokio::test]
async fn without_a_secret_key_production_commands_refuse_to_start() {
    let db = TestDb::new().await;
    let (owner_url, app_url) = (db.owner_url(), db.app_url());
    for (command, env) in [
        (vec!["migrate"], vec![("DATABASE_URL", owner_url.as_str())]),
        (
            vec!["web", "--bind", "127.0.0.1:0"],
            vec![("JT_APP_DATABASE_URL", app_url.as_str())],
        ),
    ] {
        let output = justtrades(&env, &command, "");
        assert!(!output.status.success(), "{command:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("JT_SECRET_KEY (or JT_SECRET_KEY_FILE) is required"),
            "{command:?}: {stderr}"
        );
    }
    // Never from a flag (visible in `ps`).
    let output = justtrades(
        &[("DATABASE_URL", &owner_url)],
        &["--secret-key", TEST_SECRET_KEY, "migrate"],
        "",
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("unexpected argument"));
}

#[tokio::test]
async fn only_migrate_changes_the_schema_and_the_key_may_come_from_a_file() {
    let db = TestDb::new_empty().await;
    let (owner_url, app_url) = (db.owner_url(), db.app_url());
    let dir = TempDataDir::new();
    let key_file = dir.path().join("secret.key.mounted");
    std::fs::write(&key_file, format!("{TEST_SECRET_KEY}\n")).unwrap();
    let key_file = key_file.to_str().unwrap();
    let env = [
        ("DATABASE_URL", owner_url.as_str()),
        ("JT_APP_DATABASE_URL", app_url.as_str()),
        ("JT_SECRET_KEY_FILE", key_file),
    ];
    let create_user = || {
        justtrades(
            &env,
            &["user", "create", "--email", "first@example.com"],
            "a long enough password\n",
        )
    };

    let refused = create_user();
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("run `justtrades migrate`"),
        "{}",
        text(&refused.stderr)
    );
    assert!(
        !table_exists(&db, "_sqlx_migrations").await,
        "nothing migrated"
    );
    assert!(!table_exists(&db, "users").await);

    let migrated = justtrades(&env, &["migrate"], "");
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    assert!(table_exists(&db, "users").await);

    let created = create_user();
    assert!(created.status.success(), "{}", text(&created.stderr));
}

#[tokio::test]
async fn rotating_the_secret_key_moves_every_webhook_url_to_the_new_key() {
    use jt_store::webhook_token::{webhook_token, webhook_token_hash};
    let db = TestDb::new().await;
    let old_key = jt_store::SecretKey::from_bytes(TEST_SECRET_KEY.as_bytes().to_vec()).unwrap();
    let new_text = "the-new-secret-key-0123456789abcdef-rotated";
    let new_key = jt_store::SecretKey::from_bytes(new_text.as_bytes().to_vec()).unwrap();
    let user = jt_store::users::create_user(
        &db.store,
        &jt_store::users::Email::parse("alice@example.com").unwrap(),
        &jt_store::password::Password::parse("a long enough password").unwrap(),
        jt_store::users::Role::User,
    )
    .await
    .unwrap();
    let mut tx = db.store.tenant(user).await.unwrap();
    let recorder = jt_store::recorders::create_recorder(&mut tx, &old_key, "NQ", 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stored_hash = || async {
        let mut owner = db.owner_options().connect().await.unwrap();
        let hash: Vec<u8> =
            sqlx::query_scalar("select webhook_token_hash from recorders where id = $1")
                .bind(recorder.id)
                .fetch_one(&mut owner)
                .await
                .unwrap();
        owner.close().await.unwrap();
        hash
    };
    let hash_under = |key| {
        webhook_token_hash(&webhook_token(
            key,
            recorder.id,
            recorder.webhook_token_version,
        ))
    };
    assert_eq!(stored_hash().await, hash_under(&old_key));

    let (owner_url, app_url) = (db.owner_url(), db.app_url());
    let output = justtrades(
        &[
            ("DATABASE_URL", &owner_url),
            ("JT_APP_DATABASE_URL", &app_url),
            ("JT_SECRET_KEY", TEST_SECRET_KEY),
            ("JT_NEW_SECRET_KEY", new_text),
        ],
        &["rotate-secret-key"],
        "",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("1 webhook URLs changed"));
    assert_eq!(stored_hash().await, hash_under(&new_key));

    // Row-level security is forced again afterwards.
    let mut owner = db.owner_options().connect().await.unwrap();
    let forced: bool =
        sqlx::query_scalar("select relforcerowsecurity from pg_class where relname = 'recorders'")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert!(forced);
    owner.close().await.unwrap();
}
