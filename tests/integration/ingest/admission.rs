//! Back-pressure: refuse at once (503 / 429 with Retry-After) instead of queueing past the
//! answer budget; whatever was admitted is recorded.

use std::time::Duration;

use jt_store::ingest::IngestConfig;
use jt_web::testing::spawn_app_with_ingest;

use super::{
    lock_recorder, recorder, stored, wait_for_in_flight, wait_for_lock_waiters, wait_for_stored,
};

#[tokio::test]
async fn a_flooding_user_gets_429_a_full_queue_503_and_admitted_signals_are_all_recorded() {
    // One shard writing one batch at a time: everything waits behind the locked recorder.
    let app = spawn_app_with_ingest(IngestConfig {
        shards: 1,
        batches_in_flight: 1,
        max_queued: 10,
        queue_floor: 10,
        per_user_in_flight: 6,
        answer_deadline: Duration::from_secs(120),
        ..IngestConfig::default()
    })
    .await;
    let flooder = app.create_user("flood@example.com").await;
    let other = app.create_user("calm@example.com").await;
    let (flooded, flooded_url) = recorder(&app, &flooder, "flooded").await;
    let (calm, calm_url) = recorder(&app, &other, "calm").await;
    let mut lock = lock_recorder(&app.store, flooder.id, flooded).await;

    let send = |url: &str, i: usize| {
        let request = app
            .client
            .post(url)
            .header("content-type", "text/plain")
            .body(format!("BUY 1 NQ1! @ {}", 25600 + i));
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let retry_after = response.headers().get("retry-after").is_some();
            (response.status().as_u16(), retry_after)
        })
    };
    let mut flood: Vec<_> = (0..8).map(|i| send(&flooded_url, i)).collect();
    // Two of eight are over the user's share: refused at once, while the rest wait.
    let mut refused = Vec::new();
    while refused.len() < 2 {
        let index = wait_for_any_finished(&mut flood).await;
        refused.push(flood.remove(index).await.unwrap());
    }
    assert_eq!(refused, vec![(429, true); 2]);
    wait_for_lock_waiters(&mut lock, 1).await;
    wait_for_in_flight(&app, 6).await;

    // The other user still gets in, up to the queue's limit of 10; the 5th is refused.
    let mut calm_sends: Vec<_> = (0..5).map(|i| send(&calm_url, i)).collect();
    let index = wait_for_any_finished(&mut calm_sends).await;
    assert_eq!(calm_sends.remove(index).await.unwrap(), (503, true));
    assert_eq!(app.ingest.in_flight(), 10);

    lock.commit().await.unwrap();
    for send in flood.into_iter().chain(calm_sends) {
        assert_eq!(send.await.unwrap().0, 200);
    }
    assert_eq!(stored(&app.store, flooder.id, flooded).await.len(), 6);
    assert_eq!(stored(&app.store, other.id, calm).await.len(), 4);
}

#[tokio::test]
async fn a_signal_not_committed_in_time_is_answered_503_and_still_recorded() {
    let app = spawn_app_with_ingest(IngestConfig {
        answer_deadline: Duration::from_millis(200),
        ..IngestConfig::default()
    })
    .await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "slow").await;
    let lock = lock_recorder(&app.store, user.id, id).await;
    for i in 0..3 {
        let response = app
            .post_webhook(&url, &format!("BUY 1 NQ1! @ {}", 25600 + i))
            .await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("not yet confirmed"),
            "{body}"
        );
    }
    lock.commit().await.unwrap();
    wait_for_stored(&app.store, user.id, id, 3).await;
    let rows = stored(&app.store, user.id, id).await;
    assert!(
        rows.iter().all(|(_, status)| status == "accepted"),
        "{rows:?}"
    );
}

/// The index of the first task to finish (bounded wait).
async fn wait_for_any_finished<T>(tasks: &mut [tokio::task::JoinHandle<T>]) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(index) = tasks.iter().position(|t| t.is_finished()) {
            return index;
        }
        assert!(std::time::Instant::now() < deadline, "no answer came");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_over_long_content_type_is_a_stored_rejection() {
    let app = jt_web::testing::spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    let content_type = format!("text/plain; {}", "x".repeat(200));
    let response = app
        .client
        .post(&url)
        .header("content-type", &content_type)
        .body("BUY 1 NQ1! @ 25600")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Content-Type"),
        "{body}"
    );
    let rows = stored(&app.store, user.id, id).await;
    assert_eq!(rows, vec![(1, "rejected".to_owned())]);
}
