//! Issue 10: live refresh. Ingest announces committed signals once per (user, recorder) of a
//! batch; `/events` streams a user's own announcements only.

use std::time::Duration;

use jt_store::signal_events::SignalEvent;
use jt_web::testing::{spawn_app, spawn_app_with_store};

use crate::pages::{PASSWORD, create_recorder, get_recorder_html, signed_up, webhook_url_in};
use crate::support::{TempDataDir, dedicated_store};

/// Generous: the machine is shared and busy.
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn committed_signals_are_announced_per_recorder() {
    let app = spawn_app().await;
    let user = app.create_user("notify@example.com").await;
    let first = app.create_recorder(&user, "one").await;
    let second = app.create_recorder(&user, "two").await;
    let id = |r: &serde_json::Value| r["id"].as_str().unwrap().parse().unwrap();
    let url = |r: &serde_json::Value| r["webhook_url"].as_str().unwrap().to_owned();
    let mut listener = app.store.listen_for_signals().await.unwrap();
    let event = |recorder_id| SignalEvent {
        user_id: user.id,
        recorder_id,
    };
    let next = async |listener: &mut jt_store::signal_events::SignalListener| {
        tokio::time::timeout(DEADLINE, listener.next())
            .await
            .expect("notified in time")
            .expect("the listener keeps its connection here")
    };

    for (recorder, body) in [(&first, "BUY 1 NQ1! @ 1"), (&second, "BUY 1 NQ1! @ 2")] {
        assert_eq!(app.post_webhook(&url(recorder), body).await.status(), 200);
    }
    // Each batch announces each of its recorders once, after its commit.
    let mut heard = std::collections::BTreeSet::new();
    while heard.len() < 2 {
        let event = next(&mut listener).await;
        assert_eq!(event.user_id, user.id);
        heard.insert(event);
    }
    assert_eq!(
        heard,
        [event(id(&first)), event(id(&second))]
            .into_iter()
            .collect()
    );
}

#[tokio::test]
async fn a_browser_hears_of_its_own_recorders_signals_only() {
    let app = spawn_app().await;
    let alice = signed_up(&app, "alice@example.com").await;
    let alice_recorder = create_recorder(&alice, "Alice's").await;
    let alice_url = webhook_url_in(&get_recorder_html(&alice, &alice_recorder).await);
    let bob = signed_up(&app, "bob@example.com").await;
    let bob_recorder = create_recorder(&bob, "Bob's").await;
    let bob_url = webhook_url_in(&get_recorder_html(&bob, &bob_recorder).await);

    let anonymous = app.browser().get("/events").await;
    assert_eq!(anonymous.status(), 303, "no session: no stream");

    let mut stream = alice.get("/events").await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // The first event says the listener is on (refresh everything); from then on every
    // stored signal is announced.
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event: refresh").await;

    assert_eq!(
        app.post_webhook(&bob_url, "BUY 1 NQ1! @ 25600")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post_webhook(&alice_url, "BUY 1 NQ1! @ 25600")
            .await
            .status(),
        200
    );
    read_until(&mut stream, &mut seen, &format!("data: {alice_recorder}")).await;
    assert!(seen.contains("event: signals"), "{seen}");
    assert!(
        !seen.contains(&bob_recorder),
        "never another user's recorder: {seen}"
    );

    // What the page's script then fetches: the fragment, with the new position.
    let fragment = alice
        .get(&format!("/recorders/{alice_recorder}/fragments/positions"))
        .await
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("<td class=\"num\">+1</td>"), "{fragment}");
}

async fn read_until(stream: &mut reqwest::Response, seen: &mut String, wanted: &str) {
    tokio::time::timeout(DEADLINE, async {
        while !seen.contains(wanted) {
            let chunk = stream
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {wanted:?} within {DEADLINE:?}; got {seen:?}"));
}

#[tokio::test]
async fn the_listener_comes_back_after_postgres_restarts() {
    let dir = TempDataDir::new();
    let (cluster, store) = dedicated_store(dir.path()).await;
    let app = spawn_app_with_store(store).await;
    let user = app.create_user("restart@example.com").await;
    let recorder = app.create_recorder(&user, "strategy").await;
    let id = recorder["id"].as_str().unwrap().to_owned();
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    let browser = app.browser();
    assert_eq!(
        browser
            .post_login("restart@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    let mut stream = browser.get("/events").await;
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event: refresh").await;

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stop");
        cluster
    })
    .await
    .expect("join");
    tokio::task::spawn_blocking(move || cluster.start().expect("restart"))
        .await
        .expect("join");

    // Listening again: pages are told to refresh (what happened meanwhile was not announced).
    seen.clear();
    read_until(&mut stream, &mut seen, "event: refresh").await;
    let started = std::time::Instant::now();
    while app.post_webhook(&url, "BUY 1 NQ1! @ 25600").await.status() != 200 {
        assert!(started.elapsed() < DEADLINE, "the webhook recovers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    read_until(&mut stream, &mut seen, &format!("data: {id}")).await;
}
