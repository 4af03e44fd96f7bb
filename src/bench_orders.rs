//! `justtrades bench orders`: signal → order on the wire at the fake Tradovate, at a fixed
//! rate, with the real web server, worker and database of this machine (SPEC §11).
//!
//! Each signal goes through the webhook; its order is then queued with
//! `store::orders::enqueue_orders` exactly as ingest does (idempotent: when ingest already
//! queued it in the signal's transaction, this queues nothing and the clock started before
//! the webhook). Latency = the fake's receipt time − that start.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use jt_store::account_links::{LinkSettings, create_link};
use jt_store::broker_accounts::{Environment, NewAccount, create_account};
use jt_store::orders::{OrderIntent, enqueue_orders};
use jt_store::password::Password;
use jt_store::users::{self, Email, Role};
use jt_store::{BrokerCredentials, Database, SecretKey, recorders, webhook_token};
use jt_tradovate::fake::{FakeConfig, FakeTradovate};
use jt_web::{AppState, Application, WebConfig};

/// Runs the benchmark and writes `bench/results/orders-*.json`.
pub async fn bench_orders(
    db: &Database,
    key: SecretKey,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    if rate == 0 || seconds == 0 {
        bail!("--rate and --seconds must be at least 1");
    }
    let store = db.store().clone();
    let fake = FakeTradovate::bind(([127, 0, 0, 1], 0).into(), FakeConfig::default()).await?;
    let execution = jt_jobs::ExecutorConfig {
        urls: jt_jobs::BrokerUrls {
            demo: fake.base_url(),
            live: fake.base_url(),
        },
        ..jt_jobs::ExecutorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let config = WebConfig {
        base_url: base_url.clone(),
        secret_key: key.clone(),
        trusted_proxies: jt_web::client_ip::TrustedProxies::default(),
    };
    let state = AppState::new(store.clone(), config).with_execution(execution.clone());
    let (stop_web, web_stopped) = tokio::sync::oneshot::channel::<()>();
    let web = tokio::spawn(
        Application::from_listener(listener, state).serve(async move {
            let _ = web_stopped.await;
        }),
    );
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let executor = Arc::new(jt_jobs::Executor::new(
        store.clone(),
        key.clone(),
        Arc::new(jt_jobs::SystemClock),
        execution.clone(),
    ));
    let pool = store.job_queue_pool();
    let worker = tokio::spawn(async move {
        let name = format!("jt-bench-{}", std::process::id());
        let config = jt_jobs::WorkerConfig::default();
        jt_jobs::run_worker(&name, executor, pool, config, async move {
            let _ = worker_stopped.await;
        })
        .await
    });

    // A fresh user with one recorder linked to a Tradovate account at the fake.
    let stamp = Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let email = Email::parse(&format!("bench-orders-{stamp}@example.com"))?;
    let user = users::create_user(
        &store,
        &email,
        &Password::parse("bench-password-1234")?,
        Role::User,
    )
    .await?;
    let mut tx = store.tenant(user).await?;
    let recorder = recorders::create_recorder(&mut tx, &key, "bench orders", 1).await?;
    let credentials = BrokerCredentials {
        username: "bench".to_owned(),
        password: "bench".to_owned(),
        app_id: "bench".to_owned(),
        cid: "1".to_owned(),
        sec: "bench".to_owned(),
        device_id: None,
    };
    let new = NewAccount::Tradovate {
        environment: Environment::Demo,
        credentials,
        broker_account: None,
    };
    let account = create_account(&mut tx, &key, "bench", &new).await?;
    create_link(&mut tx, recorder.id, account.id, &LinkSettings::default()).await?;
    tx.commit().await?;
    jt_jobs::test_connection(&store, &key, &execution, user, account.id).await?;
    let url =
        webhook_token::webhook_url(&base_url, &key, recorder.id, recorder.webhook_token_version);

    let client = reqwest::Client::new();
    let total = u64::from(rate) * seconds;
    let mut started: Vec<(i64, DateTime<Utc>)> = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    eprintln!("sending {total} signals at {rate}/s…");
    for i in 0..total {
        ticks.tick().await;
        let (action, delta) = if i % 2 == 0 { ("buy", 1) } else { ("sell", -1) };
        let body = format!(
            r#"{{"action":"{action}","ticker":"NQZ6","quantity":1,"price":"25600.25","id":"bench-{i}"}}"#
        );
        let before_webhook = Utc::now();
        let answer: serde_json::Value = client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        let signal_id = answer["signal_id"]
            .as_i64()
            .with_context(|| format!("the webhook refused signal {i}: {answer}"))?;
        let before_enqueue = Utc::now();
        let mut tx = store.tenant(user).await?;
        let intent = OrderIntent {
            recorder_id: recorder.id,
            signal_id,
            contract: "NQZ6".to_owned(),
            delta,
            price: None,
        };
        let queued = enqueue_orders(tx.conn(), &[intent]).await?;
        tx.commit().await?;
        started.push((
            signal_id,
            if queued > 0 {
                before_enqueue
            } else {
                before_webhook
            },
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while fake.orders().len() < started.len() {
        if tokio::time::Instant::now() > deadline {
            bail!(
                "only {} of {} orders reached the fake within 60 s",
                fake.orders().len(),
                started.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = fake.orders();
    let mut latencies: Vec<f64> = Vec::new();
    for (signal, start) in &started {
        let prefix = format!("jt-{signal}-");
        let order = received
            .iter()
            .find(|o| {
                o.cl_ord_id
                    .as_deref()
                    .is_some_and(|c| c.starts_with(&prefix))
            })
            .with_context(|| format!("no order for signal {signal}"))?;
        let ms = (order.received_at - *start)
            .num_microseconds()
            .unwrap_or_default() as f64
            / 1000.0;
        latencies.push(ms.max(0.0));
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let result = serde_json::json!({
        "benchmark": "orders",
        "rate_per_second": rate,
        "seconds": seconds,
        "orders": latencies.len(),
        "duplicates": received.len() - latencies.len(),
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "max_ms": at(1.0),
        "goal_p99_ms": 25,
        "at": Utc::now().to_rfc3339(),
    });
    std::fs::create_dir_all("bench/results")?;
    let path = format!("bench/results/orders-{stamp}.json");
    std::fs::write(&path, serde_json::to_string_pretty(&result)?)?;
    println!("{result}");
    eprintln!("written to {path}");
    let _ = stop_worker.send(());
    let _ = stop_web.send(());
    let _ = worker.await;
    let _ = web.await;
    Ok(())
}
