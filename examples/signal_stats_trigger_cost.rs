//! What the per-user signal totals cost ingest: the time PostgreSQL reports for the
//! statement-level trigger `recorded_signals_user_deltas` beside the whole insert's, for 1,
//! 64 and 1,000 signals per statement (medians). Uses the test harness's throwaway cluster (fsync off: CPU cost, not disk).
//!
//! `cargo run --release --example signal_stats_trigger_cost -- [STATEMENTS]` (default 3000)

#![allow(clippy::unwrap_used)]

use jt_store::testing::TestDb;
use jt_store::testing::seed::{Seed, seed_users_and_signals};
use sqlx::{ConnectOptions, Connection};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let statements: i64 = std::env::args().nth(1).map_or(Ok(3000), |a| a.parse())?;
    let db = TestDb::new().await;
    let seed = Seed {
        users: 100,
        signals: 0,
        batch: 1,
    };
    seed_users_and_signals(&db, seed).await;
    let mut conn = db.owner_options().connect().await?;
    sqlx::query("alter table recorded_signals no force row level security")
        .execute(&mut conn)
        .await?;
    let recorder: (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("select id, user_id from recorders limit 1")
            .fetch_one(&mut conn)
            .await?;
    // The trigger's own time as PostgreSQL reports it (EXPLAIN ANALYZE), beside the whole
    // insert's: less sensitive to a busy machine than wall-clock round trips.
    let mut seq = 0;
    for rows in [1_i64, 64, 1000] {
        let mut trigger = Vec::new();
        let mut total = Vec::new();
        for _ in 0..statements {
            let plan: (serde_json::Value,) = sqlx::query_as(
                "explain (analyze, format json)
                 insert into recorded_signals (user_id, recorder_id, seq, received_at, status,
                     raw_body, body_sha256)
                 select $1, $2, $3 + g, now(), 'accepted', '\\x'::bytea, '\\x'::bytea
                 from generate_series(1, $4) g",
            )
            .bind(recorder.1)
            .bind(recorder.0)
            .bind(seq)
            .bind(rows)
            .fetch_one(&mut conn)
            .await?;
            seq += rows;
            let plan = &plan.0[0];
            total.push(plan["Execution Time"].as_f64().unwrap_or(f64::NAN) * 1000.0);
            let triggers = plan["Triggers"].as_array().cloned().unwrap_or_default();
            let ours = triggers
                .iter()
                .find(|t| t["Trigger Name"] == "recorded_signals_user_deltas")
                .and_then(|t| t["Time"].as_f64())
                .unwrap_or(f64::NAN);
            trigger.push(ours * 1000.0);
        }
        trigger.sort_by(f64::total_cmp);
        total.sort_by(f64::total_cmp);
        println!(
            "{rows:4} signal(s)/statement: trigger {:7.1} µs of {:7.1} µs execution (medians)",
            trigger[trigger.len() / 2],
            total[total.len() / 2]
        );
    }
    sqlx::query("alter table recorded_signals force row level security")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}
