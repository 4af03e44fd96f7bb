//! `/metrics`: Prometheus text that a scraper can parse, webhook counts by status, the
//! bearer token when one is set, and the separate listener.

use std::collections::HashMap;
use std::net::SocketAddr;

use jt_web::metrics::endpoint::{MetricsConfig, serve_separately};
use jt_web::testing::{spawn_app, spawn_app_with_metrics};

/// One sample line: name, labels, value.
type Sample = (String, HashMap<String, String>, f64);

/// A strict reader of the Prometheus text format (0.0.4): `# HELP`/`# TYPE` comments and
/// `name{label="value",…} value [timestamp]` lines. Panics with the offending line.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let valid_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut samples = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                assert!(valid_name(words[1]), "{line}");
                let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                assert!(kinds.contains(&words[2]), "{line}");
            }
            continue;
        }
        let (series, rest) = match line.find('{') {
            Some(_) => {
                let close = line.rfind('}').unwrap_or_else(|| panic!("{line}"));
                (&line[..close + 1], &line[close + 1..])
            }
            None => line.split_at(line.find(' ').unwrap_or_else(|| panic!("{line}"))),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, parse_labels(&labels[..labels.len() - 1], line)),
            None => (series, HashMap::new()),
        };
        assert!(valid_name(name), "bad metric name in {line}");
        let mut fields = rest.split_whitespace();
        let value = match fields.next().unwrap_or_else(|| panic!("{line}")) {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("{line}"));
        }
        assert!(fields.next().is_none(), "{line}");
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

/// `a="x",b="y\"z"` → map (escapes: `\\`, `\"`, `\n`).
fn parse_labels(text: &str, line: &str) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => panic!("bad escape in {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label in {line}"),
            }
        };
        labels.insert(name.trim().to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

fn sample<'a>(
    samples: &'a [Sample],
    name: &str,
    label: Option<(&str, &str)>,
) -> Option<&'a Sample> {
    samples.iter().find(|(n, labels, _)| {
        n == name && label.is_none_or(|(k, v)| labels.get(k).map(String::as_str) == Some(v))
    })
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_webhooks_by_status_and_latency_buckets() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "one").await;
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    let before = parse_prometheus(&app.get("/metrics").await.text().await.unwrap());
    let accepted_before =
        sample(&before, "jt_webhooks_total", Some(("status", "accepted"))).map_or(0.0, |s| s.2);
    assert_eq!(
        app.post_webhook(&url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );
    let rejected = app.post_webhook(&url, "BUY zero NQ1!").await.status();
    assert!(rejected.is_client_error(), "{rejected}");

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let samples = parse_prometheus(&response.text().await.unwrap());
    // Other tests of this binary send webhooks too: counts only grow.
    let accepted = sample(&samples, "jt_webhooks_total", Some(("status", "accepted"))).unwrap();
    assert!(accepted.2 >= accepted_before + 1.0);
    let rejected = sample(&samples, "jt_webhooks_total", Some(("status", "rejected")));
    assert!(rejected.is_some_and(|s| s.2 >= 1.0));
    let inf = sample(&samples, "jt_webhook_seconds_bucket", Some(("le", "+Inf"))).unwrap();
    let count = sample(&samples, "jt_webhook_seconds_count", None).unwrap();
    assert!(inf.2 >= 2.0 && (inf.2 - count.2).abs() < f64::EPSILON);
    assert!(sample(&samples, "jt_webhook_seconds_bucket", Some(("le", "0.02"))).is_some());
    assert!(
        samples
            .iter()
            .all(|(_, labels, _)| !labels.contains_key("user_id")),
        "no per-user labels"
    );
}

#[tokio::test]
async fn with_a_token_metrics_need_it_as_a_bearer_token() {
    let app = spawn_app_with_metrics(MetricsConfig {
        token: Some("scrape-secret".to_owned()),
        separate_listener: false,
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("scrape-secreT")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(&url)
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    parse_prometheus(&right.text().await.unwrap());
}

#[tokio::test]
async fn a_separate_metrics_listener_takes_metrics_off_the_main_one() {
    let config = MetricsConfig {
        token: None,
        separate_listener: true,
    };
    let app = spawn_app_with_metrics(config.clone()).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let store = app.store.clone();
    let server = tokio::spawn(async move {
        serve_separately(listener, &config, store, async move {
            let _ = stopped.await;
        })
        .await
    });
    // A real webhook: the ingestor records its batch.
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "strategy").await;
    let url = recorder["webhook_url"].as_str().unwrap();
    assert_eq!(
        app.post_webhook(url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );
    let text = app
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_prometheus(&text);
    assert!(sample(&samples, "jt_ingest_batch_signals_count", None).is_some_and(|s| s.2 >= 1.0));
    assert!(sample(&samples, "jt_ingest_flush_seconds_count", None).is_some());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Scrapes until `check` holds for the samples (other tests of this binary set the
/// cluster-wide gauges from their own databases between a scrape's read and its render).
async fn scrape_until(
    app: &jt_web::testing::TestApp,
    check: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let mut samples = Vec::new();
    for _ in 0..20 {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        samples = parse_prometheus(&response.text().await.unwrap());
        if check(&samples) {
            return samples;
        }
    }
    panic!("the metrics never showed what was expected: {samples:?}");
}

fn value(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> f64 {
    sample(samples, name, label).map_or(0.0, |s| s.2)
}

#[tokio::test]
async fn every_documented_metric_shows_after_its_activity_with_cluster_gauges_from_the_database() {
    use jt_store::account_links::LinkSettings;
    use jt_store::metric_names as names;
    use jt_tradovate::fake::{FaultKind, FaultRequest};

    use crate::execution::support::{buy, set_up};

    let exec = set_up().await;
    let app = &exec.app;
    let before = parse_prometheus(&app.get("/metrics").await.text().await.unwrap());
    let account = exec.tradovate_account("metered").await;
    exec.link(account, LinkSettings::default()).await;
    exec.fake
        .inject(FaultRequest::on_orders("metered", FaultKind::Reject, 1));
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    exec.signal(&buy(1, "25601"), "NQZ6", 1).await;
    exec.executor().run_due().await.unwrap();
    // Queued and not run: its wake-up job waits (no worker runs here), like the two above.
    exec.signal(&buy(1, "25602"), "NQZ6", 1).await;
    crate::admin::execution_pages::record_mismatch(&exec, account, 1, 0).await;
    // A live-refresh stream held open.
    let browser = app.browser();
    let login = browser
        .post_login("exec@example.com", jt_web::testing::TEST_PASSWORD)
        .await;
    assert_eq!(login.status(), 303);
    let stream = browser.get("/events").await;
    assert_eq!(stream.status(), 200);

    let expected = jt_store::job_queue::cluster_gauges(&app.store)
        .await
        .unwrap();
    let queue = jt_store::orders::EXECUTION_QUEUE;
    let depth = expected.queues.iter().find(|q| q.queue == queue).unwrap();
    assert_eq!((depth.queued, depth.running), (3, 0), "three wake-ups wait");
    assert_eq!(expected.discrepancies_open, 1);
    let samples = scrape_until(app, |samples| {
        value(samples, names::JOBS_QUEUED, Some(("queue", queue))) == 3.0
            && value(samples, names::DISCREPANCIES_OPEN, None) == 1.0
    })
    .await;

    // Every documented name is there (histograms as _bucket, _sum and _count).
    for name in names::ALL {
        assert!(
            samples
                .iter()
                .any(|(n, _, _)| n == name || n == &format!("{name}_count")),
            "{name} missing"
        );
    }
    let grew = |name: &str, label: Option<(&str, &str)>, by: f64| {
        let (old, new) = (value(&before, name, label), value(&samples, name, label));
        assert!(new >= old + by, "{name} {label:?}: {old} → {new}");
    };
    grew(names::ORDERS_TOTAL, Some(("state", "sent")), 2.0);
    grew(names::ORDERS_TOTAL, Some(("state", "accepted")), 1.0);
    grew(names::ORDERS_TOTAL, Some(("state", "rejected")), 1.0);
    grew(names::BROKER_ERRORS_TOTAL, Some(("kind", "rejected")), 1.0);
    grew("jt_order_latency_seconds_count", None, 2.0);
    grew("jt_order_send_seconds_count", None, 2.0);
    grew(names::WEBHOOKS_TOTAL, Some(("status", "accepted")), 3.0);
    assert!(value(&samples, names::SSE_CLIENTS, None) >= 1.0);
    // Latency in the same buckets as the webhooks' (the 25 ms goal sits between two).
    assert!(
        sample(
            &samples,
            "jt_order_latency_seconds_bucket",
            Some(("le", "0.02"))
        )
        .is_some()
    );
    // The old, undocumented names and labels are gone.
    assert!(
        !samples
            .iter()
            .any(|(n, _, _)| n == "jt_orders_finished_total")
    );
    assert!(
        samples
            .iter()
            .all(|(_, labels, _)| !labels.contains_key("class") && !labels.contains_key("user_id"))
    );
    drop(stream);
}

/// Kills the child process on drop (a failed assertion must not leave a worker running).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_worker_process_serves_its_own_metrics() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let db = jt_store::testing::TestDb::new().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_justtrades"))
        .args(["worker", "--metrics-bind", "127.0.0.1:0"])
        .env("DATABASE_URL", db.owner_url())
        .env("JT_APP_DATABASE_URL", db.app_url())
        .env("JT_SECRET_KEY", "metrics-test-secret-key-0123456789abcdef")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let worker = Running(child);
    // The worker prints where its metrics are ("metrics on http://…/metrics"); stderr is
    // read to its end, so the worker never writes into a closed pipe.
    let (found, url) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.strip_prefix("metrics on ")
                && let Some(found) = found.take()
            {
                let _ = found.send(url.trim().to_owned());
            }
        }
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(60), url)
        .await
        .expect("the worker never said where its metrics are")
        .unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    let samples = parse_prometheus(&response.text().await.unwrap());
    assert!(
        sample(
            &samples,
            jt_store::metric_names::JOBS_QUEUED,
            Some(("queue", jt_store::orders::EXECUTION_QUEUE))
        )
        .is_some(),
        "{samples:?}"
    );
    drop(worker);
}
