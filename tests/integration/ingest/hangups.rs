//! Senders that hang up right after their body: every signal is stored and applied.

use jt_web::testing::spawn_app;

use super::{
    HangUp, assert_replay_matches, lock_recorder, recorder, send_and_hang_up, stored,
    wait_for_in_flight, wait_for_lock_waiters, wait_for_stored,
};

#[tokio::test]
async fn signals_of_senders_that_hang_up_before_the_answer_are_stored_and_applied() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "NQ strategy").await;
    // The recorder's row is locked, so no answer can be ready before the senders leave.
    let mut lock = lock_recorder(&app.store, user.id, id).await;
    for i in 0..20 {
        let body = format!(
            r#"{{"action":"buy","ticker":"NQ1!","quantity":1,"price":{},"id":"h{i}"}}"#,
            25600 + i
        );
        let how = if i % 2 == 1 {
            HangUp::ResetAfterReceipt
        } else {
            HangUp::Close
        };
        send_and_hang_up(&app, &url, &body, how).await;
    }
    // All twenty were received and admitted, and none could have been answered.
    wait_for_lock_waiters(&mut lock, 1).await;
    wait_for_in_flight(&app, 20).await;
    assert_eq!(stored(&app.store, user.id, id).await.len(), 0);
    lock.commit().await.unwrap();

    wait_for_stored(&app.store, user.id, id, 20).await;
    let rows = stored(&app.store, user.id, id).await;
    assert!(
        rows.iter().all(|(_, status)| status == "accepted"),
        "{rows:?}"
    );
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 20);
    assert_replay_matches(&app.store, id, 20).await;
}

#[tokio::test]
async fn hang_ups_under_load_lose_nothing() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let other = app.create_user("busy@example.com").await;
    let (id, url) = recorder(&app, &user, "hung up on").await;
    let mut busy = Vec::new();
    for n in 0..8 {
        busy.push(recorder(&app, &other, &format!("busy {n}")).await);
    }
    // Normal senders keep the server busy meanwhile.
    let mut load = tokio::task::JoinSet::new();
    for i in 0..240 {
        let (_, busy_url) = busy[i % busy.len()].clone();
        let request = app
            .client
            .post(busy_url)
            .header("content-type", "text/plain")
            .body(format!("BUY 1 ES1! @ {}", 6000 + i % 50));
        load.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    // Meanwhile, senders that hang up: every third resets once its body was read.
    for i in 0..120 {
        let side = if i % 3 == 2 { "sell" } else { "buy" };
        let body = format!(
            r#"{{"action":"{side}","ticker":"NQ1!","quantity":1,"price":{},"id":"l{i}"}}"#,
            25600 + i % 40
        );
        let how = if i % 3 == 0 {
            HangUp::ResetAfterReceipt
        } else {
            HangUp::Close
        };
        send_and_hang_up(&app, &url, &body, how).await;
    }
    let statuses = load.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    wait_for_stored(&app.store, user.id, id, 120).await;
    let rows = stored(&app.store, user.id, id).await;
    assert!(
        rows.iter().all(|(_, status)| status == "accepted"),
        "{rows:?}"
    );
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(
        positions[0]["quantity"],
        80 - 40,
        "80 buys and 40 sells of 1"
    );
    assert_replay_matches(&app.store, id, 120).await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_every_received_signal() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "NQ strategy").await;
    let store = app.store.clone();
    let mut lock = lock_recorder(&store, user.id, id).await;
    for i in 0..5 {
        send_and_hang_up(
            &app,
            &url,
            &format!("BUY 1 NQ1! @ {}", 25600 + i),
            HangUp::Close,
        )
        .await;
    }
    wait_for_lock_waiters(&mut lock, 1).await;
    wait_for_in_flight(&app, 5).await;
    let stopping = tokio::spawn(app.stop());
    // Shutdown cannot finish while the signals are still waiting for their commit.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "the server stopped with signals unwritten"
    );
    lock.commit().await.unwrap();
    let _db = stopping.await.unwrap();
    let rows = stored(&store, user.id, id).await;
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_replay_matches(&store, id, 5).await;
}
