//! Token cache: renewed before expiry, one new login after a 401.

use std::time::Duration;

use jt_tradovate::ClientConfig;
use jt_tradovate::fake::{FakeConfig, FaultKind, FaultRequest};

use crate::support::{client_for, logged_in, start_fake, test_config};

#[tokio::test]
async fn a_token_close_to_expiry_is_renewed_not_replaced() {
    // Tokens live 10 minutes; the client renews when less than 15 are left: every call renews.
    let fake = start_fake(FakeConfig {
        token_lifetime: Duration::from_secs(600),
        ..FakeConfig::default()
    })
    .await;
    let client = client_for(&fake, "nora", test_config());
    let first = client.connect().await.expect("login");
    client.list_accounts().await.expect("renewed, then listed");
    let second = client.token_status().await.expect("a token");
    let stats = fake.stats();
    assert_eq!(stats.logins, 1, "one session only");
    assert_eq!(stats.renewals, 1);
    assert!(second.expires_at >= first.expires_at);
}

#[tokio::test]
async fn a_token_far_from_expiry_is_reused() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, _) = logged_in(&fake, "omar").await;
    client.list_orders().await.expect("orders");
    client.list_positions().await.expect("positions");
    assert_eq!(fake.stats().logins, 1);
    assert_eq!(fake.stats().renewals, 0);
}

#[tokio::test]
async fn a_401_logs_in_once_more_and_succeeds() {
    let fake = start_fake(FakeConfig::default()).await;
    let (client, _) = logged_in(&fake, "pia").await;
    fake.expire_tokens();
    client.list_accounts().await.expect("after a new login");
    assert_eq!(fake.stats().logins, 2);
}

#[tokio::test]
async fn a_penalty_on_login_is_resent_with_the_ticket() {
    let fake = start_fake(FakeConfig::default()).await;
    fake.inject(
        FaultRequest::on_orders("quin", FaultKind::PTicket, 1)
            .on_endpoint("auth/accesstokenrequest")
            .with_seconds(0.05),
    );
    let client = client_for(
        &fake,
        "quin",
        ClientConfig {
            max_inline_penalty_wait: Duration::from_secs(1),
            ..test_config()
        },
    );
    client.connect().await.expect("logged in after the penalty");
    assert_eq!(fake.stats().logins, 1);
}
