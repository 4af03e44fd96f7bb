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
    for _ in 0..600 {
        status = app.get_readyz().await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again after PostgreSQL came back");
}

#[tokio::test]
async fn webhooks_answer_503_while_postgres_is_stopped_and_record_again_after() {
    let dir = TempDataDir::new();
    let (cluster, store) = dedicated_store(dir.path()).await;
    let app = spawn_app_with_store(store).await;
    let user = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&user, "strategy").await;
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_webhook(&url, "BUY 1 NQ1! @ 25600").await.status(),
        200
    );

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stop");
        cluster
    })
    .await
    .expect("join");
    let started = std::time::Instant::now();
    let down = app.post_webhook(&url, "BUY 1 NQ1! @ 25610").await;
    assert_eq!(down.status(), 503, "never 200 without a commit");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "503 comes quickly"
    );
    let body: serde_json::Value = down.json().await.expect("json");
    assert!(body["error"].as_str().unwrap().contains("not recorded"));

    tokio::task::spawn_blocking(move || cluster.start().expect("restart"))
        .await
        .expect("join");
    let mut status = 0;
    for _ in 0..600 {
        status = app
            .post_webhook(&url, "BUY 1 NQ1! @ 25620")
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "recovers without a restart");
    let positions = app
        .api_json(
            &user,
            &format!(
                "/api/v1/recorders/{}/positions",
                recorder["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        positions[0]["quantity"], 2,
        "the 503 signal was not applied, the others were"
    );
}

/// The pool does not ping a connection at every checkout (a round trip per ingest batch),
/// only one idle for a second: connections cut while idle (a failover, an operator) are
/// replaced before they are used. A store of its own, so no background task of a server
/// uses up the dead connections first.
#[tokio::test]
async fn connections_cut_while_idle_are_replaced_before_they_are_used() {
    let dir = TempDataDir::new();
    let (_cluster, store) = dedicated_store(dir.path()).await;
    // Four transactions open at once: the pool holds four connections.
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(store.admin("test").await.unwrap());
    }
    for tx in open {
        tx.commit().await.unwrap();
    }

    // End every other backend of the application role (a role may end its own).
    let mut tx = store.admin("test").await.unwrap();
    let cut: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity
          where usename = current_user and pid <> pg_backend_pid()",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(cut, 3);
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    for attempt in 0..6 {
        let mut tx = store.admin("test").await.unwrap();
        let one: i32 = sqlx::query_scalar("select 1")
            .fetch_one(tx.conn())
            .await
            .unwrap_or_else(|error| {
                panic!("transaction {attempt} used a dead connection: {error}")
            });
        assert_eq!(one, 1);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get_healthz().await;
    let id = first
        .headers()
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let second = app.get_healthz().await;
    assert_ne!(
        second
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap(),
        id
    );
    let echoed = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "from-the-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        echoed.headers().get("x-request-id").unwrap(),
        "from-the-proxy"
    );
}

#[tokio::test]
async fn unknown_routes_get_404_as_json_under_api_and_as_a_page_elsewhere() {
    let app = spawn_app().await;
    let api = app.get("/api/v1/nothing-here").await;
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.expect("json");
    assert_eq!(body["error"], "route not found");
    let page = app.get("/nothing-here").await;
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("<html"), "an HTML page");
}
