//! Engine throughput on one core (SPEC §11, "engine"): apply only, parse + apply, and a full
//! replay of 1 M signals. Run with `cargo run --release --example engine_bench [N]`.
//!
//! Signals are a deterministic pseudo-random NQ strategy (buys, sells, flips, closes, targets)
//! with prices walking in ticks, so every branch of the engine is exercised.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use jt_engine::{Alert, ApplyContext, Limits, Position, Stats, apply, parse_alert, replay};
use rust_decimal::Decimal;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Alert bodies: 3/4 TradingView-style JSON, 1/4 text.
fn bodies(n: usize) -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ticks: i64 = 100_000; // 25,000.00 in 0.25 ticks
    let mut position: i64 = 0;
    (0..n)
        .map(|_| {
            ticks += rng.below(9) as i64 - 4;
            let price = Decimal::new(ticks * 25, 2);
            let quantity = 1 + rng.below(3) as i64;
            let (action, next) = match rng.below(10) {
                0..=3 => ("buy", position + quantity),
                4..=7 => ("sell", position - quantity),
                _ => ("close", 0),
            };
            position = next;
            if rng.below(4) == 0 {
                format!("{action} {quantity} NQ1! @ {price}")
            } else {
                format!(
                    r#"{{"action":"{action}","ticker":"NQ1!","quantity":"{quantity}","price":"{price}","position_size":"{next}","id":"{}","time":"2025-11-03T14:30:00Z"}}"#,
                    rng.next()
                )
            }
        })
        .collect()
}

fn rate(count: usize, elapsed: Duration) -> String {
    let per_second = count as f64 / elapsed.as_secs_f64();
    format!(
        "{:>7.2} M/s ({:.0} ns each)",
        per_second / 1e6,
        1e9 / per_second
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let limits = Limits::default();
    let bodies = bodies(n);
    let alerts: Vec<Alert> = bodies
        .iter()
        .map(|b| parse_alert(b, &limits))
        .collect::<Result<_, _>>()?;
    let start = Utc
        .with_ymd_and_hms(2025, 11, 3, 14, 30, 0)
        .single()
        .ok_or("bad start time")?;
    let mut ctx = ApplyContext::new(start);
    ctx.commission_per_contract = Decimal::new(52, 2);
    let root = alerts.first().ok_or("no signals")?.symbol.root;
    println!("engine_bench: {n} NQ signals, one core");

    // Apply only (alerts parsed beforehand).
    let t = Instant::now();
    let mut position = Position::flat(root);
    let mut trades = 0usize;
    for alert in &alerts {
        ctx.now += chrono::Duration::seconds(1);
        let applied = apply(&position, alert, &ctx)?;
        trades += usize::from(applied.closed_trade.is_some());
        position = applied.position;
    }
    let apply_time = t.elapsed();
    black_box(&position);
    println!(
        "apply only:      {}  ({trades} trades)",
        rate(n, apply_time)
    );
    if std::env::args().nth(2).as_deref() == Some("apply-only") {
        // For profiling the engine alone: more passes so setup does not dominate.
        let mut position = Position::flat(root);
        for alert in alerts[..alerts.len().min(1024)].iter().cycle().take(20 * n) {
            position = apply(&position, alert, &ctx)?.position;
        }
        black_box(&position);
        return Ok(());
    }

    // Apply only, cycling over the first 1,024 signals: the engine's own cost with the alert
    // in cache, as on the webhook path (the run above also streams 1 M alerts from memory).
    let hot = &alerts[..alerts.len().min(1024)];
    let t = Instant::now();
    let mut position = Position::flat(root);
    for alert in hot.iter().cycle().take(n) {
        ctx.now += chrono::Duration::seconds(1);
        position = apply(&position, alert, &ctx)?.position;
    }
    let hot_time = t.elapsed();
    black_box(&position);
    println!("apply only, hot: {}", rate(n, hot_time));

    // Parse + apply, as the webhook path does.
    let t = Instant::now();
    let mut position = Position::flat(root);
    ctx.now = start;
    for body in &bodies {
        ctx.now += chrono::Duration::seconds(1);
        let alert = parse_alert(body.as_bytes(), &limits)?;
        position = apply(&position, &alert, &ctx)?.position;
    }
    let parse_apply_time = t.elapsed();
    black_box(&position);
    println!("parse + apply:   {}", rate(n, parse_apply_time));

    // Full replay (rebuild) of the recorder, plus statistics over its trades.
    let contexts: Vec<ApplyContext> = (0..n)
        .map(|i| {
            let mut c = ctx.clone();
            c.now = start + chrono::Duration::seconds(i as i64 + 1);
            c
        })
        .collect();
    let t = Instant::now();
    let book = replay(alerts.iter().zip(contexts))?;
    let replay_time = t.elapsed();
    let t = Instant::now();
    let stats = Stats::from_trades(&book.trades, chrono_tz::America::New_York);
    let stats_time = t.elapsed();
    black_box(&stats);
    println!(
        "replay:          {n} signals in {:.3} s = {}",
        replay_time.as_secs_f64(),
        rate(n, replay_time)
    );
    println!(
        "stats:           {} trades in {:.3} s (net P&L {}, max drawdown {})",
        stats.trade_count,
        stats_time.as_secs_f64(),
        stats.net_pnl.round_dp(2),
        stats.max_drawdown.round_dp(2)
    );
    Ok(())
}
