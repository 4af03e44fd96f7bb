//! Bulk data for tests and benchmarks of the admin console: many users with one recorder
//! each and many signals, written with `generate_series` as the schema owner (row-level
//! security is lifted for the owner while it seeds, in the same transaction).

use sqlx::{ConnectOptions, Connection};

use super::TestDb;

/// What [`seed_users_and_signals`] writes.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    /// Users, each with one recorder (`seed{n}@example.com`, n from 1).
    pub users: i64,
    /// Signals in all, spread over the first 90% of the users' recorders; every 20th is
    /// rejected, the rest accepted.
    pub signals: i64,
    /// Signals per insert statement (and transaction).
    pub batch: i64,
}

/// Writes `seed` into the test database, then folds the per-statement totals. Panics on
/// failure: this is test and benchmark set-up.
pub async fn seed_users_and_signals(db: &TestDb, seed: Seed) {
    let mut conn = db
        .owner_options()
        .connect()
        .await
        .expect("connect as owner");
    let mut tx = conn.begin().await.expect("begin");
    lift_rls(&mut tx, "no force").await;
    sqlx::query(
        "insert into users (id, email, password_hash, created_at)
         select gen_random_uuid(), 'seed' || g || '@example.com', 'seeded: no log-in',
                now() - g * interval '1 minute'
         from generate_series(1, $1) g",
    )
    .bind(seed.users)
    .execute(&mut *tx)
    .await
    .expect("seed users");
    sqlx::query(
        "create table seed_recorders as
         select (row_number() over (order by u.created_at desc, u.id) - 1)::bigint as idx,
                gen_random_uuid() as id, u.id as user_id
         from users u where u.email like 'seed%@example.com'",
    )
    .execute(&mut *tx)
    .await
    .expect("number recorders");
    sqlx::query("create index on seed_recorders (idx)")
        .execute(&mut *tx)
        .await
        .expect("index");
    sqlx::query(
        "insert into recorders (id, user_id, name, webhook_token_hash)
         select id, user_id, 'seeded', sha256(convert_to(id::text, 'UTF8')) from seed_recorders",
    )
    .execute(&mut *tx)
    .await
    .expect("seed recorders");
    lift_rls(&mut tx, "force").await;
    tx.commit().await.expect("commit users");

    let active = (seed.users * 9 / 10).max(1);
    let mut start = 0;
    while start < seed.signals {
        let end = (start + seed.batch).min(seed.signals);
        let mut tx = conn.begin().await.expect("begin");
        lift_rls(&mut tx, "no force").await;
        // Signal i goes to recorder i mod active, as its (i / active + 1)-th signal.
        sqlx::query(
            "insert into recorded_signals (user_id, recorder_id, seq, received_at, status,
                 action, ticker, error, raw_body, body_sha256)
             select r.user_id, r.id, g / $3 + 1,
                    now() - ($2 - g) * interval '10 milliseconds',
                    case when g % 20 = 0 then 'rejected' else 'accepted' end,
                    'buy', 'NQ1!',
                    case when g % 20 = 0 then 'price required: add \"price\": \"{{close}}\"' end,
                    '\\x'::bytea, '\\x'::bytea
             from generate_series($1, $2 - 1) g join seed_recorders r on r.idx = g % $3",
        )
        .bind(start)
        .bind(end)
        .bind(active)
        .execute(&mut *tx)
        .await
        .expect("seed signals");
        lift_rls(&mut tx, "force").await;
        tx.commit().await.expect("commit signals");
        start = end;
    }
    let mut tx = conn.begin().await.expect("begin");
    lift_rls(&mut tx, "no force").await;
    sqlx::query(
        "update recorders r set last_seq = $1 / $2 + case when s.idx < $1 % $2 then 1 else 0 end
         from seed_recorders s where s.id = r.id and s.idx < $2",
    )
    .bind(seed.signals)
    .bind(active)
    .execute(&mut *tx)
    .await
    .expect("recorder sequence numbers");
    sqlx::query("drop table seed_recorders")
        .execute(&mut *tx)
        .await
        .expect("drop");
    sqlx::query("select fold_user_signal_deltas()")
        .execute(&mut *tx)
        .await
        .expect("fold");
    lift_rls(&mut tx, "force").await;
    tx.commit().await.expect("commit");
    sqlx::query("analyze")
        .execute(&mut conn)
        .await
        .expect("analyze");
    conn.close().await.ok();
}

/// `force` or `no force` row-level security on the seeded tables: without `force`, the
/// owner (us) is not filtered. Only inside a transaction, so nobody else ever sees it off.
pub(super) async fn lift_rls(tx: &mut sqlx::PgConnection, how: &str) {
    for table in ["users", "recorders", "recorded_signals"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "alter table {table} {how} row level security"
        )))
        .execute(&mut *tx)
        .await
        .expect("alter row level security");
    }
}
