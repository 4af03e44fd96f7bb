//! The load generator against the real app on a real port: every alert it sends is
//! answered, counted and stored as accepted (the signal mix is valid for the engine).

use std::net::SocketAddr;

use jt_bench::load_generator::{LoadTarget, run_burst};
use jt_bench::provisioning::stored_per_recorder;
use jt_store::RecorderId;
use jt_store::signal_counts::count_signals_by_recorder;
use jt_web::testing::spawn_app;

#[tokio::test]
async fn a_small_burst_is_answered_counted_and_stored() {
    let app = spawn_app().await;
    let user = app.create_user("load@example.com").await;
    let mut ids: Vec<RecorderId> = Vec::new();
    let mut webhook_paths = Vec::new();
    for n in 0..3 {
        let recorder = app.create_recorder(&user, &format!("load {n}")).await;
        let id = recorder["id"].as_str().expect("recorder id");
        ids.push(id.parse().expect("uuid"));
        let url = recorder["webhook_url"].as_str().expect("webhook url");
        let path = url.strip_prefix(&app.address).expect("URL on the test app");
        webhook_paths.push(path.to_owned());
    }
    let address: SocketAddr = app
        .address
        .strip_prefix("http://")
        .expect("http address")
        .parse()
        .expect("socket address");
    let target = LoadTarget {
        address,
        webhook_paths,
    };

    // 4 connections over 3 recorders: one recorder is shared by two connections.
    let outcome = run_burst(&target, 4, 26).await;

    assert_eq!(outcome.statuses.of(200), 26, "{:?}", outcome.statuses);
    assert_eq!(outcome.statuses.total(), 26);
    assert_eq!(outcome.latencies.len(), 26);
    assert_eq!(outcome.sent(), 26);
    assert!(outcome.elapsed > std::time::Duration::ZERO);
    let stored = stored_per_recorder(&app.store, &ids)
        .await
        .expect("count stored signals");
    assert_eq!(stored, outcome.sent_per_recorder);
    let mut admin = app.store.admin("test").await.expect("admin tx");
    let counts = count_signals_by_recorder(&mut admin)
        .await
        .expect("count by status");
    assert!(
        counts.iter().all(|c| c.status == "accepted"),
        "every alert of the mix is accepted: {counts:?}"
    );
}
