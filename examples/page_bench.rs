//! Page timings with a big recorder (SPEC §11, issue 10): one user whose recorder holds
//! 1,000,000 signals and 20,000 trades, seeded with SQL (`generate_series`) as the schema
//! owner; then the real server on a loopback port answers sequential requests for the
//! dashboard, the recorder page, the next signal-log page, a deep signal-log page and the
//! CSV export's first bytes. Prints one JSON line and stores it under `bench/results/`.
//!
//! `cargo run --release --example page_bench [-- SIGNALS TRADES ROUNDS]` (defaults
//! 1000000 20000 100). Uses the test harness's throwaway cluster: nothing else is touched.

use std::time::{Duration, Instant};

use jt_store::testing::TestDb;
use jt_web::testing::{TestApp, TestBrowser, spawn_app_with_store};
use sqlx::{ConnectOptions, Connection};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let signals = args.first().copied().unwrap_or(1_000_000);
    let trades = args.get(1).copied().unwrap_or(20_000);
    let rounds = args.get(2).copied().unwrap_or(100) as usize;

    let db = TestDb::new().await;
    let app = spawn_app_with_store(db.store.clone()).await;
    let user = app.create_user(EMAIL).await;
    let recorder = app.create_recorder(&user, "Big one").await;
    let id = recorder["id"].as_str().ok_or("recorder id")?.to_owned();
    let url = recorder["webhook_url"]
        .as_str()
        .ok_or("webhook url")?
        .to_owned();
    // Real signals first: a position, a trade whose stored JSON the seed copies.
    for body in [
        "BUY 2 NQ1! @ 25600",
        "SELL 2 NQ1! @ 25610.25",
        "BUY 1 NQ1! @ 25605",
    ] {
        let status = app.post_webhook(&url, body).await.status();
        assert_eq!(status, 200, "{body}");
    }
    let started = Instant::now();
    seed(&db, &id, signals, trades).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("seeded {signals} signals and {trades} trades in {seed_secs:.1} s");

    let browser = app.browser();
    assert_eq!(browser.post_login(EMAIL, PASSWORD).await.status(), 303);
    let first_page = browser
        .get(&format!("/recorders/{id}"))
        .await
        .text()
        .await?;
    let older = cursor_in(&first_page).ok_or("an older-signals link")?;
    let middle = signals / 2;

    let results = serde_json::json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "signals": signals,
        "trades": trades,
        "rounds": rounds,
        "seed_seconds": seed_secs,
        "dashboard_ms": time_page(&browser, "/", rounds).await,
        "recorder_page_ms": time_page(&browser, &format!("/recorders/{id}"), rounds).await,
        "next_signal_page_ms": time_page(&browser, &format!("/recorders/{id}?before={older}"), rounds).await,
        "deep_signal_page_ms": time_page(&browser, &format!("/recorders/{id}?before={middle}"), rounds).await,
        "stats_fragment_ms": time_page(&browser, &format!("/recorders/{id}/fragments/stats"), rounds).await,
        "csv_first_byte_ms": time_csv(&app, &user, &id, rounds).await,
    });
    println!("{results}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!(
        "pages-{}.json",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ));
    std::fs::write(file, format!("{results}\n"))?;
    Ok(())
}

/// Signals (every 97th rejected, every 101st with a resync note) and trades, spread over the
/// last year, for the recorder, written in one transaction as the owner with the tenant set
/// (row-level security applies to the owner too).
async fn seed(db: &TestDb, recorder: &str, signals: u64, trades: u64) -> Result<(), sqlx::Error> {
    let mut owner = db.owner_options().connect().await?;
    let mut tx = owner.begin().await?;
    let user: uuid::Uuid = sqlx::query_scalar("select user_id from recorders where id = $1::uuid")
        .bind(recorder)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("select set_config('app.user_id', $1, true)")
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into recorded_signals (user_id, recorder_id, seq, received_at, status, action,
            ticker, root, quantity, price, contract, price_used, price_source, position_after,
            delta, notes, error, raw_body, body_sha256, content_type)
         select $1, $2::uuid, 100 + i, now() - make_interval(secs => ($3 - i) * 30),
            case when i % 97 = 0 then 'rejected' else 'accepted' end,
            case when i % 2 = 0 then 'buy' else 'sell' end, 'NQ1!', 'NQ', 1,
            25600 + (i % 400) * 0.25, 'NQZ6', 25600 + (i % 400) * 0.25, 'signal', (i % 2)::bigint,
            case when i % 2 = 0 then 1 else -1 end,
            case when i % 101 = 0 then '[{\"kind\":\"resync\",\"from_action\":2,\"target\":1}]'::jsonb
                 else '[]'::jsonb end,
            case when i % 97 = 0 then 'unknown action \"HOLD\": use buy, sell or close' end,
            convert_to('BUY 1 NQ1! @ ' || i, 'UTF8'), decode(md5(i::text), 'hex'), 'text/plain'
         from generate_series(1, $3) as i",
    )
    .bind(user)
    .bind(recorder)
    .bind(signals as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
            quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
            realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at, duration_seconds,
            engine_trade)
         select t.user_id, t.recorder_id, t.closing_signal_id, t.root, t.contract, t.side,
            t.quantity, t.entries, t.exits, t.avg_entry_price, t.avg_exit_price, t.realized_points,
            ((i * 7919) % 1000 - 430) * 1.25, 2.5, ((i * 7919) % 1000 - 430) * 1.25 - 2.5, t.mae,
            t.mfe, now() - make_interval(secs => ($3 - i) * 1500 + 600),
            now() - make_interval(secs => ($3 - i) * 1500), 600, t.engine_trade
         from (select * from trades where recorder_id = $2::uuid limit 1) t,
              generate_series(1, $3) as i",
    )
    .bind(user)
    .bind(recorder)
    .bind(trades as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update recorders set last_seq = 100 + $2 where id = $1::uuid")
        .bind(recorder)
        .bind(signals as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sqlx::query("analyze").execute(&mut owner).await?;
    owner.close().await
}

/// The `before=` cursor of the "Older signals" link.
fn cursor_in(html: &str) -> Option<String> {
    let start = html.find("?before=")? + "?before=".len();
    let end = html[start..].find('#')? + start;
    Some(html[start..end].to_owned())
}

/// p50/p95/max of `rounds` sequential GETs (whole body read), after 3 warm-ups.
async fn time_page(browser: &TestBrowser, path: &str, rounds: usize) -> serde_json::Value {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds + 3 {
        let start = Instant::now();
        let response = browser.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body = response.bytes().await.expect("body");
        assert!(!body.is_empty());
        if round >= 3 {
            times.push(start.elapsed());
        }
    }
    summary(times)
}

/// Time to the first body chunk (the header) and to the first data row of the signals CSV.
async fn time_csv(
    app: &TestApp,
    user: &jt_web::testing::TestUser,
    id: &str,
    rounds: usize,
) -> serde_json::Value {
    let path = format!("/api/v1/recorders/{id}/signals.csv");
    let (mut first_byte, mut first_row) = (Vec::new(), Vec::new());
    for round in 0..rounds + 3 {
        let start = Instant::now();
        let mut response = app
            .api(reqwest::Method::GET, &path, user)
            .send()
            .await
            .expect("csv");
        assert_eq!(response.status(), 200);
        let mut seen = 0;
        let mut byte_at = None;
        while let Some(chunk) = response.chunk().await.expect("chunk") {
            byte_at.get_or_insert_with(|| start.elapsed());
            seen += chunk.iter().filter(|b| **b == b'\n').count();
            if seen >= 2 {
                break;
            }
        }
        if round >= 3 {
            first_byte.push(byte_at.expect("a first chunk"));
            first_row.push(start.elapsed());
        }
        // Dropping the response hangs up: the server stops the export.
    }
    serde_json::json!({ "header": summary(first_byte), "first_row": summary(first_row) })
}

fn summary(mut times: Vec<Duration>) -> serde_json::Value {
    times.sort();
    let at = |q: f64| {
        let index = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        (times[index].as_secs_f64() * 1000.0 * 10.0).round() / 10.0
    };
    serde_json::json!({ "p50": at(0.50), "p95": at(0.95), "max": at(1.0) })
}
