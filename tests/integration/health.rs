use std::time::Duration;

use jt_web::testing::{spawn_app, spawn_app_with_store};

use crate::support::{TempDataDir, dedicated_store};

#[tokio::test]
async fn healthz_and_readyz_answer_200_when_the_database_is_up() {
    let app = spawn_app().await;
    assert_eq!(app.get_healthz().await.status(), 200);
    let ready = app.get_readyz().await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_turns_503_while_postgres_is_stopped_and_recovers_without_a_restart() {
    let dir = TempDataDir::new();
    let (cluster, store) = dedicated_store(dir.path()).await;
    let app = spawn_app_with_store(store).await;
    assert_eq!(app.get_readyz().await.status(), 200);

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stop");
        cluster
    })
    .await
    .expect("join");
    let down = app.get_readyz().await;
    assert_eq!(down.status(), 503);
    assert_eq!(
        app.get_healthz().await.status(),
        200,
        "the process itself stays healthy"
    );
    let body: serde_json::Value = down.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");

    let mut cluster = cluster;
    let port_before = cluster.port();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start().expect("restart");
        cluster
    })
    .await
    .expect("join");
    assert_eq!(cluster.port(), port_before, "restarts on the same port");
    // The pool drops dead connections and reconnects on its own; allow it a few tries.
    let mut status = 0;
    for _ in 0..20 {
        status = app.get_readyz().await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again after PostgreSQL came back");
}
