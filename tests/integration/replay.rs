//! A random stream of signals through the webhook equals the engine's replay, and the
//! rebuild operation proves (and repairs) the stored state.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use jt_engine::{ApplyContext, Book, Limits, Root, parse_alert};
use jt_store::RecorderId;
use jt_store::rebuild::rebuild_recorder;
use jt_web::testing::spawn_app;
use rust_decimal::Decimal;
use serde_json::json;

/// Deterministic pseudo-random numbers (xorshift64*): the same stream on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// One random alert body. Explicit contracts keep the stream independent of the date.
fn random_alert(rng: &mut Rng, i: usize) -> String {
    let (ticker, base, tick) = [
        ("NQH6", 25_000, "0.25"),
        ("ESH6", 6_000, "0.25"),
        ("CLF7", 60, "0.01"),
        ("GCG7", 4_000, "0.1"),
    ][rng.below(4) as usize];
    let price = Decimal::from(base + rng.below(200) as i64)
        + Decimal::from_str(tick).unwrap() * Decimal::from(rng.below(4));
    let quantity = 1 + rng.below(3);
    match rng.below(10) {
        0..=2 => format!(
            r#"{{"action":"buy","ticker":"{ticker}","quantity":{quantity},"price":"{price}","id":"s{i}"}}"#
        ),
        3..=5 => format!("SELL {quantity} {ticker} @ {price}"),
        6 => format!("close {ticker}"),
        7 => format!(r#"{{"action":"buy","ticker":"{ticker}","quantity":"{quantity}"}}"#),
        8 => {
            let target = rng.below(7) as i64 - 3;
            format!(
                r#"{{"action":"sell","ticker":"{ticker}","quantity":1,"price":{price},"position_size":{target}}}"#
            )
        }
        _ => format!(r#"{{"action":"close_long","ticker":"{ticker}","price":"{price}"}}"#),
    }
}

#[tokio::test]
async fn five_hundred_random_signals_across_recorders_equal_the_engine_replay() {
    let app = spawn_app().await;
    let user = app.create_user("quant@example.com").await;
    let mut recorders = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        let recorder = app.create_recorder(&user, name).await;
        let id = recorder["id"].as_str().unwrap().to_owned();
        // Plain-text bodies repeat; with the window off every one is a new signal.
        app.patch_recorder(&user, &id, json!({ "duplicate_window_secs": 0 }))
            .await;
        recorders.push((id, recorder["webhook_url"].as_str().unwrap().to_owned()));
    }

    // The test's own model: one engine book per recorder, last known price per root across
    // recorders (the SPEC's rule for alerts without a price).
    let mut books: Vec<Book> = (0..recorders.len()).map(|_| Book::new()).collect();
    let mut last_price: BTreeMap<Root, Decimal> = BTreeMap::new();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..500 {
        let r = rng.below(recorders.len() as u64) as usize;
        let body = random_alert(&mut rng, i);
        let alert = parse_alert(&body, &Limits::default()).unwrap();
        let ctx = ApplyContext {
            last_known_price: alert
                .price
                .is_none()
                .then(|| last_price.get(&alert.symbol.root).copied())
                .flatten(),
            ..ApplyContext::new(Utc::now())
        };
        let expected = books[r].apply(&alert, &ctx);
        let response = app.post_webhook(&recorders[r].1, &body).await;
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        match expected {
            Ok(applied) => {
                assert_eq!(status, 200, "{body}: {answer}");
                assert_eq!(
                    answer["position"]["quantity"], applied.position.quantity,
                    "{body}"
                );
                if let Some(price) = alert.price {
                    last_price.insert(alert.symbol.root, price);
                }
                accepted += 1;
            }
            Err(error) => {
                assert_eq!(status, 422, "{body}: {answer}");
                assert_eq!(answer["error"], error.to_string());
                rejected += 1;
            }
        }
    }
    assert!(
        accepted > 300 && rejected > 0,
        "the stream exercises both paths: {accepted}/{rejected}"
    );

    for ((id, _), book) in recorders.iter().zip(&books) {
        let positions = app
            .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
            .await;
        let positions = positions.as_array().unwrap();
        assert_eq!(positions.len(), book.positions.len());
        for stored in positions {
            let root: Root = stored["root"].as_str().unwrap().parse().unwrap();
            let expected = &book.positions[&root];
            assert_eq!(stored["quantity"], expected.quantity);
            assert_eq!(
                stored["avg_entry_price"],
                expected.avg_entry_price.normalize().to_string()
            );
            assert_eq!(
                stored["realized_pnl"],
                expected.realized_pnl.normalize().to_string()
            );
            assert_eq!(stored["signal_count"], expected.signal_count);
        }
        let trades = app
            .api_json(&user, &format!("/api/v1/recorders/{id}/trades?limit=500"))
            .await;
        assert_eq!(
            trades["trades"].as_array().unwrap().len(),
            book.trades.len()
        );

        let report = rebuild_recorder(&app.store, RecorderId::from_str(id).unwrap(), false)
            .await
            .unwrap();
        assert_eq!(report.differences, Vec::<String>::new());
        assert!(report.signals > 0);
    }
}

#[tokio::test]
async fn rebuild_reports_a_corrupted_position_and_fix_repairs_it() {
    let app = spawn_app().await;
    let user = app.create_user("quant@example.com").await;
    let recorder = app.create_recorder(&user, "alpha").await;
    let url = recorder["webhook_url"].as_str().unwrap();
    let id = RecorderId::from_str(recorder["id"].as_str().unwrap()).unwrap();
    for body in [
        "BUY 2 NQ1! @ 25600",
        "SELL 1 NQ1! @ 25650",
        "BUY 1 ES1! @ 6000",
    ] {
        assert_eq!(app.post_webhook(url, body).await.status(), 200);
    }
    assert!(
        rebuild_recorder(&app.store, id, false)
            .await
            .unwrap()
            .differences
            .is_empty()
    );

    let mut tx = app.store.tenant(user.id).await.unwrap();
    sqlx::query("update recorder_positions set engine_state = jsonb_set(engine_state, '{quantity}', '7'), quantity = 7 where root = 'NQ'")
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("delete from trades")
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let report = rebuild_recorder(&app.store, id, false).await.unwrap();
    assert_eq!(report.signals, 3);
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert!(
        report.differences[0].contains("NQ: stored quantity 7"),
        "{:?}",
        report.differences
    );
    assert!(!report.fixed);

    let fixed = rebuild_recorder(&app.store, id, true).await.unwrap();
    assert!(fixed.fixed);
    let after = rebuild_recorder(&app.store, id, false).await.unwrap();
    assert!(after.differences.is_empty(), "{:?}", after.differences);
    let positions = app
        .api_json(&user, &format!("/api/v1/recorders/{id}/positions"))
        .await;
    assert_eq!(positions[1]["root"], "NQ");
    assert_eq!(positions[1]["quantity"], 1);
    assert_eq!(positions[1]["realized_pnl"], "1000");
}
