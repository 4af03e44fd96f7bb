//! Group commit: many recorders and users per transaction, strict order per recorder, one
//! bad signal failing alone, the database down → 503 for everything in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jt_store::ingest::{
    IngestConfig, IngestOutcome, Ingestor, Rejection, Submitted, WebhookTarget,
};
use jt_store::{RecorderId, UserId};
use jt_web::testing::{spawn_app, spawn_app_with_store};
use sqlx::Connection;

use super::{
    assert_replay_matches, lock_recorder, recorder, stored, submit_text, target_of,
    wait_for_in_flight, wait_for_lock_waiters,
};
use crate::support::{TempDataDir, dedicated_store};

#[tokio::test]
async fn a_batch_spans_recorders_and_users_keeps_each_recorders_order_and_isolates_bad_signals() {
    let app = spawn_app().await;
    // One shard writing one batch at a time: everything queues behind the locked recorder.
    let ingestor = Ingestor::start(
        app.store.clone(),
        IngestConfig {
            shards: 1,
            batches_in_flight: 1,
            ..IngestConfig::default()
        },
    );
    let mut recorders: Vec<(UserId, RecorderId, String)> = Vec::new();
    for u in 0..3 {
        let user = app.create_user(&format!("trader{u}@example.com")).await;
        for r in 0..3 {
            let (id, url) = recorder(&app, &user, &format!("strategy {r}")).await;
            let token = url.rsplit('/').next().unwrap().to_owned();
            recorders.push((user.id, id, token));
        }
    }
    // The first recorder's row is locked: whatever its shard takes first blocks, and
    // everything submitted meanwhile piles up behind it into the next batches.
    let (first_user, first_recorder, _) = recorders[0].clone();
    let mut lock = lock_recorder(&app.store, first_user, first_recorder).await;
    let mut sent: BTreeMap<RecorderId, Vec<String>> = BTreeMap::new();
    let mut waiting = Vec::new();
    for i in 0..180 {
        let (_, recorder, token) = &recorders[i % recorders.len()];
        let body = match i {
            40 => "BUY 0 NQ1! @ 25600".to_owned(),
            // The same id as signal 0 of this recorder (i = 0): a duplicate.
            81 => r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":25600,"id":"s0"}"#
                .to_owned(),
            _ => format!(
                r#"{{"action":"{}","ticker":"NQ1!","quantity":1,"price":{},"id":"s{i}"}}"#,
                if i % 4 == 3 { "sell" } else { "buy" },
                25600 + i
            ),
        };
        let target = ingestor.target(token).await.unwrap().expect("live token");
        waiting.push((i, submit_text(&ingestor, target, body.clone())));
        sent.entry(*recorder).or_default().push(body);
    }
    wait_for_lock_waiters(&mut lock, 1).await;
    assert_eq!(ingestor.in_flight(), 180);
    lock.commit().await.unwrap();

    let mut outcomes = BTreeMap::new();
    for (i, submitted) in waiting {
        outcomes.insert(i, submitted.outcome(Duration::from_secs(60)).await.unwrap());
    }
    assert!(
        matches!(
            &outcomes[&40],
            IngestOutcome::Rejected {
                rejection: Rejection::Invalid(_),
                ..
            }
        ),
        "{:?}",
        outcomes[&40]
    );
    let IngestOutcome::Accepted {
        signal_id: first, ..
    } = outcomes[&0]
    else {
        panic!("{:?}", outcomes[&0]);
    };
    assert!(
        matches!(outcomes[&81], IngestOutcome::Duplicate { original_signal_id, .. } if original_signal_id == first),
        "{:?}",
        outcomes[&81]
    );
    let accepted = outcomes
        .values()
        .filter(|o| matches!(o, IngestOutcome::Accepted { .. }))
        .count();
    assert_eq!(accepted, 178, "all but the bad one and the duplicate");

    // Per recorder: stored in exactly the order submitted, sequence numbers 1..=20.
    for (user, recorder, _) in &recorders {
        let mut tx = app.store.tenant(*user).await.unwrap();
        let bodies: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "select seq, raw_body from recorded_signals where recorder_id = $1 order by seq",
        )
        .bind(recorder)
        .fetch_all(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let seqs: Vec<i64> = bodies.iter().map(|b| b.0).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
        let bodies: Vec<String> = bodies
            .into_iter()
            .map(|(_, b)| String::from_utf8(b).unwrap())
            .collect();
        assert_eq!(&bodies, &sent[recorder], "order of {recorder}");
        let applied = stored(&app.store, *user, *recorder)
            .await
            .iter()
            .filter(|(_, s)| s == "accepted")
            .count();
        assert_replay_matches(&app.store, *recorder, applied).await;
    }

    // Group commit: 180 signals in a handful of transactions, some shared across users.
    let mut admin = app.store.admin("test").await.unwrap();
    let rows: Vec<(String, UserId)> =
        sqlx::query_as("select xmin::text, user_id from recorded_signals")
            .fetch_all(admin.conn())
            .await
            .unwrap();
    admin.commit().await.unwrap();
    let mut users_per_transaction: BTreeMap<String, BTreeSet<UserId>> = BTreeMap::new();
    for (xmin, user) in rows {
        users_per_transaction.entry(xmin).or_default().insert(user);
    }
    // The blocked first batch, then batches of at most 100.
    assert!(
        users_per_transaction.len() <= 4,
        "{} transactions for 180 signals",
        users_per_transaction.len()
    );
    assert!(users_per_transaction.values().any(|users| users.len() == 3));
}

#[tokio::test]
async fn a_batch_cannot_lock_read_or_overwrite_a_recorder_without_its_token() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let (alices, alices_url) = recorder(&app, &alice, "alice's").await;
    let (bobs, bobs_url) = recorder(&app, &bob, "bob's").await;
    assert_eq!(
        app.post_webhook(
            &bobs_url,
            r#"{"action":"buy","ticker":"NQ1!","quantity":1,"price":25600,"id":"b1"}"#
        )
        .await
        .status(),
        200
    );
    let alices_hash = hex_of_token(&alices_url);
    let bobs_version = recorder_version(&app, bob.id, bobs).await;

    // Bob's recorder named with Alice's token (the only one she has): nothing of Bob's is
    // locked or read, though his position and signal id exist.
    let mut tx = app.store.tenant(alice.id).await.unwrap();
    let facts: serde_json::Value = sqlx::query_scalar("select ingest_facts($1)")
        .bind(serde_json::json!({
            "recorders": [{"id": bobs, "token_hash": alices_hash}],
            "client_ids": [{"recorder_id": bobs, "client_signal_id": "b1"}],
            "bodies": [], "roots": [{"recorder_id": bobs, "root": "NQ"}]
        }))
        .fetch_one(tx.conn())
        .await
        .unwrap();
    for key in ["recorders", "users", "positions", "dup_ids", "prices"] {
        assert_eq!(facts[key], serde_json::json!([]), "{key}: {facts}");
    }
    // Nor can a write prove Bob's recorder with Alice's token, even with his row's current
    // version and his user: it is not written, and is named as a conflict.
    let position = serde_json::json!({"recorder_id": bobs, "root": "NQ", "side": "flat",
        "quantity": 0, "avg_entry_price": "0", "realized_pnl": "0", "commission": "0",
        "signal_count": 1, "last_signal_seq": 1, "engine_state": {}});
    let presented = |id: RecorderId, user: UserId, version: &str| {
        serde_json::json!({"id": id, "user_id": user, "token_hash": alices_hash,
            "version": version, "n": 1})
    };
    let applied: serde_json::Value = sqlx::query_scalar("select ingest_apply($1, 'q')")
        .bind(serde_json::json!({
            "recorders": [presented(bobs, bob.id, &bobs_version)], "users": [bob.id],
            "client_ids": [], "bodies": [], "prices": [], "signals": [], "trades": [],
            "intents": [], "positions": [position]
        }))
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(
        applied,
        serde_json::json!({"ids": [], "versions": [], "conflicts": [bob.id]})
    );
    // And a row for Bob's recorder slipped in next to Alice's own recorder refuses the call.
    let alices_version = recorder_version(&app, alice.id, alices).await;
    let mut savepoint = tx.conn().begin().await.unwrap();
    let refused = sqlx::query("select ingest_apply($1, 'q')")
        .bind(serde_json::json!({
            "recorders": [presented(alices, alice.id, &alices_version)], "users": [alice.id],
            "client_ids": [], "bodies": [], "prices": [], "signals": [], "trades": [],
            "intents": [], "positions": [position]
        }))
        .execute(&mut *savepoint)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("is not one whose webhook token this call presented"),
        "{refused}"
    );
    drop(savepoint);
    tx.commit().await.unwrap();

    let positions = app
        .api_json(&bob, &format!("/api/v1/recorders/{bobs}/positions"))
        .await;
    assert_eq!(positions[0]["quantity"], 1);
    assert_eq!(recorder_version(&app, bob.id, bobs).await, bobs_version);
    assert_eq!(
        app.post_webhook(&bobs_url, "BUY 1 NQ1! @ 25610")
            .await
            .status(),
        200
    );
    let signals = stored(&app.store, bob.id, bobs).await;
    assert_eq!(
        signals.last().unwrap().0,
        2,
        "Bob's sequence was not bumped by Alice"
    );
}

#[tokio::test]
async fn a_batch_cannot_write_a_signal_onto_another_tenants_recorder() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let (alices, alices_url) = recorder(&app, &alice, "alice's").await;
    let (bobs, _) = recorder(&app, &bob, "bob's").await;
    let signal = |recorder: RecorderId| {
        serde_json::json!({"recorder_id": recorder, "seq": 1,
            "received_at": "2026-11-25T12:00:00Z", "status": "rejected", "notes": [],
            "raw_body": "", "body_sha256": ""})
    };
    let version = recorder_version(&app, alice.id, alices).await;
    let mut tx = app.store.tenant(alice.id).await.unwrap();
    let mut savepoint = tx.conn().begin().await.unwrap();
    let written = sqlx::query("select ingest_apply($1, 'q')")
        .bind(serde_json::json!({
            "recorders": [{"id": alices, "user_id": alice.id,
                "token_hash": hex_of_token(&alices_url), "version": version, "n": 2}],
            "users": [alice.id], "client_ids": [], "bodies": [], "prices": [],
            "signals": [signal(alices), signal(bobs)],
            "positions": [], "trades": [], "intents": []
        }))
        .execute(&mut *savepoint)
        .await
        .unwrap_err();
    assert!(
        written
            .to_string()
            .contains(&format!("recorder {bobs} is not one")),
        "{written}"
    );
    drop(savepoint);
    // Outside the functions, row-level security refuses Alice's scope a row of Bob's.
    let direct = sqlx::query(
        "insert into recorded_signals (user_id, recorder_id, seq, received_at, status,
             raw_body, body_sha256)
         values ($1, $2, 1, now(), 'rejected', '', '')",
    )
    .bind(bob.id)
    .bind(bobs)
    .execute(tx.conn())
    .await
    .unwrap_err();
    assert!(
        direct.to_string().contains("row-level security"),
        "{direct}"
    );
    drop(tx);
    assert!(stored(&app.store, bob.id, bobs).await.is_empty());
    assert!(stored(&app.store, alice.id, alices).await.is_empty());
}

/// The version (xmin) of a recorder's row, as its owner sees it.
async fn recorder_version(app: &jt_web::testing::TestApp, user: UserId, id: RecorderId) -> String {
    let mut tx = app.store.tenant(user).await.unwrap();
    let version = sqlx::query_scalar("select xmin::text from recorders where id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    version
}

fn hex_of_token(url: &str) -> String {
    let token = url.rsplit('/').next().unwrap();
    hex::encode(jt_store::webhook_token::webhook_token_hash(token))
}

#[tokio::test]
async fn the_database_stopping_mid_batch_answers_503_and_never_200_without_a_commit() {
    let dir = TempDataDir::new();
    let (cluster, store) = dedicated_store(dir.path()).await;
    let app = spawn_app_with_store(store).await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    assert_eq!(
        app.post_webhook(&url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );

    let mut lock = lock_recorder(&app.store, user.id, id).await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..10 {
        let request = app
            .client
            .post(&url)
            .header("content-type", "text/plain")
            .body(format!("BUY 1 NQ1! @ {}", 25601 + i));
        sends.spawn(async move { (i, request.send().await.unwrap().status().as_u16()) });
    }
    wait_for_lock_waiters(&mut lock, 1).await;
    wait_for_in_flight(&app, 10).await;
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stop");
        cluster
    })
    .await
    .unwrap();
    drop(lock);
    // Fast shutdown ends the lock holder's backend and the batch's in some order: the batch
    // may get the lock and commit just before it is ended. Then it rightly answers 200.
    let answers = sends.join_all().await;
    assert!(
        answers.iter().all(|(_, s)| [200, 503].contains(s)),
        "{answers:?}"
    );
    // The signals queued behind the blocked batch meet a stopped database.
    assert!(answers.iter().any(|(_, s)| *s == 503), "{answers:?}");

    tokio::task::spawn_blocking(move || cluster.start().expect("restart"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = app.post_webhook(&url, "BUY 1 NQ1! @ 25620").await.status();
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Never 200 without a commit: every signal answered 200 is stored. A batch is all or
    // nothing: the stored signals are numbered without a gap and replay to the positions.
    let mut tx = app.store.tenant(user.id).await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select seq, price::text from recorded_signals where recorder_id = $1 order by seq",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (i, _) in answers.iter().filter(|(_, status)| *status == 200) {
        let price = (25601 + i).to_string();
        assert!(
            rows.iter().any(|(_, p)| *p == price),
            "answered 200 but not stored: {price}"
        );
    }
    let seqs: Vec<i64> = rows.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());
    assert_eq!(rows.last().map(|(_, p)| p.as_str()), Some("25620"));
    assert_replay_matches(&app.store, id, rows.len()).await;
}

#[tokio::test]
async fn a_signal_that_breaks_its_batch_fails_alone_and_is_still_kept() {
    let app = spawn_app().await;
    let user = app.create_user("trader@example.com").await;
    let (id, url) = recorder(&app, &user, "strategy").await;
    // A fault only the database sees: applying a body that says BOOM raises.
    let mut owner = sqlx::PgConnection::connect_with(&app.db().owner_options())
        .await
        .unwrap();
    sqlx::raw_sql(
        "create function boom() returns trigger language plpgsql as $$
         begin
             if new.status = 'accepted' and position('BOOM' in convert_from(new.raw_body, 'UTF8')) > 0 then
                 raise exception 'boom';
             end if;
             return new;
         end $$;
         create trigger boom before insert on recorded_signals for each row execute function boom();",
    )
    .execute(&mut owner)
    .await
    .unwrap();

    let mut lock = lock_recorder(&app.store, user.id, id).await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..6 {
        let body = if i == 3 {
            r#"{"action":"buy","ticker":"NQ1!","price":25600,"comment":"BOOM"}"#.to_owned()
        } else {
            format!("BUY 1 NQ1! @ {}", 25600 + i)
        };
        let request = app
            .client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body);
        sends.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        });
    }
    wait_for_lock_waiters(&mut lock, 1).await;
    wait_for_in_flight(&app, 6).await;
    lock.commit().await.unwrap();
    let answers = sends.join_all().await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert_eq!(failed.len(), 1, "{answers:?}");
    assert_eq!(failed[0].0, 500);
    assert!(
        failed[0].1["error"]
            .as_str()
            .unwrap()
            .contains("recorded but could not be applied")
    );
    assert!(failed[0].1["signal_id"].is_i64());

    let rows = stored(&app.store, user.id, id).await;
    let statuses: Vec<&str> = rows.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "accepted").count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == "rejected").count(), 1);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    assert_replay_matches(&app.store, id, 5).await;
}

#[tokio::test]
async fn two_processes_writing_the_same_recorders_keep_them_exact() {
    let app = spawn_app().await;
    // Two ingestors with their own shards and batches: as two web processes would be.
    let processes = [
        Ingestor::start(app.store.clone(), IngestConfig::default()),
        Ingestor::start(app.store.clone(), IngestConfig::default()),
    ];
    let mut recorders = Vec::new();
    for u in 0..2 {
        let user = app.create_user(&format!("trader{u}@example.com")).await;
        for r in 0..3 {
            let (id, url) = recorder(&app, &user, &format!("strategy {r}")).await;
            recorders.push((user.id, id, url.rsplit('/').next().unwrap().to_owned()));
        }
    }
    let mut waiting = Vec::new();
    for i in 0..300 {
        let (_, _, token) = &recorders[i % recorders.len()];
        let ingestor = &processes[(i / 7) % 2];
        let target = ingestor.target(token).await.unwrap().expect("live token");
        let side = if i % 5 == 4 { "sell" } else { "buy" };
        let body = format!(
            r#"{{"action":"{side}","ticker":"NQ1!","quantity":1,"price":{},"id":"p{i}"}}"#,
            25600 + i % 37
        );
        waiting.push(submit_text(ingestor, target, body));
    }
    for submitted in waiting {
        let outcome = submitted.outcome(Duration::from_secs(120)).await.unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }
    for (user, recorder, _) in &recorders {
        let rows = stored(&app.store, *user, *recorder).await;
        assert_eq!(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            (1..=50).collect::<Vec<_>>()
        );
        assert_replay_matches(&app.store, *recorder, 50).await;
    }
}

#[tokio::test]
async fn while_a_batch_is_written_a_few_signals_wait_for_it_and_go_in_one_batch() {
    let app = spawn_app().await;
    let ingestor = Ingestor::start(app.store.clone(), three_slots_overlap_minimum_8());
    let user = app.create_user("trader@example.com").await;
    let recorders = four_recorders(&app, &ingestor, &user).await;
    let submit = |target: &WebhookTarget| submit_text(&ingestor, target.clone(), BUY);
    // The first batch waits for a recorder locked elsewhere; three signals arrive meanwhile,
    // fewer than the minimum for a second batch alongside it, though slots are free.
    let mut lock = lock_recorder(&app.store, user.id, recorders[0].0).await;
    let first = submit(&recorders[0].1);
    wait_for_lock_waiters(&mut lock, 1).await;
    let rest: Vec<_> = recorders[1..].iter().map(|(_, t)| submit(t)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let others: Vec<RecorderId> = recorders[1..].iter().map(|(id, _)| *id).collect();
    assert!(
        transactions_of(&app.store, &others).await.is_empty(),
        "no batch started beside the waiting one"
    );

    lock.commit().await.unwrap();
    assert_accepted(std::iter::once(first).chain(rest)).await;
    assert_eq!(
        transactions_of(&app.store, &others).await.len(),
        1,
        "the three went in one batch"
    );
}

#[tokio::test]
async fn signals_arriving_just_after_a_batch_ended_wait_a_moment_and_go_in_one_batch() {
    let app = spawn_app().await;
    let ingestor = Ingestor::start(
        app.store.clone(),
        IngestConfig {
            // Long enough that a loaded machine cannot spread the arrivals below past it.
            linger: Duration::from_millis(500),
            linger_window: Duration::from_secs(60),
            ..three_slots_overlap_minimum_8()
        },
    );
    let user = app.create_user("trader@example.com").await;
    let recorders = four_recorders(&app, &ingestor, &user).await;
    let submit = |target: &WebhookTarget| submit_text(&ingestor, target.clone(), BUY);
    // A lone signal on an idle shard; its batch ends.
    assert_accepted([submit(&recorders[0].1)]).await;
    // Three more right after, 50 ms apart: without the linger the first of them would go
    // alone, at once.
    let mut rest = Vec::new();
    for (_, target) in &recorders[1..] {
        rest.push(submit(target));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_accepted(rest).await;
    let others: Vec<RecorderId> = recorders[1..].iter().map(|(id, _)| *id).collect();
    assert_eq!(
        transactions_of(&app.store, &others).await.len(),
        1,
        "the three went in one batch"
    );
}

/// One queue, three batch slots, a batch beside a running one only from 8 signals.
fn three_slots_overlap_minimum_8() -> IngestConfig {
    IngestConfig {
        shards: 1,
        batches_in_flight: 3,
        min_overlap: 8,
        ..IngestConfig::default()
    }
}

/// Awaits each outcome: accepted.
async fn assert_accepted(submitted: impl IntoIterator<Item = Submitted>) {
    for submitted in submitted {
        let outcome = submitted.outcome(Duration::from_secs(60)).await.unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Accepted { .. }),
            "{outcome:?}"
        );
    }
}

/// Four recorders of `user`, with their webhook targets.
async fn four_recorders(
    app: &jt_web::testing::TestApp,
    ingestor: &Ingestor,
    user: &jt_web::testing::TestUser,
) -> Vec<(RecorderId, WebhookTarget)> {
    let mut recorders = Vec::new();
    for r in 0..4 {
        let (id, url) = recorder(app, user, &format!("strategy {r}")).await;
        recorders.push((id, target_of(ingestor, &url).await));
    }
    recorders
}

const BUY: &str = "BUY 1 NQ1! @ 25600";

/// The transactions (`xmin`s) that wrote the recorders' signals.
async fn transactions_of(store: &jt_store::Store, recorders: &[RecorderId]) -> BTreeSet<String> {
    let mut admin = store.admin("test").await.unwrap();
    let xmins: BTreeSet<String> =
        sqlx::query_scalar("select xmin::text from recorded_signals where recorder_id = any($1)")
            .bind(recorders)
            .fetch_all(admin.conn())
            .await
            .unwrap()
            .into_iter()
            .collect();
    admin.commit().await.unwrap();
    xmins
}
