//! The browser end-to-end test (SPEC §12, issue 10): real headless Chromium, driven over
//! WebDriver by chromedriver, signs up, creates a recorder, and sees the position appear
//! without reloading when the test posts a webhook. It also takes the screenshots linked
//! from the README (`JT_UPDATE_SCREENSHOTS=1` writes them to `docs/screenshots/`).
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Without them this test fails and says what to install: it never skips.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use jt_web::testing::{TestApp, spawn_app};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::support::TempDataDir;

/// Generous: Chromium on a busy two-core machine.
const DEADLINE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery";

/// chromedriver on a free port, killed when dropped.
struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start chromedriver ({error}). The browser test needs the Debian \
                     packages chromium and chromium-driver: apt-get install -y chromium chromium-driver"
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        wait_for("chromedriver to answer", || async {
            reqwest::get(&status)
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        Self { process, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

async fn chromium(driver: &Driver, profile: &TempDataDir) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|error| panic!("Chromium did not start under chromedriver: {error}"))
}

/// Polls `ready` until it holds; panics with `what` after [`DEADLINE`].
async fn wait_for<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !ready().await {
        assert!(start.elapsed() < DEADLINE, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(browser: &Client, css: &str) -> String {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Where screenshots go: the committed `docs/screenshots/` with `JT_UPDATE_SCREENSHOTS=1`
/// (so an ordinary test run leaves the tree clean), the target dir's test tmp otherwise.
fn screenshot_path(name: &str) -> PathBuf {
    let dir = if std::env::var_os("JT_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    };
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir.join(name)
}

async fn post_signal(app: &TestApp, url: &str, n: usize, action: &str, quantity: i64, price: &str) {
    let body = format!(
        r#"{{"action":"{action}","ticker":"NQ1!","quantity":{quantity},"price":"{price}","id":"b{n}"}}"#
    );
    assert_eq!(app.post_webhook(url, &body).await.status(), 200, "{body}");
}

#[tokio::test]
async fn sign_up_create_a_recorder_and_see_a_webhook_arrive_live() {
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let profile = TempDataDir::new();
    let browser = chromium(&driver, &profile).await;

    // Sign up: the dashboard's empty state says what to do next.
    browser
        .goto(&format!("{}/signup", app.address))
        .await
        .expect("sign-up page");
    fill(&browser, "#email", "trader@example.com").await;
    fill(&browser, "#password", PASSWORD).await;
    fill(&browser, "#password_confirmation", PASSWORD).await;
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sign up");
    wait_for("the dashboard", || async {
        text_of(&browser, "h1").await == "Dashboard"
    })
    .await;
    assert!(
        text_of(&browser, "#live-dashboard")
            .await
            .contains("Next step:")
    );

    // A recorder.
    fill(&browser, "#name", "NQ breakout").await;
    browser
        .find(Locator::Css("form[action='/recorders'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("create");
    wait_for("the recorder page", || async {
        text_of(&browser, "h1").await.starts_with("NQ breakout")
    })
    .await;
    let url = browser
        .find(Locator::Id("webhook-url"))
        .await
        .expect("webhook URL field")
        .prop("value")
        .await
        .expect("value")
        .expect("a URL");
    assert!(
        text_of(&browser, "#live-positions")
            .await
            .contains("No positions yet")
    );

    // The live script is connected; mark the page so a reload would be noticed.
    wait_for("the live connection", || async {
        browser
            .execute(
                "return document.documentElement.dataset.live === 'on'",
                vec![],
            )
            .await
            .is_ok_and(|v| v == json!(true))
    })
    .await;
    browser
        .execute("window.notReloaded = true", vec![])
        .await
        .expect("mark");

    post_signal(&app, &url, 0, "buy", 2, "25600").await;
    wait_for("the position to appear without reloading", || async {
        text_of(&browser, "#live-positions").await.contains("+2")
    })
    .await;
    wait_for("the signal log to show it", || async {
        text_of(&browser, "#live-signals")
            .await
            .contains("accepted")
    })
    .await;
    let same_page = browser
        .execute("return window.notReloaded === true", vec![])
        .await
        .expect("check");
    assert_eq!(same_page, json!(true), "the page was not reloaded");

    // A few round trips, so statistics and charts have something to show.
    let prices = [
        "25612.5", "25604", "25590.25", "25601", "25630", "25618.75", "25626", "25611", "25640.5",
    ];
    for (n, price) in prices.iter().enumerate() {
        let action = if n % 2 == 0 { "sell" } else { "buy" };
        post_signal(&app, &url, n + 1, action, 2, price).await;
    }
    wait_for("the statistics to count the trades", || async {
        text_of(&browser, "#live-stats").await.contains("5 (")
    })
    .await;
    browser
        .set_window_size(1280, 2600)
        .await
        .expect("tall window");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_path("recorder.png"), png).expect("save recorder.png");

    // An open position for the dashboard to show.
    post_signal(&app, &url, 20, "buy", 1, "25642.25").await;
    browser.goto(&app.address).await.expect("dashboard");
    wait_for("the dashboard row", || async {
        text_of(&browser, "#live-dashboard")
            .await
            .contains("NQ long 1")
    })
    .await;
    browser.set_window_size(1280, 800).await.expect("window");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_path("dashboard.png"), png).expect("save dashboard.png");

    browser.close().await.expect("close Chromium");
}
