//! Webhook load generator: sends N alerts to one webhook URL with C in flight and prints
//! latency percentiles as one JSON line. Bounded in count; loopback targets only.
//!
//! `cargo run --release --example webhook_load -- URL[,URL…] REQUESTS CONCURRENCY`
//! With several URLs (recorders), request i goes to URL i mod n.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, urls, requests, concurrency] = args.as_slice() else {
        return Err("usage: webhook_load URL[,URL...] REQUESTS CONCURRENCY".into());
    };
    let urls: Arc<Vec<String>> = Arc::new(urls.split(',').map(str::to_owned).collect());
    let requests: usize = requests.parse()?;
    let concurrency: usize = concurrency.parse()?;
    let is_loopback =
        |url: &String| url.starts_with("http://127.") || url.starts_with("http://localhost");
    if !urls.iter().all(is_loopback) {
        return Err("refusing to load a non-loopback address".into());
    }
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let run = format!("{:x}", std::process::id());
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, urls, run) = (client.clone(), next.clone(), urls.clone(), run.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let action = if i % 2 == 0 { "buy" } else { "sell" };
                let body = format!(
                    r#"{{"action":"{action}","ticker":"NQ1!","quantity":1,"price":"{}","id":"{run}-{i}"}}"#,
                    25_600 + i % 40
                );
                let sent = Instant::now();
                let ok = client
                    .post(&urls[i % urls.len()])
                    .header("content-type", "text/plain")
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                latencies.push(sent.elapsed());
                failures += usize::from(!ok);
            }
            (latencies, failures)
        });
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let mut failures = 0;
    for (mut part, failed) in workers.join_all().await {
        latencies.append(&mut part);
        failures += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "{{\"requests\":{requests},\"concurrency\":{concurrency},\"failures\":{failures},\"seconds\":{:.3},\"per_second\":{:.1},\"p50_ms\":{:.2},\"p90_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
    );
    Ok(())
}
