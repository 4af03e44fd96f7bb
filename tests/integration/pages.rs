//! The browser pages for recorders and API tokens, through real HTTP with a cookie session.
//! This file holds the helpers (named after the routes they drive); the tests are in
//! `pages/`.

mod accounts;
mod recorders;
mod security;
mod tokens;

use jt_web::testing::{TestApp, TestBrowser, csrf_token_in};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

/// A browser that signed up as `email` (and so is logged in).
pub async fn signed_up(app: &TestApp, email: &str) -> TestBrowser {
    let browser = app.browser();
    let response = browser.post_signup(email, PASSWORD, PASSWORD).await;
    assert_eq!(response.status(), 303, "sign-up");
    browser
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

/// `POST {path}` with the session's CSRF token, as the page's form would send it.
pub async fn submit(
    browser: &TestBrowser,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = csrf_token_in(&browser.get_home_html().await);
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(path, &form).await
}

/// `POST /recorders` (the "New recorder" form).
pub async fn post_recorders(
    browser: &TestBrowser,
    name: &str,
    quantity: &str,
) -> reqwest::Response {
    submit(
        browser,
        "/recorders",
        &[("name", name), ("default_quantity", quantity)],
    )
    .await
}

/// Creates a recorder through the form; returns its id, read from the redirect.
pub async fn create_recorder(browser: &TestBrowser, name: &str) -> String {
    let response = post_recorders(browser, name, "1").await;
    assert_eq!(response.status(), 303, "create recorder");
    location(&response)
        .strip_prefix("/recorders/")
        .expect("redirect to the recorder page")
        .to_owned()
}

/// `GET /recorders/{id}` body; panics unless it is 200.
pub async fn get_recorder_html(browser: &TestBrowser, id: &str) -> String {
    let response = browser.get(&format!("/recorders/{id}")).await;
    assert_eq!(response.status(), 200, "recorder page");
    response.text().await.unwrap()
}

/// The value of the read-only input with this id.
pub fn input_value(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" type=\"text\" readonly value=\"");
    let start = html.find(&marker).expect("the input") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

pub fn webhook_url_in(html: &str) -> String {
    input_value(html, "webhook-url")
}

/// The value of a settings field as the form shows it.
pub fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    let value = "value=\"";
    let start = html[start..].find(value).unwrap() + start + value.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

pub async fn send_webhook(app: &TestApp, url: &str, body: &str) -> (u16, Value) {
    let response = app.post_webhook(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The token text shown on the page answering its creation.
pub fn new_token_in(html: &str) -> String {
    input_value(html, "new-token")
}

/// The id in the first revoke form of the tokens page.
pub fn revoke_path_in(html: &str) -> String {
    let marker = "action=\"/settings/tokens/";
    let start = html.find(marker).expect("a revoke form") + "action=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

pub async fn api_recorders_status(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(format!("{}/api/v1/recorders", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
