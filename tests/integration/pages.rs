//! The browser pages for recorders and API tokens, through real HTTP with a cookie session:
//! the whole flow from sign-up to a tracked position, every form, paging, tenant isolation
//! through sessions, CSRF and HTML escaping.

use jt_web::testing::{TestApp, TestBrowser, csrf_token_in, spawn_app};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// A browser that signed up as `email` (and so is logged in).
async fn signed_up(app: &TestApp, email: &str) -> TestBrowser {
    let browser = app.browser();
    let response = browser.post_signup(email, PASSWORD, PASSWORD).await;
    assert_eq!(response.status(), 303, "sign-up");
    browser
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

/// `POST {path}` with the session's CSRF token, as the page's form would send it.
async fn submit(browser: &TestBrowser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let token = csrf_token_in(&browser.get_home_html().await);
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(path, &form).await
}

/// `POST /recorders` (the "New recorder" form).
async fn post_recorders(browser: &TestBrowser, name: &str, quantity: &str) -> reqwest::Response {
    submit(
        browser,
        "/recorders",
        &[("name", name), ("default_quantity", quantity)],
    )
    .await
}

/// Creates a recorder through the form; returns its id, read from the redirect.
async fn create_recorder(browser: &TestBrowser, name: &str) -> String {
    let response = post_recorders(browser, name, "1").await;
    assert_eq!(response.status(), 303, "create recorder");
    location(&response)
        .strip_prefix("/recorders/")
        .expect("redirect to the recorder page")
        .to_owned()
}

/// `GET /recorders/{id}` body; panics unless it is 200.
async fn get_recorder_html(browser: &TestBrowser, id: &str) -> String {
    let response = browser.get(&format!("/recorders/{id}")).await;
    assert_eq!(response.status(), 200, "recorder page");
    response.text().await.unwrap()
}

/// The value of the read-only input with this id.
fn input_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" type=\"text\" readonly value=\"");
    let start = html.find(&marker).expect("the input") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

fn webhook_url_in(html: &str) -> String {
    input_value(html, "webhook-url")
}

/// The value of a settings field as the form shows it.
fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    let value = "value=\"";
    let start = html[start..].find(value).unwrap() + start + value.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn send_webhook(app: &TestApp, url: &str, body: &str) -> (u16, Value) {
    let response = app.post_webhook(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn from_sign_up_to_a_tracked_position_and_trade_in_the_browser() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let home = browser.get_home_html().await;
    assert!(home.contains("You have no recorders yet. A recorder follows one TradingView"));
    assert!(home.contains("action=\"/recorders\""));
    assert!(
        home.contains("href=\"/settings/tokens\""),
        "nav links API tokens"
    );

    let id = create_recorder(&browser, "NQ breakout").await;
    let page = get_recorder_html(&browser, &id).await;
    let url = webhook_url_in(&page);
    assert!(
        url.starts_with(&format!("{}/webhook/", app.address)),
        "{url}"
    );
    assert!(page.contains(
        r#"{"action":"{{strategy.order.action}}","ticker":"{{ticker}}","quantity":"{{strategy.order.contracts}}","price":"{{close}}","position_size":"{{strategy.position_size}}","id":"{{strategy.order.id}}"}"#
    ));
    assert!(page.contains("BUY 1 NQ1! @ {{close}}"));
    assert!(
        page.contains("data-copy=\"webhook-url\" hidden"),
        "copy button needs JS"
    );
    assert!(page.contains("<script src=\"/static/copy.js\" defer></script>"));
    assert!(page.contains("No signals yet"));

    let (status, answer) = send_webhook(&app, &url, "BUY 2 NQ1! @ 25600").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "accepted");

    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("<td class=\"num\">+2</td>"), "position +2");
    assert!(
        page.contains("<td class=\"num\">25600.00</td>"),
        "avg entry"
    );
    assert!(
        page.contains("status-accepted\">accepted</span>"),
        "signal logged"
    );
    assert!(page.contains("<td>NQ1!</td>"));
    let home = browser.get_home_html().await;
    assert!(home.contains("NQ breakout</a>"));
    assert!(home.contains("<td>NQ +2</td>"), "open positions summary");

    // Closing makes a trade: 10.25 points × 2 contracts × $20 = $410.
    let (status, _) = send_webhook(&app, &url, "SELL 2 NQ1! @ 25610.25").await;
    assert_eq!(status, 200);
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("<td class=\"num\">flat</td>"));
    assert!(
        page.contains("<td class=\"num\">410.00</td>"),
        "realized dollars"
    );
    assert!(
        page.contains("<td class=\"num\">25610.25</td>"),
        "exit price"
    );
    assert!(page.contains("<td>long</td>"), "the trade");
    assert!(browser.get_home_html().await.contains("<td>flat</td>"));

    // A rejected signal shows its reason in the log.
    let (status, _) = send_webhook(&app, &url, "HOLD 1 NQ1!").await;
    assert!((400..500).contains(&status));
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("status-rejected\">rejected</span>"));
}

#[tokio::test]
async fn settings_are_changed_by_the_form_and_bad_values_are_refused_with_the_message() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ breakout").await;
    let settings = format!("/recorders/{id}/settings");

    let response = submit(
        &browser,
        &settings,
        &[
            ("name", "NQ breakout v2"),
            ("default_quantity", "3"),
            ("duplicate_window_secs", "0"),
            ("commission_per_contract", "0.62"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/recorders/{id}#settings"));
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("<h1>NQ breakout v2 "));
    assert_eq!(field_value(&page, "default_quantity"), "3");
    assert_eq!(field_value(&page, "duplicate_window_secs"), "0");
    assert_eq!(field_value(&page, "commission_per_contract"), "0.62");

    let bad_values = [
        (
            "default_quantity",
            "0",
            "out of range: use a whole number of contracts from 1 to 10000",
        ),
        ("default_quantity", "two", "must be a whole number"),
        (
            "duplicate_window_secs",
            "7200",
            "use 0 (off) to 3600 seconds",
        ),
        (
            "commission_per_contract",
            "-1",
            "-1 is out of range: use dollars per contract",
        ),
        (
            "commission_per_contract",
            "cheap",
            "must be a number, e.g. 0.62",
        ),
        ("name", "   ", "ame must be 1 to 100 characters"),
    ];
    for (field, value, message) in bad_values {
        let mut form = vec![
            ("name", "renamed"),
            ("default_quantity", "5"),
            ("duplicate_window_secs", "30"),
            ("commission_per_contract", "1"),
        ];
        form.retain(|(name, _)| *name != field);
        form.push((field, value));
        let response = submit(&browser, &settings, &form).await;
        assert_eq!(response.status(), 422, "{field}={value}");
        let body = response.text().await.unwrap();
        assert!(body.contains("class=\"error\""), "{body}");
        assert!(
            body.contains(message),
            "{message} in the page for {field}={value}"
        );
        assert_eq!(field_value(&body, field), value, "shown as typed");
    }
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("<h1>NQ breakout v2 "), "nothing changed");
    assert_eq!(field_value(&page, "default_quantity"), "3");
    assert_eq!(field_value(&page, "duplicate_window_secs"), "0");
    assert_eq!(field_value(&page, "commission_per_contract"), "0.62");

    // Names are unique per user: the conflict is explained, nothing changes.
    create_recorder(&browser, "ES scalper").await;
    let response = submit(
        &browser,
        &settings,
        &[
            ("name", "es SCALPER"),
            ("default_quantity", "3"),
            ("duplicate_window_secs", "0"),
            ("commission_per_contract", "0.62"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already have a recorder named")
    );
    assert!(
        get_recorder_html(&browser, &id)
            .await
            .contains("<h1>NQ breakout v2 ")
    );
}

#[tokio::test]
async fn the_new_recorder_form_refuses_bad_input_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;

    let response = post_recorders(&browser, "NQ", "0").await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Default_quantity 0 is out of range"),
        "{body}"
    );
    assert!(body.contains("value=\"NQ\""), "the name is kept");

    let response = post_recorders(&browser, "", "1").await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Name must be 1 to 100 characters")
    );

    // An empty quantity means one contract.
    let response = post_recorders(&browser, "NQ", "").await;
    assert_eq!(response.status(), 303);
    let response = post_recorders(&browser, "nq", "1").await;
    assert_eq!(response.status(), 422, "duplicate name");
    let home = browser.get_home_html().await;
    assert_eq!(
        home.matches("href=\"/recorders/").count(),
        1,
        "one recorder"
    );
}

#[tokio::test]
async fn pausing_ignores_signals_and_resuming_applies_them_again() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ").await;
    let url = webhook_url_in(&get_recorder_html(&browser, &id).await);

    let response = submit(&browser, &format!("/recorders/{id}/pause"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/recorders/{id}"));
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("status-paused\">paused</span>"));
    assert!(page.contains(&format!("action=\"/recorders/{id}/resume\"")));
    assert!(browser.get_home_html().await.contains("status-paused"));

    let (status, answer) = send_webhook(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "ignored");
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("status-ignored\">ignored</span>"));
    assert!(page.contains("No positions yet"));

    let response = submit(&browser, &format!("/recorders/{id}/resume"), &[]).await;
    assert_eq!(response.status(), 303);
    let (status, answer) = send_webhook(&app, &url, "BUY 1 NQ1! @ 25601").await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "accepted");
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("status-active\">active</span>"));
    assert!(page.contains("<td class=\"num\">+1</td>"));
}

#[tokio::test]
async fn regenerating_the_url_kills_the_old_one_at_once() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ").await;
    let page = get_recorder_html(&browser, &id).await;
    assert!(page.contains("The current URL stops working at once"));
    let old_url = webhook_url_in(&page);

    let response = submit(&browser, &format!("/recorders/{id}/regenerate-url"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/recorders/{id}#webhook"));
    let page = get_recorder_html(&browser, &id).await;
    let new_url = webhook_url_in(&page);
    assert_ne!(new_url, old_url);
    assert!(!page.contains(&old_url));

    let (status, _) = send_webhook(&app, &old_url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(status, 404, "the old URL is dead");
    let (status, answer) = send_webhook(&app, &new_url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "accepted");
}

#[tokio::test]
async fn deleting_a_recorder_removes_its_page_and_its_webhook() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "Doomed strategy").await;
    let keep = create_recorder(&browser, "Kept strategy").await;
    let url = webhook_url_in(&get_recorder_html(&browser, &id).await);

    let response = submit(&browser, &format!("/recorders/{id}/delete"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let home = browser.get_home_html().await;
    assert!(!home.contains("Doomed strategy"));
    assert!(home.contains("Kept strategy"));

    let response = browser.get(&format!("/recorders/{id}")).await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Not found"));
    let (status, _) = send_webhook(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(status, 404);
    let response = submit(&browser, &format!("/recorders/{id}/delete"), &[]).await;
    assert_eq!(response.status(), 404, "deleting twice");
    get_recorder_html(&browser, &keep).await;
}

#[tokio::test]
async fn the_signal_log_pages_back_with_before() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ").await;
    let url = webhook_url_in(&get_recorder_html(&browser, &id).await);
    // 55 signals at prices 25601 … 25655 (seq 1 … 55).
    for i in 1..=55 {
        let (status, _) = send_webhook(&app, &url, &format!("BUY 1 NQ1! @ {}", 25600 + i)).await;
        assert_eq!(status, 200);
    }

    let newest = get_recorder_html(&browser, &id).await;
    assert_eq!(
        newest.matches("status-accepted\">accepted</span>").count(),
        50
    );
    assert!(newest.contains("<td class=\"num\">25655.00</td>"));
    assert!(newest.contains("<td class=\"num\">25606.00</td>"));
    assert!(!newest.contains("<td class=\"num\">25605.00</td>"));
    let older_link = format!("href=\"/recorders/{id}?before=6#signals\"");
    assert!(newest.contains(&older_link), "link to older signals");
    assert!(!newest.contains("Newest signals"));

    let response = browser.get(&format!("/recorders/{id}?before=6")).await;
    assert_eq!(response.status(), 200);
    let older = response.text().await.unwrap();
    assert_eq!(
        older.matches("status-accepted\">accepted</span>").count(),
        5
    );
    for price in 25601..=25605 {
        assert!(
            older.contains(&format!("<td class=\"num\">{price}.00</td>")),
            "{price}"
        );
    }
    assert!(!older.contains("<td class=\"num\">25606.00</td>"));
    assert!(!older.contains("Older signals"), "the oldest page");
    assert!(older.contains("Newest signals"));

    let response = browser.get(&format!("/recorders/{id}?before=soon")).await;
    assert_eq!(response.status(), 404, "a cursor that is not a number");
}

/// The token text shown on the page answering its creation.
fn new_token_in(html: &str) -> String {
    input_value(html, "new-token")
}

/// The id in the first revoke form of the tokens page.
fn revoke_path_in(html: &str) -> String {
    let marker = "action=\"/settings/tokens/";
    let start = html.find(marker).expect("a revoke form") + "action=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn api_recorders_status(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(format!("{}/api/v1/recorders", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_on_the_api_and_can_be_revoked() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let response = browser.get("/settings/tokens").await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("You have no API tokens.")
    );

    let response = submit(&browser, "/settings/tokens", &[("name", "trading bot")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("it is shown only this once"));
    let token = new_token_in(&page);
    assert!(token.starts_with("jt_"), "{token}");

    let list = browser.get("/settings/tokens").await.text().await.unwrap();
    assert!(!list.contains(&token), "never shown again");
    assert!(list.contains("<td>trading bot</td>"));
    assert!(list.contains("<td>never</td>"), "not used yet");

    assert_eq!(api_recorders_status(&app, &token).await, 200);
    let list = browser.get("/settings/tokens").await.text().await.unwrap();
    assert!(!list.contains("<td>never</td>"), "last use is shown");

    let response = submit(&browser, &revoke_path_in(&list), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/settings/tokens");
    let list = browser.get("/settings/tokens").await.text().await.unwrap();
    assert!(list.contains("status-revoked\">revoked</span>"));
    assert!(!list.contains("/revoke\""), "nothing left to revoke");
    assert_eq!(api_recorders_status(&app, &token).await, 401);

    let response = submit(&browser, "/settings/tokens", &[("name", " ")]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("The token name must be 1 to 100 characters"));
    assert!(!page.contains("id=\"new-token\""));
    let response = submit(&browser, "/settings/tokens/not-an-id/revoke", &[]).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn another_user_gets_404_for_every_recorder_and_token_route() {
    let app = spawn_app().await;
    let alice = signed_up(&app, "alice@example.com").await;
    let id = create_recorder(&alice, "alice strategy").await;
    let page = get_recorder_html(&alice, &id).await;
    let url = webhook_url_in(&page);
    assert_eq!(send_webhook(&app, &url, "BUY 1 NQ1! @ 25600").await.0, 200);
    let created = submit(&alice, "/settings/tokens", &[("name", "alice bot")]).await;
    let alice_token = new_token_in(&created.text().await.unwrap());
    let tokens = alice.get("/settings/tokens").await.text().await.unwrap();
    let revoke = revoke_path_in(&tokens);

    let bob = signed_up(&app, "bob@example.com").await;
    let response = bob.get(&format!("/recorders/{id}")).await;
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("alice strategy") && !body.contains(&url),
        "{body}"
    );
    let settings = [
        ("name", "mine now"),
        ("default_quantity", "7"),
        ("duplicate_window_secs", "1"),
        ("commission_per_contract", "9"),
    ];
    let invalid_settings = [("name", "mine now"), ("default_quantity", "0")];
    let posts: [(String, &[(&str, &str)]); 7] = [
        (format!("/recorders/{id}/settings"), &settings),
        (format!("/recorders/{id}/settings"), &invalid_settings),
        (format!("/recorders/{id}/pause"), &[]),
        (format!("/recorders/{id}/resume"), &[]),
        (format!("/recorders/{id}/regenerate-url"), &[]),
        (format!("/recorders/{id}/delete"), &[]),
        (revoke.clone(), &[]),
    ];
    for (path, fields) in posts {
        let response = submit(&bob, &path, fields).await;
        assert_eq!(response.status(), 404, "POST {path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("alice"), "no data of another user: {body}");
    }
    for path in ["/recorders/not-a-uuid", "/recorders/not-a-uuid/pause"] {
        let response = if path.ends_with("pause") {
            submit(&bob, path, &[]).await
        } else {
            bob.get(path).await
        };
        assert_eq!(response.status(), 404, "{path}");
    }
    assert!(!bob.get_home_html().await.contains("alice strategy"));

    // Alice's recorder and token are as they were.
    let page = get_recorder_html(&alice, &id).await;
    assert!(page.contains("<h1>alice strategy "));
    assert!(page.contains("status-active\">active</span>"));
    assert_eq!(webhook_url_in(&page), url);
    assert_eq!(field_value(&page, "default_quantity"), "1");
    assert_eq!(send_webhook(&app, &url, "BUY 1 NQ1! @ 25601").await.0, 200);
    assert_eq!(api_recorders_status(&app, &alice_token).await, 200);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "NQ").await;

    let response = browser
        .post_form(
            "/recorders",
            &[("name", "forged"), ("default_quantity", "1")],
        )
        .await;
    assert_eq!(response.status(), 403);
    let response = browser
        .post_form(
            "/recorders",
            &[("csrf_token", "forged"), ("name", "forged")],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(!browser.get_home_html().await.contains("forged"));

    let response = browser
        .post_form(&format!("/recorders/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Form expired"));
    get_recorder_html(&browser, &id).await;
}

#[tokio::test]
async fn recorder_names_are_html_escaped() {
    let app = spawn_app().await;
    let browser = signed_up(&app, "trader@example.com").await;
    let id = create_recorder(&browser, "<script>alert(1)</script>").await;

    for html in [
        browser.get_home_html().await,
        get_recorder_html(&browser, &id).await,
    ] {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)") || html.contains("&lt;script&gt;alert(1)")
        );
    }
}

#[tokio::test]
async fn pages_need_a_session_and_the_copy_script_is_served() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in [
        "/settings/tokens",
        "/recorders/00000000-0000-0000-0000-000000000000",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/login");
    }

    let response = app.get("/static/copy.js").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(response.text().await.unwrap().contains("data-copy"));
}
