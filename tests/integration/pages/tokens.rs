//! The API token page: shown once, works on the API, revocable.

use jt_web::testing::spawn_app;

use super::*;

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
