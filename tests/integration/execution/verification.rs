//! Broker verification against the fake Tradovate over HTTP: matching, a manual exit made at
//! the broker (drift), orders still in flight (debounce), an unreachable broker, the
//! schedule through the apalis worker, and the API's answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jt_jobs::{Clock, Verifier, WorkerConfig, run_worker};
use jt_store::BrokerAccountId;
use jt_store::account_links::LinkSettings;
use jt_store::verification::{VerificationStatus, queue_due_verifications};
use jt_tradovate::fake::{FaultKind, FaultRequest};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::support::{Execution, buy, set_up};

/// A Tradovate account `username` linked with multiplier 2, verification on.
async fn verified_account(exec: &Execution, username: &str) -> BrokerAccountId {
    let account = exec.tradovate_account(username).await;
    exec.link(
        account,
        LinkSettings {
            multiplier: Some(2),
            ..LinkSettings::default()
        },
    )
    .await;
    let patched = patch_account(exec, account, json!({ "verification": true })).await;
    assert_eq!(patched.status(), 200);
    account
}

async fn patch_account(
    exec: &Execution,
    account: BrokerAccountId,
    body: Value,
) -> reqwest::Response {
    exec.app
        .api(
            reqwest::Method::PATCH,
            &format!("/api/v1/accounts/{account}"),
            &exec.user,
        )
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn verification(exec: &Execution, account: BrokerAccountId) -> Value {
    exec.app
        .api_json(
            &exec.user,
            &format!("/api/v1/accounts/{account}/verification"),
        )
        .await
}

fn verifier(exec: &Execution) -> Verifier {
    Verifier::new(Arc::new(exec.executor()))
}

/// What the user would do in Tradovate's own window (after the account's first login): an
/// order without our client order id, through the fake's endpoint for it.
async fn manual_order(exec: &Execution, username: &str, action: &str, qty: i64) {
    let placed = reqwest::Client::new()
        .post(format!("http://{}/_fake/manual-order", exec.fake.address()))
        .json(&json!({ "account": username, "symbol": "NQZ6", "action": action, "qty": qty }))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 200);
    let answer: Value = placed.json().await.unwrap();
    assert!(answer["orderId"].is_i64(), "{answer}");
}

/// The recorder's NQ position by the signals.
async fn signal_quantity(exec: &Execution) -> i64 {
    let positions = exec
        .app
        .api_json(
            &exec.user,
            &format!("/api/v1/recorders/{}/positions", exec.recorder),
        )
        .await;
    positions
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["root"] == "NQ")
        .map(|p| p["quantity"].as_i64().unwrap())
        .unwrap_or(0)
}

/// One long signal executed: the signals and the broker both hold 2 NQZ6.
async fn long_and_filled(exec: &Execution) {
    exec.signal(&buy(1, "25600.25"), "NQZ6", 1).await;
    exec.executor().run_due().await.unwrap();
    assert_eq!(exec.fake.orders().len(), 1);
}

#[tokio::test]
async fn a_broker_holding_what_the_signals_say_verifies_as_matched() {
    let exec = set_up().await;
    let account = verified_account(&exec, "matcher").await;
    assert_eq!(verification(&exec, account).await["status"], "pending");
    long_and_filled(&exec).await;

    let status = verifier(&exec).verify(exec.user.id, account).await.unwrap();

    assert_eq!(status, Some(VerificationStatus::Matched));
    let seen = verification(&exec, account).await;
    assert_eq!(seen["status"], "matched");
    assert!(seen["checked_at"].is_string(), "{seen}");
    assert_eq!(
        seen["contracts"],
        json!([{ "contract": "NQZ6", "expected": 2, "actual": 2 }])
    );
    assert_eq!(seen["discrepancies"], json!([]));
}

#[tokio::test]
async fn a_manual_exit_at_the_broker_opens_a_discrepancy_at_the_second_check_and_tracking_stays() {
    let exec = set_up().await;
    let account = verified_account(&exec, "drifter").await;
    long_and_filled(&exec).await;
    let verifier = verifier(&exec);
    verifier.verify(exec.user.id, account).await.unwrap();

    manual_order(&exec, "drifter", "Sell", 2).await;
    exec.clock.advance(Duration::from_secs(60));
    let first = verifier.verify(exec.user.id, account).await.unwrap();
    let after_one = verification(&exec, account).await;
    exec.clock.advance(Duration::from_secs(60));
    let second = verifier.verify(exec.user.id, account).await.unwrap();
    let after_two = verification(&exec, account).await;

    assert_eq!(first, Some(VerificationStatus::Settling));
    assert_eq!(
        after_one["discrepancies"],
        json!([]),
        "one check is not enough"
    );
    assert_eq!(
        after_one["contracts"],
        json!([{ "contract": "NQZ6", "expected": 2, "actual": 0 }])
    );
    assert_eq!(second, Some(VerificationStatus::Mismatched));
    assert_eq!(after_two["status"], "mismatched");
    let open = &after_two["discrepancies"][0];
    assert_eq!(open["contract"], "NQZ6");
    assert_eq!(open["expected"], 2);
    assert_eq!(open["actual"], 0);
    assert!(open["closed_at"].is_null());
    assert_eq!(
        open["first_seen"], after_one["checked_at"],
        "first seen at the first check"
    );
    assert_eq!(open["last_seen"], after_two["checked_at"]);
    assert_eq!(
        signal_quantity(&exec).await,
        1,
        "verification never changes tracking"
    );
    assert_eq!(exec.fake.orders().len(), 2, "nor sends anything");

    // The user re-enters by hand: the next check matches and closes it.
    manual_order(&exec, "drifter", "Buy", 2).await;
    exec.clock.advance(Duration::from_secs(60));
    let third = verifier.verify(exec.user.id, account).await.unwrap();
    let after_three = verification(&exec, account).await;
    assert_eq!(third, Some(VerificationStatus::Matched));
    let closed = &after_three["discrepancies"][0];
    assert_eq!(closed["closed_at"], after_three["checked_at"]);
    assert_eq!(after_three["discrepancies"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_order_still_in_flight_settles_without_a_discrepancy() {
    let exec = set_up().await;
    let account = verified_account(&exec, "inflight").await;
    // Queued by the signal, not yet sent: the broker is behind for one check.
    exec.signal(&buy(1, "25600.25"), "NQZ6", 1).await;
    let verifier = verifier(&exec);
    let first = verifier.verify(exec.user.id, account).await.unwrap();
    exec.executor().run_due().await.unwrap();
    exec.clock.advance(Duration::from_secs(60));
    let second = verifier.verify(exec.user.id, account).await.unwrap();

    assert_eq!(first, Some(VerificationStatus::Settling));
    assert_eq!(second, Some(VerificationStatus::Matched));
    assert_eq!(
        verification(&exec, account).await["discrepancies"],
        json!([])
    );
}

#[tokio::test]
async fn a_position_the_signals_never_had_is_named_and_counted() {
    let exec = set_up().await;
    let account = verified_account(&exec, "stray").await;
    // Only a trade made by hand at the broker: the signals expect nothing at all.
    let tested = exec
        .app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/accounts/{account}/test"),
            &exec.user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(tested.status(), 200);
    manual_order(&exec, "stray", "Buy", 3).await;
    let verifier = verifier(&exec);
    verifier.verify(exec.user.id, account).await.unwrap();
    exec.clock.advance(Duration::from_secs(60));
    verifier.verify(exec.user.id, account).await.unwrap();

    let seen = verification(&exec, account).await;
    assert_eq!(
        seen["contracts"],
        json!([{ "contract": "NQZ6", "expected": 0, "actual": 3 }])
    );
    assert_eq!(seen["discrepancies"][0]["actual"], 3);
}

#[tokio::test]
async fn an_unreachable_broker_is_unavailable_since_its_first_failure_and_nothing_else_changes() {
    let exec = set_up().await;
    let account = verified_account(&exec, "flaky").await;
    long_and_filled(&exec).await;
    let verifier = verifier(&exec);
    verifier.verify(exec.user.id, account).await.unwrap();
    let matched = verification(&exec, account).await;

    exec.fake.inject(
        FaultRequest::on_orders("flaky", FaultKind::ServerError, 2).on_endpoint("position/list"),
    );
    exec.clock.advance(Duration::from_secs(60));
    let first = verifier.verify(exec.user.id, account).await.unwrap();
    let down_once = verification(&exec, account).await;
    exec.clock.advance(Duration::from_secs(60));
    verifier.verify(exec.user.id, account).await.unwrap();
    let down_twice = verification(&exec, account).await;

    assert_eq!(first, Some(VerificationStatus::Unavailable));
    assert_eq!(down_twice["status"], "unavailable");
    assert!(down_once["unavailable_since"].is_string(), "{down_once}");
    assert_eq!(
        down_twice["unavailable_since"],
        down_once["unavailable_since"]
    );
    assert!(
        down_twice["message"].as_str().unwrap().contains("500"),
        "{down_twice}"
    );
    // The last comparison and its time stay as the broker last answered.
    assert_eq!(down_twice["checked_at"], matched["checked_at"]);
    assert_eq!(down_twice["contracts"], matched["contracts"]);
    assert_eq!(signal_quantity(&exec).await, 1);

    exec.clock.advance(Duration::from_secs(60));
    let back = verifier.verify(exec.user.id, account).await.unwrap();
    assert_eq!(back, Some(VerificationStatus::Matched));
    assert!(verification(&exec, account).await["unavailable_since"].is_null());
    let statuses: Vec<String> = {
        let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
        let rows = sqlx::query_scalar(
            "select status from verification_snapshots where account_id = $1 order by id",
        )
        .bind(account)
        .fetch_all(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        rows
    };
    assert_eq!(
        statuses,
        ["matched", "unavailable", "unavailable", "matched"],
        "a snapshot per check"
    );
}

#[tokio::test]
async fn the_api_refuses_bad_settings_paper_accounts_and_other_users_accounts() {
    let exec = set_up().await;
    let paper = exec.paper_account("Paper").await;
    let real = exec.tradovate_account("settings").await;

    let on_paper = patch_account(&exec, paper, json!({ "verification": true })).await;
    assert_eq!(on_paper.status(), 422);
    let body: Value = on_paper.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("paper"), "{body}");

    let too_often = patch_account(
        &exec,
        real,
        json!({ "verification": true, "verification_interval_secs": 5 }),
    )
    .await;
    assert_eq!(too_often.status(), 422);
    let body: Value = too_often.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("10 to 86400"),
        "{body}"
    );

    let fine = patch_account(
        &exec,
        real,
        json!({ "verification": true, "verification_interval_secs": 30 }),
    )
    .await;
    assert_eq!(fine.status(), 200);
    let account: Value = fine.json().await.unwrap();
    assert_eq!(account["verification"], true);
    assert_eq!(account["verification_interval_secs"], 30);

    let other = exec.app.create_user("other@example.com").await;
    let foreign = exec
        .app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/accounts/{real}/verification"),
            &other,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
}

#[tokio::test]
async fn checks_are_spread_over_the_interval_and_each_is_claimed_once() {
    let exec = set_up().await;
    let mut accounts = Vec::new();
    for i in 0..30 {
        let account = exec.tradovate_account(&format!("spread{i}")).await;
        let patched = patch_account(
            &exec,
            account,
            json!({ "verification": true, "verification_interval_secs": 60 }),
        )
        .await;
        assert_eq!(patched.status(), 200);
        accounts.push(account);
    }
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    let offsets: Vec<f64> = sqlx::query_scalar(
        "select extract(epoch from verification_due_at - now())::float8 from broker_accounts
         where verification_enabled",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(offsets.len(), 30);
    assert!(
        offsets.iter().all(|o| (-5.0..=60.0).contains(o)),
        "{offsets:?}"
    );
    let early = offsets.iter().filter(|o| **o < 30.0).count();
    assert!(
        (3..=27).contains(&early),
        "spread, not bunched: {offsets:?}"
    );

    // Two schedulers at once, once every account is due: each queued exactly once, and its
    // next check one interval after the one claimed (the phase is kept).
    let before = due_times(&exec).await;
    let later = *before.values().max().unwrap() + chrono::Duration::milliseconds(1);
    let store = &exec.app.store;
    let (a, b) = tokio::join!(
        queue_due_verifications(store, later, 1000),
        queue_due_verifications(store, later, 1000)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 30);
    let queued: i64 =
        sqlx::query_scalar("select count(*) from apalis.jobs where job_type = 'jt_verify_account'")
            .fetch_one(&exec.app.store.job_queue_pool())
            .await
            .unwrap();
    assert_eq!(queued, 30);
    let after = due_times(&exec).await;
    for (account, due) in &before {
        let next = (*due + chrono::Duration::seconds(60)).max(later);
        assert_eq!(after[account], next);
    }
}

async fn due_times(
    exec: &Execution,
) -> std::collections::HashMap<BrokerAccountId, chrono::DateTime<chrono::Utc>> {
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    let rows: Vec<(BrokerAccountId, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select id, verification_due_at from broker_accounts where verification_enabled",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows.into_iter().collect()
}

/// The whole path a user relies on: the worker's schedule (test clock), apalis jobs, the
/// fake broker. A manual exit shows as a discrepancy within two intervals.
#[tokio::test]
async fn the_worker_finds_a_manual_exit_within_two_intervals() {
    let exec = set_up().await;
    let account = verified_account(&exec, "scheduled").await;
    let patched = patch_account(&exec, account, json!({ "verification_interval_secs": 10 })).await;
    assert_eq!(patched.status(), 200);
    long_and_filled(&exec).await;
    let executor = Arc::new(exec.executor());
    let config = WorkerConfig {
        verification_tick: Duration::from_millis(50),
        ..WorkerConfig::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let pool = exec.app.store.job_queue_pool();
    let worker = tokio::spawn(async move {
        let _ = run_worker("verify-test", executor, pool, config, async move {
            let _ = stopped.await;
        })
        .await;
    });

    let first_due = advance_to_next_check(&exec, account).await;
    wait_for_status(&exec, account, "matched").await;
    manual_order(&exec, "scheduled", "Sell", 2).await;
    let second_due = advance_to_next_check(&exec, account).await;
    wait_for_status(&exec, account, "settling").await;
    let third_due = advance_to_next_check(&exec, account).await;
    wait_for_status(&exec, account, "mismatched").await;

    // Found at the second check after the exit, one interval apart each.
    assert_eq!(second_due - first_due, chrono::Duration::seconds(10));
    assert_eq!(third_due - second_due, chrono::Duration::seconds(10));
    let seen = verification(&exec, account).await;
    assert_eq!(seen["discrepancies"][0]["expected"], 2);
    assert_eq!(seen["discrepancies"][0]["actual"], 0);
    assert_eq!(signal_quantity(&exec).await, 1);
    let _ = stop.send(());
    worker.await.unwrap();
}

/// Moves the test clock just past the account's next check; returns when it was due.
async fn advance_to_next_check(
    exec: &Execution,
    account: BrokerAccountId,
) -> chrono::DateTime<chrono::Utc> {
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    let due: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select verification_due_at from broker_accounts where id = $1")
            .bind(account)
            .fetch_one(tx.conn())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let ahead = (due - exec.clock.now()).to_std().unwrap_or_default();
    exec.clock.advance(ahead + Duration::from_millis(100));
    due
}

async fn wait_for_status(exec: &Execution, account: BrokerAccountId, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = verification(exec, account).await;
        if seen["status"] == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "never {wanted}: {seen}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_account_page_and_dashboard_show_signals_beside_broker_and_the_switch_works() {
    let exec = set_up().await;
    let account = verified_account(&exec, "pages").await;
    long_and_filled(&exec).await;
    manual_order(&exec, "pages", "Sell", 2).await;
    let verifier = verifier(&exec);
    verifier.verify(exec.user.id, account).await.unwrap();
    exec.clock.advance(Duration::from_secs(60));
    verifier.verify(exec.user.id, account).await.unwrap();
    let browser = exec.app.browser();
    let login = browser
        .post_login("exec@example.com", jt_web::testing::TEST_PASSWORD)
        .await;
    assert_eq!(login.status(), 303);

    let page = browser
        .get(&format!("/accounts/{account}"))
        .await
        .text()
        .await
        .unwrap();
    let dashboard = browser.get_home_html().await;

    let differing_row = r#"<tr class="differs">
      <td>NQZ6</td>
      <td>2</td>
      <td>0</td>"#;
    assert!(page.contains("Broker verification"), "{page}");
    assert!(page.contains(differing_row), "{page}");
    assert!(
        page.contains("<strong>open</strong>"),
        "the discrepancy is listed: {page}"
    );
    assert!(page.contains("last verified"), "{page}");
    assert!(dashboard.contains("<h2>Broker</h2>"), "{dashboard}");
    assert!(dashboard.contains("open discrepancies: 1"), "{dashboard}");
    assert!(dashboard.contains(differing_row), "{dashboard}");

    let csrf = browser.csrf_token().await;
    let too_often = browser
        .post_form(
            &format!("/accounts/{account}/verification"),
            &[
                ("csrf_token", &csrf),
                ("enabled", "on"),
                ("interval_secs", "3"),
            ],
        )
        .await;
    assert_eq!(too_often.status(), 422);
    assert!(
        too_often
            .text()
            .await
            .unwrap()
            .contains("10 to 86400 seconds")
    );
    let off = browser
        .post_form(
            &format!("/accounts/{account}/verification"),
            &[("csrf_token", &csrf), ("interval_secs", "60")],
        )
        .await;
    assert_eq!(off.status(), 303);
    let switched_off = verification(&exec, account).await;
    assert_eq!(switched_off["status"], "off");
    assert!(
        switched_off["discrepancies"][0]["closed_at"].is_string(),
        "nobody watches an open discrepancy any more: {switched_off}"
    );
    assert!(!browser.get_home_html().await.contains("<h2>Broker</h2>"));

    // On again: a fresh start, not the old run of differing checks.
    let on = patch_account(&exec, account, json!({ "verification": true })).await;
    assert_eq!(on.status(), 200);
    assert_eq!(verification(&exec, account).await["status"], "pending");
    exec.clock.advance(Duration::from_secs(60));
    let first = verifier.verify(exec.user.id, account).await.unwrap();
    assert_eq!(first, Some(VerificationStatus::Settling));
}

#[tokio::test]
async fn finished_jobs_are_deleted_after_an_hour_and_waiting_ones_never() {
    let exec = set_up().await;
    let pool = exec.app.store.job_queue_pool();
    for (id, status, ended_ago) in [
        ("old-done", "Done", Some(7200)),
        ("old-killed", "Killed", Some(7200)),
        ("recent-done", "Done", Some(60)),
        ("waiting", "Pending", None),
    ] {
        sqlx::query(
            "insert into apalis.jobs (id, job_type, job, status, done_at)
             values ($1, 'jt_verify_account', '\x7b7d'::bytea, $2,
                     now() - make_interval(secs => $3))",
        )
        .bind(id)
        .bind(status)
        .bind(ended_ago.map(f64::from))
        .execute(&pool)
        .await
        .unwrap();
    }

    let deleted = jt_store::job_queue::prune_finished_jobs(&exec.app.store)
        .await
        .unwrap();

    assert_eq!(deleted, 2);
    let left: Vec<String> = sqlx::query_scalar("select id from apalis.jobs order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, ["recent-done", "waiting"]);
}
