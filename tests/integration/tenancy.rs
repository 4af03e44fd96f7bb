//! Row-level security: the application role sees and changes only the scoped tenant's rows,
//! sees nothing without a scope, and cannot escape the policies.

use jt_store::password::Password;
use jt_store::testing::TestDb;
use jt_store::users::{Email, Role, create_user};
use jt_store::{RecorderId, Store, UserId};
use sqlx::Row;

async fn new_user(store: &Store, email: &str) -> UserId {
    create_user(
        store,
        &Email::parse(email).unwrap(),
        &Password::parse("correct horse battery").unwrap(),
        Role::User,
    )
    .await
    .unwrap()
}

async fn new_recorder(store: &Store, user: UserId, name: &str) -> RecorderId {
    let id = RecorderId::new();
    let mut tx = store.tenant(user).await.unwrap();
    sqlx::query(
        "insert into recorders (id, user_id, name, webhook_token_hash) values ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(user)
    .bind(name)
    .bind(uuid::Uuid::new_v4().as_bytes().to_vec())
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Two users with one recorder each.
async fn two_tenants() -> (TestDb, UserId, RecorderId, UserId, RecorderId) {
    let db = TestDb::new().await;
    let alice = new_user(&db.store, "alice@example.com").await;
    let bob = new_user(&db.store, "bob@example.com").await;
    let alice_rec = new_recorder(&db.store, alice, "alice strategy").await;
    let bob_rec = new_recorder(&db.store, bob, "bob strategy").await;
    (db, alice, alice_rec, bob, bob_rec)
}

#[tokio::test]
async fn a_tenant_reads_only_its_own_rows_even_without_a_where_clause() {
    let (db, alice, alice_rec, _bob, _bob_rec) = two_tenants().await;
    let mut tx = db.store.tenant(alice).await.unwrap();
    let recorders: Vec<RecorderId> = sqlx::query_scalar("select id from recorders")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(recorders, vec![alice_rec]);
    let users: Vec<UserId> = sqlx::query_scalar("select id from users")
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert_eq!(users, vec![alice]);
}

#[tokio::test]
async fn a_tenant_cannot_change_or_delete_another_tenants_rows() {
    let (db, alice, _alice_rec, bob, bob_rec) = two_tenants().await;
    let mut tx = db.store.tenant(alice).await.unwrap();
    let updated = sqlx::query("update recorders set name = 'hijacked'")
        .execute(tx.conn())
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 1, "only alice's own recorder");
    tx.commit().await.unwrap();
    // Recorders are only ever soft-deleted: the application role may not delete any row.
    let mut tx = db.store.tenant(alice).await.unwrap();
    let refused = sqlx::query("delete from recorders where id = $1")
        .bind(bob_rec)
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("42501"),
        "{refused}"
    );
    drop(tx);

    let mut tx = db.store.tenant(bob).await.unwrap();
    let name: String = sqlx::query_scalar("select name from recorders where id = $1")
        .bind(bob_rec)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(name, "bob strategy");
}

#[tokio::test]
async fn a_tenant_cannot_insert_rows_owned_by_another_tenant() {
    let (db, alice, _, bob, _) = two_tenants().await;
    let mut tx = db.store.tenant(alice).await.unwrap();
    let error = sqlx::query(
        "insert into recorders (id, user_id, name, webhook_token_hash) values ($1, $2, 'x', 'abc')",
    )
    .bind(RecorderId::new())
    .bind(bob)
    .execute(tx.conn())
    .await
    .unwrap_err();
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    assert_eq!(code, "42501", "row-level security violation, got {error}");
}

#[tokio::test]
async fn without_a_tenant_the_application_role_sees_zero_rows_and_cannot_write() {
    let (db, alice, _, _, _) = two_tenants().await;
    let mut tx = db.store.unscoped_tx_for_tests().await.unwrap();
    for table in ["users", "recorders", "api_tokens", "audit_log"] {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(count, 0, "{table} must look empty without app.user_id");
    }
    let insert = sqlx::query(
        "insert into recorders (id, user_id, name, webhook_token_hash) values ($1, $2, 'x', 'abc')",
    )
    .bind(RecorderId::new())
    .bind(alice)
    .execute(&mut *tx)
    .await;
    assert!(insert.is_err(), "insert without a tenant must fail");
}

#[tokio::test]
async fn the_scope_does_not_leak_to_the_next_transaction_on_the_same_connection() {
    let (db, alice, _, _, _) = two_tenants().await;
    // One connection in the pool, so the unscoped transaction reuses alice's connection.
    let store = Store::connect(db.app_options(), 1).await.unwrap();
    let tx = store.tenant(alice).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.unscoped_tx_for_tests().await.unwrap();
    let count: i64 = sqlx::query_scalar("select count(*) from recorders")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn the_application_role_is_not_superuser_owner_or_rls_exempt_and_cannot_escape() {
    let (db, alice, _, _, _) = two_tenants().await;
    let mut tx = db.store.tenant(alice).await.unwrap();
    let row = sqlx::query(
        "select current_user::text as me, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,
                (select tableowner::text from pg_tables where tablename = 'recorders') as owner
         from pg_roles where rolname = current_user",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    let me: String = row.get("me");
    assert_eq!(me, "jt_app");
    assert!(!row.get::<bool, _>("rolsuper"));
    assert!(!row.get::<bool, _>("rolbypassrls"));
    assert!(!row.get::<bool, _>("rolcreaterole"));
    assert!(!row.get::<bool, _>("rolcreatedb"));
    let owner: String = row.get("owner");
    assert_ne!(owner, me, "the app role must not own the tables");
    tx.commit().await.unwrap();

    let escapes = [
        format!("set role {owner}"),
        "set role postgres".to_owned(),
        "alter table recorders disable row level security".to_owned(),
        "alter table recorders no force row level security".to_owned(),
        "drop policy recorders_tenant on recorders".to_owned(),
        "create table sneaky (id int)".to_owned(),
        "update users set role = 'admin'".to_owned(),
    ];
    for sql in escapes {
        let mut tx = db.store.tenant(alice).await.unwrap();
        let result = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(tx.conn())
            .await;
        assert!(result.is_err(), "`{sql}` must be refused");
    }

    // Turning row security off makes filtered queries fail instead of showing everything.
    let mut tx = db.store.tenant(alice).await.unwrap();
    sqlx::query("set local row_security = off")
        .execute(tx.conn())
        .await
        .unwrap();
    let result = sqlx::query("select count(*) from recorders")
        .fetch_one(tx.conn())
        .await;
    assert!(
        result.is_err(),
        "row_security=off must not reveal other tenants"
    );
}

#[tokio::test]
async fn admin_transactions_see_every_user_but_not_to_write_tenant_data() {
    let (db, _, _, bob, bob_rec) = two_tenants().await;
    let mut tx = db.store.admin("test").await.unwrap();
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(users, 2);
    let renamed = sqlx::query("update recorders set name = 'admin was here' where id = $1")
        .bind(bob_rec)
        .execute(tx.conn())
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(renamed, 0, "admins read recorders, they do not change them");
    tx.audit("test.action", Some(bob), serde_json::json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Tenants cannot read the audit log.
    let mut tx = db.store.tenant(bob).await.unwrap();
    let entries: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(entries, 0);
}

#[tokio::test]
async fn emails_are_unique_case_insensitively_and_passwords_are_argon2id() {
    let db = TestDb::new().await;
    let alice = new_user(&db.store, "Alice@Example.com").await;
    let again = create_user(
        &db.store,
        &Email::parse("alice@EXAMPLE.com").unwrap(),
        &Password::parse("another password").unwrap(),
        Role::User,
    )
    .await;
    assert!(
        matches!(again, Err(jt_store::StoreError::EmailTaken)),
        "{again:?}"
    );

    let mut tx = db.store.tenant(alice).await.unwrap();
    let hash: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(jt_store::password::verify_password(
        "correct horse battery",
        &hash
    ));
    assert!(!jt_store::password::verify_password(
        "wrong password!",
        &hash
    ));
}

#[test]
fn passwords_shorter_than_ten_characters_are_refused_with_the_rule() {
    let error = Password::parse("123456789").unwrap_err().to_string();
    assert!(error.contains("at least 10"), "{error}");
    assert!(Password::parse("1234567890").is_ok());
    assert!(Email::parse("not an email").is_err());
}

#[tokio::test]
async fn the_users_time_zone_falls_back_to_utc_when_unknown() {
    let db = TestDb::new().await;
    let alice = new_user(&db.store, "alice@example.com").await;
    for (stored, expected) in [
        ("America/New_York", chrono_tz::Tz::America__New_York),
        ("Not/AZone", chrono_tz::Tz::UTC),
    ] {
        let mut tx = db.store.tenant(alice).await.unwrap();
        sqlx::query("update users set time_zone = $1")
            .bind(stored)
            .execute(tx.conn())
            .await
            .unwrap();
        assert_eq!(
            jt_store::state::user_time_zone(&mut tx).await.unwrap(),
            expected
        );
        tx.commit().await.unwrap();
    }
}
