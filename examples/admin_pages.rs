//! Admin console page times over a seeded database: USERS users (one recorder and one broker
//! account each), SIGNALS signals and ORDERS orders of the last two hours (with retries,
//! lock-outs, verification, discrepancies and 100,000 finished jobs in apalis's table),
//! seeded with SQL `generate_series` as the schema owner, then each admin page fetched
//! through the real router and timed. Prints and stores the percentiles under
//! bench/results/. Uses the test harness's throwaway cluster (non-durable: reads only).
//!
//! `cargo run --release --example admin_pages -- [USERS] [SIGNALS] [REQUESTS] [ORDERS]`
//! (defaults 10000, 10000000, 100, 1000000).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use jt_store::testing::TestDb;
use jt_store::testing::seed::{Seed, seed_users_and_signals};
use jt_store::testing::seed_execution::{ExecutionSeed, seed_execution};
use jt_web::testing::{TEST_PASSWORD, TestBrowser, link_labelled, spawn_app_with_store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: i64| -> Result<i64, Box<dyn std::error::Error>> {
        Ok(args.get(i).map_or(Ok(default), |a| a.parse())?)
    };
    let (users, signals, requests) = (number(0, 10_000)?, number(1, 10_000_000)?, number(2, 100)?);
    let orders = number(3, 1_000_000)?;

    let db = TestDb::new().await;
    let started = Instant::now();
    let seed = Seed {
        users,
        signals,
        batch: 500_000,
    };
    seed_users_and_signals(&db, seed).await;
    let execution = ExecutionSeed {
        orders,
        finished_jobs: 100_000,
    };
    seed_execution(&db, execution).await;
    let seeding = started.elapsed();
    eprintln!("seeded {users} users, {signals} signals and {orders} orders in {seeding:.1?}");

    if std::env::var_os("JT_BENCH_EXPLAIN").is_some() {
        explain(&db).await;
    }
    for sort in ["created", "last_signal", "signals"] {
        let times = time_store_list(&db, sort, requests).await;
        println!(
            "store list_users {sort:13} p50 {:7.2} ms  p95 {:7.2} ms",
            percentile(&times, 50),
            percentile(&times, 95)
        );
    }
    let app = spawn_app_with_store(db.store.clone()).await;
    let admin_id = app.create_admin("bench-admin@example.com").await;
    let browser = app.browser();
    assert_eq!(
        browser
            .post_login("bench-admin@example.com", TEST_PASSWORD)
            .await
            .status(),
        303
    );
    let top_user = top_user(&db).await;
    let mut pages = vec![
        ("users, newest", "/admin".to_owned()),
        ("users, latest signal", "/admin?sort=last_signal".to_owned()),
        ("users, most signals", "/admin?sort=signals".to_owned()),
        ("users, search", "/admin?q=seed123".to_owned()),
        (
            "user detail (most signals)",
            format!("/admin/users/{top_user}"),
        ),
        (
            "user detail (most orders)",
            format!(
                "/admin/users/{}",
                user_by_email(&db, "seed1@example.com").await
            ),
        ),
        ("user detail (admin)", format!("/admin/users/{admin_id}")),
        ("health", "/admin/health".to_owned()),
        ("audit log", "/admin/audit".to_owned()),
    ];
    // Pages deep in the list: follow "Next page" 20 times in two sorts.
    for (name, first) in [
        ("users, newest, page 21", "/admin"),
        ("users, most signals, page 21", "/admin?sort=signals"),
    ] {
        let mut path = first.to_owned();
        for _ in 0..20 {
            let html = browser.get(&path).await.text().await?;
            path = link_labelled(&html, "Next page").ok_or("no next page")?;
        }
        pages.push((name, path));
    }

    let mut results = Vec::new();
    for (name, path) in &pages {
        let times = time_page(&browser, path, requests).await;
        let (p50, p95, max) = (
            percentile(&times, 50),
            percentile(&times, 95),
            percentile(&times, 100),
        );
        println!("{name:32} p50 {p50:7.2} ms  p95 {p95:7.2} ms  max {max:7.2} ms");
        results.push(format!(
            "{{\"page\":\"{name}\",\"p50_ms\":{p50:.3},\"p95_ms\":{p95:.3},\"max_ms\":{max:.3}}}"
        ));
    }
    std::fs::create_dir_all("bench/results")?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let json = format!(
        "{{\"date\":\"{}\",\"build\":\"{}\",\"users\":{users},\"signals\":{signals},\"requests_per_page\":{requests},\"seed_seconds\":{:.1},\"pages\":[{}]}}\n",
        chrono::Utc::now().to_rfc3339(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        seeding.as_secs_f64(),
        results.join(",")
    );
    std::fs::write(format!("bench/results/admin_pages-{stamp}.json"), json)?;
    Ok(())
}

/// The user with the most signals.
async fn top_user(db: &TestDb) -> jt_store::UserId {
    let mut tx = db.store.admin("bench").await.unwrap();
    let query = jt_store::admin::user_list::UserListQuery {
        sort: jt_store::admin::user_list::UserSort::Signals,
        limit: 1,
        ..Default::default()
    };
    let (rows, _) = jt_store::admin::user_list::list_users(&mut tx, &query)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows[0].id
}

/// The id of the user with this e-mail.
async fn user_by_email(db: &TestDb, email: &str) -> jt_store::UserId {
    let mut tx = db.store.admin("bench").await.unwrap();
    let email = jt_store::users::Email::parse(email).unwrap();
    let (id, _) = jt_store::users::find_user_by_email(&mut tx, &email)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// `requests` sequential fetches after 5 warm-ups; milliseconds, sorted.
async fn time_page(browser: &TestBrowser, path: &str, requests: i64) -> Vec<f64> {
    for _ in 0..5 {
        assert_eq!(browser.get(path).await.status(), 200, "{path}");
    }
    let mut times = Vec::new();
    for _ in 0..requests {
        let started = Instant::now();
        let response = browser.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap();
        times.push(millis(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    times
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[f64], percent: usize) -> f64 {
    let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// Prints the plans of the list queries (`JT_BENCH_EXPLAIN=1`).
async fn explain(db: &TestDb) {
    use sqlx::{ConnectOptions, Row};
    let mut conn = db.app_options().connect().await.unwrap();
    sqlx::query("select set_config('app.role', 'admin', false)")
        .execute(&mut conn)
        .await
        .unwrap();
    for (key, id) in [
        ("created_at", "id"),
        (
            "coalesce(last_signal_at, 'epoch'::timestamptz)",
            "stats_user_id",
        ),
        ("signals", "stats_user_id"),
    ] {
        let sql = format!(
            "explain analyze select id, email, role, status, created_at, signals, last_signal_at
             from admin_user_list
             order by {key} desc, {id} desc limit 51"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            println!("{}", row.get::<String, _>(0));
        }
    }
    // The health page's execution queries (the ones over all users).
    for sql in [
        "select * from admin_order_states(null, now() - interval '1 hour')",
        "select count(*) from orders where status in ('rejected', 'failed', 'expired') and finished_at >= now() - interval '1 hour'",
        "select count(*) from order_events where status = 'retry' and at >= now() - interval '1 hour'",
        "select count(*) from broker_accounts where locked_until > now()",
        "select count(*) from discrepancies where closed_at is null",
        "select job_type, count(*) from apalis.jobs where status in ('Pending', 'Queued', 'Running') or (status = 'Failed' and attempts < max_attempts) group by job_type",
    ] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("explain analyze {sql}")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            println!("{}", row.get::<String, _>(0));
        }
    }
}

/// Fold + one page of `list_users` in an admin transaction, without HTTP: milliseconds.
async fn time_store_list(db: &TestDb, sort: &str, requests: i64) -> Vec<f64> {
    let query = jt_store::admin::user_list::UserListQuery {
        sort: jt_store::admin::user_list::UserSort::parse(sort).unwrap(),
        limit: 50,
        ..Default::default()
    };
    let mut times = Vec::new();
    for _ in 0..requests {
        let started = Instant::now();
        let mut tx = db.store.admin("bench").await.unwrap();
        jt_store::admin::fold_signal_deltas(&mut tx).await.unwrap();
        jt_store::admin::user_list::list_users(&mut tx, &query)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        times.push(millis(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    times
}
