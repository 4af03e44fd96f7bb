//! Execution in the console: a user's broker accounts (connection and verification), orders
//! by state, failed orders with their errors and open discrepancies; the health page's jobs,
//! orders of the last hour, broker errors, lock-outs and discrepancies. Real orders through
//! the executor and the fake Tradovate; verification rows written as its job writes them.

use jt_store::BrokerAccountId;
use jt_store::account_links::LinkSettings;
use jt_store::orders::OrderStatus;
use jt_tradovate::fake::{FaultKind, FaultRequest};
use jt_web::testing::TestBrowser;

use super::{admin_browser, audit_entries};
use crate::execution::support::{Execution, buy, sell, set_up};

/// Text of an HTML fragment: tags dropped, entities of ours decoded, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The rows (cell texts) of the tables under the heading that starts with `heading`, up to
/// the next heading, one after the other.
fn table_after(html: &str, heading: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<h2>{heading}"))
        .unwrap_or_else(|| panic!("no heading {heading:?} in {html}"));
    let rest = &html[start + 4..];
    let section = &rest[..rest.find("<h2>").unwrap_or(rest.len())];
    section
        .split("<table>")
        .skip(1)
        .flat_map(|table| {
            table[..table.find("</table>").unwrap()]
                .split("<tr>")
                .skip(1)
        })
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter(|cell| cell.starts_with('d') || cell.starts_with('h'))
                .map(|cell| text(&format!("<t{cell}")))
                .collect()
        })
        .collect()
}

/// Turns verification on for the account and records what its job would have found: the
/// broker holds `actual` where the signals say `expected`, for two checks (a discrepancy).
pub async fn record_mismatch(
    exec: &Execution,
    account: BrokerAccountId,
    expected: i64,
    actual: i64,
) {
    let mut tx = exec.app.store.tenant(exec.user.id).await.unwrap();
    sqlx::query(
        "update broker_accounts set verification_enabled = true, verification_due_at = now()
         where id = $1",
    )
    .bind(account)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into account_verifications (account_id, user_id, status, checked_at)
         values ($1, app_user_id(), 'mismatched', now())",
    )
    .bind(account)
    .execute(tx.conn())
    .await
    .unwrap();
    sqlx::query(
        "insert into discrepancies (user_id, account_id, contract, expected, actual,
             first_seen, last_seen)
         values (app_user_id(), $1, 'NQZ6', $2, $3, now() - interval '1 minute', now())",
    )
    .bind(account)
    .bind(expected)
    .bind(actual)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn page(browser: &TestBrowser, path: &str) -> String {
    let response = browser.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_users_page_shows_accounts_verification_orders_by_state_failures_and_discrepancies() {
    let exec = set_up().await;
    let broker = exec.tradovate_account("acme-demo").await;
    let paper = exec.paper_account("Practice").await;
    exec.link(broker, LinkSettings::default()).await;
    exec.link(paper, LinkSettings::default()).await;
    exec.fake
        .inject(FaultRequest::on_orders("acme-demo", FaultKind::Reject, 1));
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    exec.signal(&sell(1, "25610"), "NQZ6", -1).await;
    exec.executor().run_due().await.unwrap();
    let broker_orders = exec.orders(broker).await;
    assert_eq!(
        broker_orders.iter().map(|o| o.status).collect::<Vec<_>>(),
        [OrderStatus::Rejected, OrderStatus::Accepted]
    );
    record_mismatch(&exec, broker, 0, 1).await;
    // Another user's trouble never shows on this user's page.
    let other = set_up_other_user_with_discrepancy(&exec).await;

    let (_, admin) = admin_browser(&exec.app, "ops@example.com").await;
    let html = page(&admin, &format!("/admin/users/{}", exec.user.id)).await;
    assert!(!html.contains("Not yet available"), "{html}");

    let accounts = table_after(&html, "Broker accounts");
    assert_eq!(accounts[0], ["Name", "Kind", "Connection", "Verification"]);
    assert_eq!(accounts[1][..2], ["acme-demo", "Tradovate demo"]);
    assert!(accounts[1][2].starts_with("connected"), "{accounts:?}");
    assert!(
        accounts[1][3].starts_with("mismatched checked "),
        "{accounts:?}"
    );
    assert_eq!(accounts[2][..4], ["Practice", "paper", "connected", "off"]);

    let states = table_after(&html, "Orders by state");
    assert_eq!(
        states,
        [
            [
                "queued", "sent", "accepted", "filled", "rejected", "failed", "expired"
            ],
            ["0", "0", "1", "2", "1", "0", "0"]
        ]
    );

    let failed = table_after(&html, "Recent failed, rejected and expired orders");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(
        failed[1][1..5],
        [
            "acme-demo",
            &format!("#{}", broker_orders[0].signal_id),
            "buy 1 NQZ6",
            "rejected"
        ]
    );
    let error = broker_orders[0].error.clone().unwrap();
    assert!(error.contains("MaxPosLimitReached"), "{error}");
    assert_eq!(failed[1][7], error);

    let discrepancies = table_after(&html, "Open discrepancies");
    assert_eq!(discrepancies.len(), 2, "{discrepancies:?}");
    assert_eq!(discrepancies[1][..4], ["acme-demo", "NQZ6", "0", "1"]);
    assert!(
        !html.contains(&other),
        "another user's account on this page"
    );

    // The view is audited, as every view of a user's data.
    assert!(
        audit_entries(&exec.app)
            .await
            .iter()
            .any(|(_, action, target, _)| action == "user.view" && *target == Some(exec.user.id))
    );
}

/// A second user with a Tradovate account, verification on and an open discrepancy;
/// returns the account's name.
async fn set_up_other_user_with_discrepancy(exec: &Execution) -> String {
    let other = exec.app.create_user("other@example.com").await;
    let name = "other-secret-account".to_owned();
    let mut tx = exec.app.store.tenant(other.id).await.unwrap();
    let account = jt_store::broker_accounts::create_account(
        &mut tx,
        &exec.key,
        &name,
        &jt_store::broker_accounts::NewAccount::Paper,
    )
    .await
    .unwrap();
    sqlx::query(
        "insert into discrepancies (user_id, account_id, contract, expected, actual,
             first_seen, last_seen)
         values (app_user_id(), $1, 'ESZ6', 3, 0, now(), now())",
    )
    .bind(account.id)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    name
}

#[tokio::test]
async fn the_health_page_shows_jobs_orders_broker_errors_lock_outs_and_discrepancies() {
    let exec = set_up().await;
    let broker = exec.tradovate_account("flaky").await;
    let locked = exec.tradovate_account("locked").await;
    exec.link(broker, LinkSettings::default()).await;
    exec.fake
        .inject(FaultRequest::on_orders("flaky", FaultKind::ServerError, 1));
    exec.fake.inject(
        FaultRequest::on_orders("flaky", FaultKind::Reject, 1).on_endpoint("order/placeorder"),
    );
    // First order: a 500 (retried later), so it waits; run again after the backoff.
    exec.signal(&buy(1, "25600"), "NQZ6", 1).await;
    let executor = exec.executor();
    executor.run_due().await.unwrap();
    exec.clock.advance(std::time::Duration::from_secs(1));
    executor.run_due().await.unwrap();
    // The second send was rejected by the broker.
    assert_eq!(exec.orders(broker).await[0].status, OrderStatus::Rejected);
    // An order waits in the queue (its wake-up job is pending: no worker runs here).
    exec.signal(&buy(1, "25601"), "NQZ6", 1).await;
    // The other account is locked out by the broker (429 on its order).
    exec.link(locked, LinkSettings::default()).await;
    exec.fake.inject(FaultRequest::on_orders(
        "locked",
        FaultKind::TooManyRequests,
        1,
    ));
    exec.signal(&buy(1, "25602"), "NQZ6", 1).await;
    executor.run_account(exec.user.id, locked).await.unwrap();
    record_mismatch(&exec, broker, 2, 0).await;

    let (_, admin) = admin_browser(&exec.app, "ops@example.com").await;
    let html = page(&admin, "/admin/health").await;
    assert!(!html.contains("Not yet available"), "{html}");

    let queues = table_after(&html, "Background jobs");
    let execution = queues
        .iter()
        .find(|row| row[0] == jt_store::orders::EXECUTION_QUEUE)
        .unwrap_or_else(|| panic!("{queues:?}"));
    let queued: i64 = execution[1].parse().unwrap();
    assert!(queued >= 1, "{queues:?}");
    assert_eq!(execution[2], "0");

    let states = table_after(&html, "Orders queued in the last hour");
    assert_eq!(states[0][4], "rejected");
    assert_eq!(states[1][4], "1", "{states:?}");
    let unfinished: i64 =
        states[1][0].parse::<i64>().unwrap() + states[1][1].parse::<i64>().unwrap();
    assert!(unfinished >= 2, "{states:?}");

    let errors = table_after(&html, "Broker errors in the last hour");
    assert_eq!(errors[0], ["Rejected", "Failed", "Expired", "Retries"]);
    assert_eq!(errors[1][0], "1");
    let retries: i64 = errors[1][3].parse().unwrap();
    assert!(retries >= 2, "a 500 and a lock-out: {errors:?}");
    assert!(errors[3].contains(&"flaky".to_owned()), "{errors:?}");
    assert!(
        errors[3].contains(&"exec@example.com".to_owned()),
        "{errors:?}"
    );

    assert!(text(&html).contains("Accounts locked out now: 1"), "{html}");
    let locked_rows = table_after(&html, "Accounts locked out now");
    assert_eq!(locked_rows[1][..2], ["exec@example.com", "locked"]);

    assert!(text(&html).contains("Open discrepancies: 1"), "{html}");
    let discrepancies = table_after(&html, "Open discrepancies");
    assert_eq!(
        discrepancies[1][..5],
        ["exec@example.com", "flaky", "NQZ6", "2", "0"]
    );
}
