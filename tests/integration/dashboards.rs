//! Issue 10: the dashboard, the recorder page's statistics and charts, CSV export and raw
//! signal bodies, through real HTTP over a real database.

use jt_web::testing::{TestApp, TestBrowser, TestUser, spawn_app};
use reqwest::Method;

use crate::pages::{PASSWORD, get_recorder_html, signed_up};

/// A user with a recorder that closed three NQ trades: +200, −200, +100 (net 100).
async fn three_trades(app: &TestApp, email: &str) -> (TestUser, String, String) {
    let user = app.create_user(email).await;
    let recorder = app.create_recorder(&user, "NQ swing").await;
    let id = recorder["id"].as_str().unwrap().to_owned();
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    // Alert ids: identical bodies without one would be duplicates within 20 s.
    for (n, (action, quantity, price)) in [
        ("buy", 1, "25600"),
        ("sell", 1, "25610"),
        ("buy", 1, "25600"),
        ("sell", 1, "25590"),
        ("buy", 1, "25600"),
        ("sell", 1, "25605"),
        ("buy", 2, "25600"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!(
            r#"{{"action":"{action}","ticker":"NQ1!","quantity":{quantity},"price":"{price}","id":"o{n}"}}"#
        );
        assert_eq!(app.post_webhook(&url, &body).await.status(), 200, "{body}");
    }
    (user, id, url)
}

async fn logged_in(app: &TestApp, email: &str) -> TestBrowser {
    let browser = app.browser();
    assert_eq!(browser.post_login(email, PASSWORD).await.status(), 303);
    browser
}

#[tokio::test]
async fn the_recorder_page_shows_statistics_and_charts_of_closed_trades() {
    let app = spawn_app().await;
    let (_, id, url) = three_trades(&app, "stats@example.com").await;
    let browser = logged_in(&app, "stats@example.com").await;

    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("<td class=\"num\">100.00</td>"), "net P&L");
    assert!(page.contains("3 (2 / 1)"), "trades won / lost");
    assert!(page.contains("66.7%"), "win rate");
    assert!(
        page.contains("<td class=\"num\">1.50</td>"),
        "profit factor 300 / 200: {page}"
    );
    assert!(page.contains("200.00 $ (100%)"), "max drawdown in $ and %");
    assert!(page.contains("200.00 / -200.00"), "largest win / loss");
    assert!(page.contains("<svg class=\"chart\""), "equity chart");
    assert!(
        page.contains("aria-label=\"Drawdown from the equity peak\""),
        "drawdown chart"
    );
    assert!(page.contains(">3 trades<"), "chart x label");
    assert!(
        page.contains("data-live=\"/recorders/"),
        "live parts are marked"
    );

    // A fourth trade: the statistics follow (nothing stale is shown).
    let close = r#"{"action":"sell","ticker":"NQ1!","quantity":2,"price":"25601","id":"o7"}"#;
    assert_eq!(app.post_webhook(&url, close).await.status(), 200);
    let page = get_recorder_html(&browser, &id).await;
    assert!(
        page.contains("4 (3 / 1)"),
        "trades won / lost after the fourth"
    );
    assert!(
        page.contains("<td class=\"num\">140.00</td>"),
        "net P&L 100 + 40"
    );

    // A range with no trades: a second column, and the charts say so.
    let ranged = browser
        .get(&format!("/recorders/{id}?from=2000-01-01&to=2000-01-31"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        ranged.contains(">2000-01-01 to 2000-01-31</th>"),
        "range column"
    );
    assert!(ranged.contains("No closed trades in this range"));
    assert!(
        ranged.contains("signals.csv?from=2000-01-01&#38;to=2000-01-31"),
        "export keeps the range"
    );

    let fragment = browser
        .get(&format!("/recorders/{id}/fragments/stats"))
        .await;
    assert_eq!(fragment.status(), 200);
    let fragment = fragment.text().await.unwrap();
    assert!(
        fragment.starts_with("\n<table class=\"stats\">")
            || fragment.contains("<table class=\"stats\">")
    );
    assert!(!fragment.contains("<html"), "a fragment, not a page");

    // Another user's recorder is a 404 for every part.
    let other = signed_up(&app, "other@example.com").await;
    for path in [
        "",
        "/fragments/stats",
        "/fragments/positions",
        "/signals.csv",
        "/signals/1/raw",
    ] {
        let status = other.get(&format!("/recorders/{id}{path}")).await.status();
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn the_dashboard_sums_up_every_recorder() {
    let app = spawn_app().await;
    let (user, _, url) = three_trades(&app, "dash@example.com").await;
    app.create_recorder(&user, "Quiet one").await;
    let browser = logged_in(&app, "dash@example.com").await;
    let home = browser.get_home_html().await;
    assert!(home.contains("NQ swing</a>") && home.contains("Quiet one</a>"));
    assert!(home.contains("NQ long 2"), "open position per root");
    assert!(home.contains("25600.00"), "average entry");
    assert!(
        home.contains("66.7% <span class=\"hint\">of 3</span>"),
        "win rate"
    );
    assert!(home.contains("<svg class=\"sparkline up\""), "sparkline");
    assert!(
        home.contains("status-accepted\">accepted</span>"),
        "last signal status"
    );
    assert!(home.contains("<th>Total</th>"), "totals row");
    assert!(home.contains("no signals yet"), "the quiet recorder");
    assert!(home.contains("<script src=\"/static/live.js\" defer></script>"));

    // A fourth trade: the dashboard follows (nothing stale is shown).
    let close = r#"{"action":"sell","ticker":"NQ1!","quantity":2,"price":"25601","id":"o7"}"#;
    assert_eq!(app.post_webhook(&url, close).await.status(), 200);
    let home = browser.get_home_html().await;
    assert!(
        home.contains("75% <span class=\"hint\">of 4</span>"),
        "win rate after the fourth"
    );

    let fresh = signed_up(&app, "new@example.com").await;
    let empty = fresh.get_home_html().await;
    assert!(
        empty.contains("Next step:"),
        "the empty state says what to do"
    );
}

#[tokio::test]
async fn csv_exports_stream_every_row_with_exact_values() {
    let app = spawn_app().await;
    let (user, id, url) = three_trades(&app, "csv@example.com").await;
    let rejected = app
        .post_webhook(
            &url,
            "{\"action\": \"hold, \\\"please\\\"\", \"ticker\": \"NQ1!\"}",
        )
        .await;
    assert!(rejected.status().is_client_error());

    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/signals.csv"),
            &user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("seq,received_at,status,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 8, "header and eight signals: {csv}");
    assert!(lines[1].starts_with("1,"), "oldest first");
    assert!(
        lines[1].contains("Z,accepted,buy,NQ1!,"),
        "RFC 3339 UTC: {}",
        lines[1]
    );
    assert!(
        lines[2].contains(",25610,"),
        "price unformatted: {}",
        lines[2]
    );
    assert!(lines[8].contains(",rejected,"), "{}", lines[8]);
    assert!(
        lines[8].ends_with('"'),
        "the error text is quoted: {}",
        lines[8]
    );

    let trades = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/trades.csv"),
            &user,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = trades.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 4, "{trades}");
    assert!(rows[1].contains(",NQ,"), "{}", rows[1]);
    assert!(
        rows[1].contains(",25600,25610,10,200,0,200,"),
        "{}",
        rows[1]
    );

    // A range that ends before the first signal: the header only.
    let early = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/signals.csv?to=2000-01-01"),
            &user,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(early.lines().count(), 1);

    let bad = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/signals.csv?from=soon"),
            &user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let error = bad.json::<serde_json::Value>().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("2026-11-01"),
        "{error}"
    );

    let stranger = app.create_user("stranger@example.com").await;
    let foreign = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/trades.csv"),
            &stranger,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let anonymous = app.get(&format!("/api/v1/recorders/{id}/trades.csv")).await;
    assert_eq!(anonymous.status(), 401);

    // The page's links: the same file with the session.
    let browser = logged_in(&app, "csv@example.com").await;
    let from_page = browser.get(&format!("/recorders/{id}/signals.csv")).await;
    assert_eq!(from_page.status(), 200);
    assert_eq!(from_page.text().await.unwrap(), csv);
}

#[tokio::test]
async fn the_raw_body_of_a_signal_is_shown_as_plain_text() {
    let app = spawn_app().await;
    let (_, id, url) = three_trades(&app, "raw@example.com").await;
    let body = "{\"action\":\"sell\",\"ticker\":\"NQ1!\",\"quantity\":2,\"price\":\"25601\",\"comment\":\"<b>bold</b>\"}";
    assert_eq!(app.post_webhook(&url, body).await.status(), 200);
    let browser = logged_in(&app, "raw@example.com").await;
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains(&format!("/recorders/{id}/signals/8/raw")));
    let raw = browser.get(&format!("/recorders/{id}/signals/8/raw")).await;
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(raw.headers()["x-content-type-options"], "nosniff");
    assert_eq!(raw.text().await.unwrap(), body);
    assert_eq!(
        browser
            .get(&format!("/recorders/{id}/signals/99/raw"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_csv_export_longer_than_one_chunk_has_every_row_once_in_order() {
    let app = spawn_app().await;
    let user = app.create_user("long@example.com").await;
    let recorder = app.create_recorder(&user, "Long log").await;
    let id = recorder["id"].as_str().unwrap().to_owned();
    // 4,500 signals, many sharing a received_at (ties are broken by seq).
    let mut tx = app.store.tenant(user.id).await.unwrap();
    sqlx::query(
        "insert into recorded_signals (user_id, recorder_id, seq, received_at, status, raw_body, body_sha256)
         select app_user_id(), $1::uuid, i, timestamptz '2026-11-01 12:00:00+00' + (i / 7) * interval '1 s',
                'rejected', '', '' from generate_series(1, 4500) as i",
    )
    .bind(&id)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let csv = app
        .api(
            Method::GET,
            &format!("/api/v1/recorders/{id}/signals.csv"),
            &user,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seqs: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=4500).collect::<Vec<i64>>());
}
