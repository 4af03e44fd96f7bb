//! Execution data at scale for the admin page benchmark: broker accounts, orders of the
//! last two hours in every state, retries, lock-outs, verification and discrepancies, and
//! an apalis table full of finished jobs. Written with `generate_series` as the schema
//! owner over the users [`super::seed::seed_users_and_signals`] made.

use sqlx::{ConnectOptions, Connection};

use super::TestDb;

/// What [`seed_execution`] writes.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionSeed {
    /// Orders, spread over every seeded user's one paper account; the first user gets a
    /// tenth of them.
    pub orders: i64,
    /// Finished jobs left in `apalis.jobs` (apalis keeps them).
    pub finished_jobs: i64,
}

const TABLES: [&str; 5] = [
    "broker_accounts",
    "orders",
    "order_events",
    "account_verifications",
    "discrepancies",
];

/// Writes `seed`. Panics on failure: this is benchmark set-up.
pub async fn seed_execution(db: &TestDb, seed: ExecutionSeed) {
    let mut conn = db
        .owner_options()
        .connect()
        .await
        .expect("connect as owner");
    let mut tx = conn.begin().await.expect("begin");
    lift(&mut tx, "no force").await;
    for (what, sql) in STATEMENTS {
        // Only the orders statement takes a size (DDL takes no parameters at all).
        let mut query = sqlx::query(*sql);
        if sql.contains("$1") {
            query = query.bind(seed.orders);
        }
        query
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("seed {what}: {e}"));
    }
    sqlx::query(
        "insert into apalis.jobs (id, job_type, job, status, done_at)
         select apalis.generate_ulid(), 'jt_execute_account', '\\x7b7d'::bytea, 'Done', now()
         from generate_series(1, $1)",
    )
    .bind(seed.finished_jobs)
    .execute(&mut *tx)
    .await
    .expect("seed finished jobs");
    lift(&mut tx, "force").await;
    tx.commit().await.expect("commit");
    // What autovacuum does on a live system (statistics, and the visibility map that lets
    // counts be index-only scans).
    sqlx::query("vacuum analyze")
        .execute(&mut conn)
        .await
        .expect("vacuum analyze");
    conn.close().await.ok();
}

async fn lift(tx: &mut sqlx::PgConnection, how: &str) {
    super::seed::lift_rls(tx, how).await;
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "alter table {table} {how} row level security"
        )))
        .execute(&mut *tx)
        .await
        .expect("alter row level security");
    }
}

/// In order; `$1` is the number of orders.
const STATEMENTS: &[(&str, &str)] = &[
    (
        "accounts",
        // One paper account per seeded user, every 50th locked out for the next half hour,
        // every 10th with verification on.
        "insert into broker_accounts (id, user_id, kind, name, status, locked_until,
             verification_enabled)
         select gen_random_uuid(), r.user_id, 'paper', 'Paper',
                case when r.idx % 50 = 0 then 'locked_out' else 'connected' end,
                case when r.idx % 50 = 0 then now() + interval '30 minutes' end,
                false
         from (select user_id, row_number() over (order by user_id) as idx
               from recorders where name = 'seeded') r",
    ),
    (
        "numbering",
        "create temporary table seed_accounts on commit drop as
         select row_number() over (order by u.created_at desc, u.id) - 1 as idx,
                a.id as account_id, a.user_id, r.id as recorder_id
         from broker_accounts a join users u on u.id = a.user_id
         join recorders r on r.user_id = a.user_id
        ",
    ),
    ("numbering index", "create index on seed_accounts (idx)"),
    (
        "orders",
        // Order g: the first user (idx 0) for every tenth, else spread over everyone; spread
        // over the last two hours; 2% rejected, 1% failed, 1% expired, 0.1% queued.
        "insert into orders (user_id, account_id, recorder_id, link_id, signal_id, contract,
             action, quantity, cl_ord_id, status, max_delay_secs, error, created_at,
             finished_at)
         select a.user_id, a.account_id, a.recorder_id, a.account_id, g, 'NQZ6',
                case when g % 2 = 0 then 'buy' else 'sell' end, 1, 'seed-' || g,
                s.status, 30,
                case when s.status in ('rejected', 'failed', 'expired')
                     then 'seeded ' || s.status end,
                now() - (g % 7200) * interval '1 second',
                case when s.status not in ('queued', 'sent')
                     then now() - (g % 7200) * interval '1 second' + interval '20 ms' end
         from generate_series(1, $1) g
         cross join lateral (select case when g % 1000 = 7 then 'queued'
                                         when g % 100 = 1 then 'failed'
                                         when g % 100 = 2 then 'expired'
                                         when g % 50 = 3 then 'rejected'
                                         else 'filled' end as status) s
         join seed_accounts a
           on a.idx = case when g % 10 = 0 then 0
                           else g % (select count(*) from seed_accounts) end
        ",
    ),
    (
        "retries",
        "insert into order_events (user_id, order_id, status, detail, at)
         select user_id, id, 'retry', 'seeded 500', created_at + interval '5 ms'
         from orders where id % 97 = 0",
    ),
    (
        "verification",
        "update broker_accounts a set verification_enabled = true,
             verification_due_at = now(), kind = 'tradovate', environment = 'demo',
             credentials = '\\x00'::bytea
         from seed_accounts s
         where s.account_id = a.id and s.idx % 10 = 0",
    ),
    (
        "verification outcomes",
        "insert into account_verifications (account_id, user_id, status, checked_at)
         select s.account_id, s.user_id,
                case when s.idx % 100 = 0 then 'mismatched' else 'matched' end, now()
         from seed_accounts s where s.idx % 10 = 0",
    ),
    (
        "discrepancies",
        "insert into discrepancies (user_id, account_id, contract, expected, actual,
             first_seen, last_seen, closed_at)
         select s.user_id, s.account_id, 'NQZ6', 1, 0, now() - interval '10 minutes', now(),
                case when k > 1 then now() - k * interval '1 minute' end
         from seed_accounts s cross join generate_series(1, 5) k
         where s.idx % 100 = 0",
    ),
    (
        "waiting jobs",
        "insert into apalis.jobs (id, job_type, job)
         select apalis.generate_ulid(), 'jt_execute_account', '\\x7b7d'::bytea
         from generate_series(1, 50)",
    ),
];
