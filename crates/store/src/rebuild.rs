//! Rebuild (SPEC §7): replay every accepted signal of a recorder through the engine, with the
//! settings each was applied with, and prove the stored positions and trades equal the replay
//! (or rewrite them with `fix`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jt_engine::{Book, Limits, Position, Root, Trade, parse_alert};
use rust_decimal::Decimal;
use sqlx::types::Json;

use crate::apply_settings::{ApplySettings, price_source_text};
use crate::ingest::records::{PositionRecord, TradeRecord};
use crate::{RecorderId, Store, StoreError, TenantTx, UserId};

/// What a rebuild found (and did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// Accepted signals replayed.
    pub signals: usize,
    /// Every difference between stored state and replay, in words; empty = consistent.
    pub differences: Vec<String>,
    /// True when the stored state was rewritten from the replay.
    pub fixed: bool,
}

#[derive(sqlx::FromRow)]
struct StoredSignal {
    seq: i64,
    received_at: DateTime<Utc>,
    raw_body: Vec<u8>,
    #[sqlx(flatten)]
    settings: ApplySettings,
    price_used: Option<Decimal>,
    price_source: Option<String>,
}

/// The replayed state plus what the position rows need besides the engine position: the
/// sequence number of each root's last signal, and when it last had a signal price.
struct Replay {
    book: Book,
    trades: Vec<(i64, Trade)>,
    last_signal: BTreeMap<Root, (i64, Option<DateTime<Utc>>)>,
}

/// The owner of a recorder (operator path: the CLI knows only the recorder id).
pub async fn recorder_owner(store: &Store, recorder: RecorderId) -> Result<UserId, StoreError> {
    let mut tx = store.admin("rebuild").await?;
    let owner = sqlx::query_scalar("select user_id from recorders where id = $1")
        .bind(recorder)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("recorder"))?;
    tx.commit().await?;
    Ok(owner)
}

/// Replays the recorder and compares; with `fix`, rewrites positions and trades from the
/// replay. Holds the recorder's row lock, so no signal is ingested meanwhile.
pub async fn rebuild_recorder(
    store: &Store,
    recorder: RecorderId,
    fix: bool,
) -> Result<RebuildReport, StoreError> {
    let user = recorder_owner(store, recorder).await?;
    let mut tx = store.tenant(user).await?;
    sqlx::query("select id from recorders where id = $1 for update")
        .bind(recorder)
        .execute(tx.conn())
        .await?;
    let signals: Vec<StoredSignal> = sqlx::query_as(
        "select seq, received_at, raw_body, coalesce(default_quantity, 1) as default_quantity,
                coalesce(commission_per_contract, 0) as commission_per_contract,
                contract_override, price_used, price_source
         from recorded_signals where recorder_id = $1 and status = 'accepted' order by seq",
    )
    .bind(recorder)
    .fetch_all(tx.conn())
    .await?;
    let mut differences = Vec::new();
    let replay = replay(&signals, &mut differences);
    compare(&mut tx, recorder, &replay, &mut differences).await?;
    let fixed = fix && !differences.is_empty();
    if fixed {
        rewrite(&mut tx, recorder, &replay).await?;
    }
    tx.commit().await?;
    Ok(RebuildReport {
        signals: signals.len(),
        differences,
        fixed,
    })
}

fn replay(signals: &[StoredSignal], differences: &mut Vec<String>) -> Replay {
    let mut replay = Replay {
        book: Book::new(),
        trades: Vec::new(),
        last_signal: BTreeMap::new(),
    };
    for signal in signals {
        let alert = match parse_alert(&signal.raw_body, &Limits::default()) {
            Ok(alert) => alert,
            Err(error) => {
                differences.push(format!("signal #{} no longer parses: {error}", signal.seq));
                continue;
            }
        };
        let root = alert.symbol.root;
        // The price that was used when the alert had none.
        let last_known = signal
            .price_source
            .as_deref()
            .filter(|s| *s == price_source_text(jt_engine::PriceSource::LastKnown))
            .and(signal.price_used);
        let ctx = signal
            .settings
            .apply_context(root, signal.received_at, last_known);
        match replay.book.apply(&alert, &ctx) {
            Ok(applied) => {
                let priced = (applied.price_source == jt_engine::PriceSource::Signal)
                    .then_some(signal.received_at);
                let entry = replay.last_signal.entry(root).or_insert((signal.seq, None));
                *entry = (signal.seq, priced.or(entry.1));
                replay
                    .trades
                    .extend(applied.closed_trade.into_iter().map(|t| (signal.seq, t)));
            }
            Err(error) => {
                differences.push(format!("signal #{} no longer applies: {error}", signal.seq));
            }
        }
    }
    replay
}

async fn compare(
    tx: &mut TenantTx,
    recorder: RecorderId,
    replay: &Replay,
    differences: &mut Vec<String>,
) -> Result<(), StoreError> {
    let stored: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select root, engine_state from recorder_positions where recorder_id = $1 order by root",
    )
    .bind(recorder)
    .fetch_all(tx.conn())
    .await?;
    let mut stored_roots = Vec::new();
    for (root, state) in stored {
        let position: Position = serde_json::from_value(state)
            .map_err(|e| StoreError::Corrupt(format!("position {root}: {e}")))?;
        match replay.book.positions.get(&position.root) {
            Some(expected) if *expected == position => {}
            Some(expected) => differences.push(describe(&root, &position, expected)),
            None => differences.push(format!("{root}: stored position has no accepted signal")),
        }
        stored_roots.push(position.root);
    }
    for root in replay.book.positions.keys() {
        if !stored_roots.contains(root) {
            differences.push(format!("{root}: position missing from the store"));
        }
    }
    let stored_trades = crate::state::all_trades(tx, recorder).await?;
    let replayed: Vec<&Trade> = replay.trades.iter().map(|(_, t)| t).collect();
    if stored_trades.len() != replayed.len() {
        differences.push(format!(
            "trades: {} stored, {} replayed",
            stored_trades.len(),
            replayed.len()
        ));
    } else if let Some(i) = stored_trades
        .iter()
        .zip(&replayed)
        .position(|(a, b)| a != *b)
    {
        differences.push(format!(
            "trade {} of {} differs from the replay",
            i + 1,
            replayed.len()
        ));
    }
    Ok(())
}

fn describe(root: &str, stored: &Position, expected: &Position) -> String {
    format!(
        "{root}: stored quantity {} avg {} realized {} signals {}; replay gives quantity {} avg {} realized {} signals {}",
        stored.quantity,
        stored.avg_entry_price.normalize(),
        stored.realized_pnl.normalize(),
        stored.signal_count,
        expected.quantity,
        expected.avg_entry_price.normalize(),
        expected.realized_pnl.normalize(),
        expected.signal_count,
    )
}

async fn rewrite(
    tx: &mut TenantTx,
    recorder: RecorderId,
    replay: &Replay,
) -> Result<(), StoreError> {
    // A new version of the recorder's row: ingest in every process then knows the facts it
    // remembers of this recorder are stale (see the migration ingest_cached_facts).
    sqlx::query("update recorders set last_seq = last_seq where id = $1")
        .bind(recorder)
        .execute(tx.conn())
        .await?;
    for table in ["recorder_positions", "trades"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "delete from {table} where recorder_id = $1"
        )))
        .bind(recorder)
        .execute(tx.conn())
        .await?;
    }
    let positions: Vec<PositionRecord<'_>> = replay
        .book
        .positions
        .iter()
        .filter_map(|(root, position)| {
            let (seq, priced_at) = replay.last_signal.get(root)?;
            Some(PositionRecord::new(recorder, position, *seq, *priced_at))
        })
        .collect();
    let trades: Vec<TradeRecord<'_>> = replay
        .trades
        .iter()
        .map(|(seq, trade)| TradeRecord::new(recorder, *seq, trade))
        .collect();
    let user = tx.user_id();
    sqlx::query("select write_positions($1, $2), write_trades($1, $3)")
        .bind(user)
        .bind(Json(&positions))
        .bind(Json(&trades))
        .execute(tx.conn())
        .await?;
    Ok(())
}
