//! The recorder pages: from sign-up to a tracked position and trade, every form, paging.

use jt_web::testing::spawn_app;

use super::*;

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
    assert!(
        home.contains("<span class=\"side side-long\">NQ long 2</span>"),
        "open positions summary"
    );

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
    let home = browser.get_home_html().await;
    assert!(home.contains("<span class=\"side side-flat\">NQ flat</span>"));
    assert!(
        home.contains("410.00"),
        "the closed trade's P&L on the dashboard"
    );

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
