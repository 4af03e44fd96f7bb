//! Ingest from remembered facts: a web process decides a batch from what its last batch of
//! the recorder left behind, and the database writes it only if those facts are still
//! current. Each test changes a fact behind the process's back (another process, a
//! settings change, an operator) and checks the next signal is applied to the truth.

use std::time::Duration;

use jt_store::RecorderId;
use jt_store::ingest::{IngestConfig, IngestOutcome, Ingestor};
use jt_store::users::{self, UserStatus};
use jt_web::testing::{TestApp, TestUser, spawn_app};
use serde_json::{Value, json};

use super::{assert_replay_matches, recorder, stored, submit_text, target_of};

/// A signal sent to the app's own web process; its answer.
async fn webhook(app: &TestApp, url: &str, body: &str) -> (u16, Value) {
    let response = app.post_webhook(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A signal written by another web process (an ingestor of its own, with its own facts).
async fn from_other_process(other: &Ingestor, url: &str, body: &str) -> IngestOutcome {
    submit_text(other, target_of(other, url).await, body)
        .outcome(Duration::from_secs(60))
        .await
        .unwrap()
}

fn other_process(app: &TestApp) -> Ingestor {
    Ingestor::start(app.store.clone(), IngestConfig::default())
}

#[tokio::test]
async fn a_signal_written_by_another_process_is_seen_by_the_next_batch() {
    let app = spawn_app().await;
    let other = other_process(&app);
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;

    let (_, first) = webhook(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(first["position"]["quantity"], 1);
    let outcome = from_other_process(&other, &url, "BUY 2 NQ1! @ 25610").await;
    assert!(
        matches!(outcome, IngestOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    // This process remembers quantity 1 and sequence 2; both are stale.
    let (status, third) = webhook(&app, &url, "BUY 1 NQ1! @ 25620").await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["position"]["quantity"], 4);
    assert_eq!(
        stored(&app.store, user.id, id).await,
        vec![
            (1, "accepted".to_owned()),
            (2, "accepted".to_owned()),
            (3, "accepted".to_owned())
        ]
    );
    assert_replay_matches(&app.store, id, 3).await;
}

#[tokio::test]
async fn settings_changed_after_a_batch_apply_to_the_next_signal() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    assert_eq!(webhook(&app, &url, "BUY 1 NQ1! @ 25600").await.0, 200);

    let patched = app
        .patch_recorder(&user, &id.to_string(), json!({ "default_quantity": 3 }))
        .await;
    assert_eq!(patched.status(), 200);
    let (_, answer) = webhook(&app, &url, "BUY NQ1! @ 25601").await;
    assert_eq!(answer["position"]["quantity"], 4, "{answer}");

    let paused = app
        .patch_recorder(&user, &id.to_string(), json!({ "status": "paused" }))
        .await;
    assert_eq!(paused.status(), 200);
    let (status, answer) = webhook(&app, &url, "BUY 1 NQ1! @ 25602").await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 4);
}

#[tokio::test]
async fn a_user_disabled_after_a_batch_has_the_next_signal_refused() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    assert_eq!(webhook(&app, &url, "BUY 1 NQ1! @ 25600").await.0, 200);

    let mut admin = app.store.admin("test").await.unwrap();
    users::set_user_status(&mut admin, user.id, UserStatus::Disabled)
        .await
        .unwrap();
    admin.commit().await.unwrap();
    let (status, answer) = webhook(&app, &url, "BUY 1 NQ1! @ 25601").await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        stored(&app.store, user.id, id).await,
        vec![(1, "accepted".to_owned()), (2, "rejected".to_owned())]
    );
}

#[tokio::test]
async fn an_id_accepted_before_the_facts_were_remembered_is_still_a_duplicate() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    let with_id = |price: u32, id: &str| {
        format!(r#"{{"action":"buy","ticker":"NQ1!","quantity":1,"price":{price},"id":"{id}"}}"#)
    };
    let (_, first) = webhook(&app, &url, &with_id(25600, "x1")).await;
    assert_eq!(webhook(&app, &url, &with_id(25601, "x2")).await.0, 200);
    // Remembered from the second batch, which did not look for "x1".
    let again = with_id(25600, "x1");
    assert_duplicate(&app, &user, id, &url, &again, &first).await;
}

#[tokio::test]
async fn a_body_repeated_within_the_window_is_a_duplicate_whatever_came_between() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    let (_, first) = webhook(&app, &url, "BUY 1 NQ1! @ 25600").await;
    assert_eq!(webhook(&app, &url, "BUY 1 NQ1! @ 25601").await.0, 200);
    // TradingView resending the first alert, without an id, within the 20 s window.
    assert_duplicate(&app, &user, id, &url, "BUY 1 NQ1! @ 25600", &first).await;
}

/// `body` is answered as a duplicate of `first`, and the position holds the two buys only.
async fn assert_duplicate(
    app: &TestApp,
    user: &TestUser,
    id: RecorderId,
    url: &str,
    body: &str,
    first: &Value,
) {
    let (status, again) = webhook(app, url, body).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("duplicate")),
        "{again}"
    );
    assert_eq!(again["duplicate_of"], first["signal_id"]);
    let positions = app
        .api_json(user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 2);
}

#[tokio::test]
async fn a_price_set_by_another_process_is_the_last_known_price() {
    let app = spawn_app().await;
    let other = other_process(&app);
    let user = app.create_user("trader@example.com").await;
    let (first, first_url) = recorder(&app, &user, "first").await;
    let (_, second_url) = recorder(&app, &user, "second").await;
    assert_eq!(webhook(&app, &first_url, "BUY 1 NQ1! @ 25600").await.0, 200);
    assert_eq!(
        webhook(&app, &second_url, "BUY 1 NQ1! @ 25600").await.0,
        200
    );
    // The user's freshest NQ price is now 25700, set through another process: the price
    // this process remembers (25600) is stale.
    let outcome = from_other_process(&other, &second_url, "BUY 1 NQ1! @ 25700").await;
    assert!(
        matches!(outcome, IngestOutcome::Accepted { .. }),
        "{outcome:?}"
    );

    let (status, closed) = webhook(&app, &first_url, "close NQ").await;
    assert_eq!(status, 200, "{closed}");
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{first}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 0);
    // (25700 - 25600) points x $20.
    assert_eq!(positions[0]["realized_pnl"], "2000");
}

#[tokio::test]
async fn a_stale_group_is_written_apart_and_its_neighbours_from_their_remembered_facts() {
    let app = spawn_app().await;
    // One batch at a time, so what arrives while one is blocked goes in the next together.
    let ingestor = Ingestor::start(
        app.store.clone(),
        IngestConfig {
            batches_in_flight: 1,
            ..IngestConfig::default()
        },
    );
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let carol = app.create_user("carol@example.com").await;
    let (alices, alices_url) = recorder(&app, &alice, "alice's").await;
    let (bobs, bobs_url) = recorder(&app, &bob, "bob's").await;
    let (carols, carols_url) = recorder(&app, &carol, "carol's").await;
    let with_id = |id: &str| {
        format!(r#"{{"action":"buy","ticker":"NQ1!","quantity":1,"price":25600,"id":"{id}"}}"#)
    };
    for (url, id) in [(&alices_url, "a1"), (&alices_url, "a2"), (&bobs_url, "b1")] {
        let outcome = from_other_process(&ingestor, url, &with_id(id)).await;
        assert!(
            matches!(outcome, IngestOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }

    // Carol's first signal (facts not remembered) waits for her recorder's lock; meanwhile
    // Alice repeats "a1" and Bob sends a new one: the next batch holds both.
    let mut lock = super::lock_recorder(&app.store, carol.id, carols).await;
    let blocked = {
        let ingestor = ingestor.clone();
        let url = carols_url.clone();
        tokio::spawn(async move { from_other_process(&ingestor, &url, &with_id("c1")).await })
    };
    super::wait_for_lock_waiters(&mut lock, 1).await;
    let repeat = {
        let ingestor = ingestor.clone();
        let url = alices_url.clone();
        tokio::spawn(async move { from_other_process(&ingestor, &url, &with_id("a1")).await })
    };
    let new = {
        let ingestor = ingestor.clone();
        let url = bobs_url.clone();
        tokio::spawn(async move { from_other_process(&ingestor, &url, &with_id("b2")).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while ingestor.in_flight() < 3 {
        assert!(std::time::Instant::now() < deadline, "not all admitted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lock.commit().await.unwrap();
    assert!(matches!(
        blocked.await.unwrap(),
        IngestOutcome::Accepted { .. }
    ));
    let repeat = repeat.await.unwrap();
    assert!(
        matches!(repeat, IngestOutcome::Duplicate { .. }),
        "{repeat:?}"
    );
    let new = new.await.unwrap();
    assert!(matches!(new, IngestOutcome::Accepted { .. }), "{new:?}");

    // Bob's signal went in the one-statement write of the batch; Alice's duplicate, whose
    // group's facts had missed the stored "a1", was decided again in a transaction of its own.
    let transaction_of = |user, recorder, seq: i64| {
        let store = app.store.clone();
        async move {
            let mut tx = store.tenant(user).await.unwrap();
            let xmin: String = sqlx::query_scalar(
                "select xmin::text from recorded_signals where recorder_id = $1 and seq = $2",
            )
            .bind(recorder)
            .bind(seq)
            .fetch_one(tx.conn())
            .await
            .unwrap();
            tx.commit().await.unwrap();
            xmin
        }
    };
    assert_ne!(
        transaction_of(alice.id, alices, 3).await,
        transaction_of(bob.id, bobs, 2).await
    );
    assert_eq!(
        stored(&app.store, alice.id, alices).await,
        vec![
            (1, "accepted".to_owned()),
            (2, "accepted".to_owned()),
            (3, "duplicate".to_owned())
        ]
    );
}
