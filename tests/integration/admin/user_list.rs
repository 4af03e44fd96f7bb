//! The users list over seeded data: keyset pages in every sort cover every user once, in
//! order; search; and the per-user totals the statement-level trigger keeps.

use std::collections::HashSet;

use jt_store::admin::user_list::{UserListQuery, UserListRow, UserSort, list_users};
use jt_store::admin::{fold_signal_deltas, user_detail};
use jt_store::testing::TestDb;
use jt_store::testing::seed::{Seed, seed_users_and_signals};
use jt_web::testing::{link_labelled, spawn_app, spawn_app_with_store};

use super::admin_browser;

/// Every page of the list in `sort`, following the cursors.
async fn all_pages(db: &TestDb, sort: UserSort, search: &str) -> Vec<UserListRow> {
    let mut rows = Vec::new();
    let mut query = UserListQuery {
        search: search.to_owned(),
        sort,
        after: None,
        limit: 7,
    };
    loop {
        let mut tx = db.store.admin("test").await.unwrap();
        let (page, next) = list_users(&mut tx, &query).await.unwrap();
        tx.commit().await.unwrap();
        assert!(page.len() <= 7);
        rows.extend(page);
        match next {
            Some(cursor) => query.after = Some(cursor),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_user_once_in_each_sort() {
    let db = TestDb::new().await;
    let seed = Seed {
        users: 40,
        signals: 1_000,
        batch: 300,
    };
    seed_users_and_signals(&db, seed).await;

    for sort in [UserSort::Created, UserSort::LastSignal, UserSort::Signals] {
        let rows = all_pages(&db, sort, "").await;
        assert_eq!(rows.len(), 40, "{sort:?}");
        let ids: HashSet<_> = rows.iter().map(|row| row.id).collect();
        assert_eq!(ids.len(), 40, "{sort:?}: no user twice");
        let in_order = rows.windows(2).all(|pair| match sort {
            UserSort::Created => pair[0].created_at >= pair[1].created_at,
            UserSort::LastSignal => pair[0].last_signal_at >= pair[1].last_signal_at,
            UserSort::Signals => pair[0].signals >= pair[1].signals,
        });
        assert!(in_order, "{sort:?}");
    }
    let by_signals = all_pages(&db, UserSort::Signals, "").await;
    assert_eq!(by_signals.iter().map(|row| row.signals).sum::<i64>(), 1_000);
    // 36 of 40 users got signals (1,000 over 36 recorders: 27 or 28 each); 4 got none.
    assert_eq!(by_signals[0].signals, 28);
    assert_eq!(by_signals.iter().filter(|row| row.signals == 0).count(), 4);
    let by_last = all_pages(&db, UserSort::LastSignal, "").await;
    assert!(by_last[..36].iter().all(|row| row.last_signal_at.is_some()));
    assert!(by_last[36..].iter().all(|row| row.last_signal_at.is_none()));

    // Search is a case-insensitive substring of the address.
    let found = all_pages(&db, UserSort::Created, "SEED3").await;
    let mut emails: Vec<_> = found.iter().map(|row| row.email.clone()).collect();
    let mut expected: Vec<_> = std::iter::once(3)
        .chain(30..40)
        .map(|n| format!("seed{n}@example.com"))
        .collect();
    emails.sort_unstable();
    expected.sort_unstable();
    assert_eq!(emails, expected);

    // Totals by status match the signal log.
    let mut tx = db.store.admin("test").await.unwrap();
    let totals = user_detail::signal_totals(&mut tx, by_signals[0].id)
        .await
        .unwrap();
    let rejected = user_detail::recent_rejected_signals(&mut tx, by_signals[0].id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(totals.signals, 28);
    assert_eq!(totals.accepted + totals.rejected, 28);
    assert_eq!(usize::try_from(totals.rejected).unwrap(), rejected.len());
    assert!(rejected.windows(2).all(|pair| pair[0].id > pair[1].id));
}

#[tokio::test]
async fn webhooks_of_a_user_are_counted_per_statement_and_shown_in_the_list() {
    let app = spawn_app().await;
    let trader = app.create_user("trader@example.com").await;
    let recorder = app.create_recorder(&trader, "one").await;
    let url = recorder["webhook_url"].as_str().unwrap().to_owned();
    for body in ["BUY 1 NQ1! @ 25600", "SELL 1 NQ1! @ 25610", "BUY 0 NQ1!"] {
        app.post_webhook(&url, body).await;
    }
    let mut tx = app.store.admin("test").await.unwrap();
    fold_signal_deltas(&mut tx).await.unwrap();
    let totals = user_detail::signal_totals(&mut tx, trader.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (totals.signals, totals.accepted, totals.rejected),
        (3, 2, 1)
    );
    assert!(totals.last_signal_at.is_some());

    let (_, admin) = admin_browser(&app, "ops@example.com").await;
    let html = admin.get("/admin?sort=signals").await.text().await.unwrap();
    let row = html
        .split("<tr>")
        .find(|row| row.contains("trader@example.com"))
        .expect("the trader's row");
    assert!(row.contains("<td class=\"num\">3</td>"), "{row}");
    // Folding twice does not count twice.
    let html = admin.get("/admin?sort=signals").await.text().await.unwrap();
    assert!(html.contains("<td class=\"num\">3</td>"));
}

#[tokio::test]
async fn the_console_pages_through_seeded_users_by_following_its_links() {
    let db = TestDb::new().await;
    seed_users_and_signals(
        &db,
        Seed {
            users: 120,
            signals: 500,
            batch: 500,
        },
    )
    .await;
    let app = spawn_app_with_store(db.store.clone()).await;
    let (_, admin) = admin_browser(&app, "ops@example.com").await;
    let mut path = "/admin?sort=last_signal".to_owned();
    let mut seen = HashSet::new();
    for _ in 0..10 {
        let html = admin.get(&path).await.text().await.unwrap();
        for part in html.split("href=\"/admin/users/").skip(1) {
            seen.insert(part.split('"').next().unwrap().to_owned());
        }
        let Some(next) = link_labelled(&html, "Next page") else {
            break;
        };
        path = next;
    }
    assert_eq!(seen.len(), 121, "120 seeded users and the admin, each once");
}
