//! One batch: parse (no database), decide per tenant group, write. Two ways to write:
//!
//! - **From remembered facts** (the facts cache): decide at once, then one autocommit call
//!   of `ingest_apply`, which writes every group whose facts are still current and names
//!   the others. One round trip.
//! - **Under the row locks**: begin, `ingest_facts` (locks and reads), decide,
//!   `ingest_apply` ("fresh"), commit. All or nothing; four round trips.
//!
//! The same few statements, however many signals and tenants a batch holds.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use jt_engine::{Limits, parse_alert};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use super::decide::{
    BatchFacts, Fate, GroupDecision, GroupFacts, Parsed, SignalRef, Verdict, decide_group,
};
use super::facts_cache::FactsCache;
use super::order_intents::{OrderIntent, order_intents};
use super::records::{PositionRecord, SignalRecord, TradeRecord};
use super::{IngestError, IngestOutcome, Rejection, SignalArrival};
use crate::metric_names;
use crate::orders::EXECUTION_QUEUE;
use crate::recorders::MAX_DUPLICATE_WINDOW_SECS;
use crate::{RecorderId, Store, StoreError, UserId};

/// A signal's outcome. `Err` only for a signal whose recorder is no longer live (nothing
/// stored).
pub(crate) type Outcome = Result<IngestOutcome, IngestError>;

/// Parses a signal (no database).
pub(crate) fn parse<'a>(arrival: &'a SignalArrival, limits: &Limits) -> Parsed<'a> {
    Parsed {
        arrival,
        alert: parse_alert(&arrival.body, limits).map_err(|e| Rejection::of_alert(&e)),
        body_sha256: Sha256::digest(&arrival.body).to_vec(),
        kept: &arrival.body[..arrival.body.len().min(limits.max_body_bytes)],
    }
}

/// Writes the tenant groups whose facts `cache` remembers, in one round trip. Each signal's
/// outcome if its group was written; `None` if it must be written under the row locks
/// (its facts were not remembered, or are no longer current).
pub(crate) async fn write_remembered(
    store: &Store,
    cache: &FactsCache,
    signals: &[&Parsed<'_>],
) -> Result<Vec<Option<Outcome>>, StoreError> {
    let mut outcomes: Vec<Option<Outcome>> = signals.iter().map(|_| None).collect();
    let groups: Vec<(Vec<usize>, GroupFacts)> = groups_of(signals)
        .into_iter()
        .filter_map(|(user, indices)| {
            let members: Vec<&Parsed<'_>> = indices.iter().map(|&i| signals[i]).collect();
            Some((indices, cache.group_facts(user, &members)?))
        })
        .collect();
    if groups.is_empty() {
        return Ok(outcomes);
    }
    let mut clock = PhaseClock::start();
    let decided = Decided::new(signals, groups);
    let apply = Apply::new(false, signals, &decided);
    clock.lap("decide");
    let mut conn = store.unscoped_pool().acquire().await?;
    clock.lap("acquire");
    // No transaction around it: the one statement commits on its own, before it answers.
    let applied = call_apply(&mut conn, &apply).await?;
    clock.lap("apply");
    drop(conn);
    let stale: HashSet<UserId> = applied.conflicts.iter().copied().collect();
    if !stale.is_empty() {
        metrics::counter!(metric_names::INGEST_STALE_GROUPS_TOTAL).increment(stale.len() as u64);
    }
    decided.finish(signals, cache, &applied, &stale, &mut outcomes);
    Ok(outcomes)
}

/// One call of `ingest_apply`. The orders of accepted signals commit with their signals
/// (SPEC §8), in the same round trip.
async fn call_apply(
    conn: &mut sqlx::PgConnection,
    apply: &Apply<'_>,
) -> Result<Applied, sqlx::Error> {
    let Json(applied) = sqlx::query_scalar("select ingest_apply($1, $2)")
        .bind(Json(apply))
        .bind(EXECUTION_QUEUE)
        .fetch_one(conn)
        .await?;
    Ok(applied)
}

/// Reads the facts under the recorders' row locks, decides, writes and commits `signals`:
/// all or nothing.
pub(crate) async fn write_locked(
    store: &Store,
    cache: &FactsCache,
    signals: &[&Parsed<'_>],
) -> Result<Vec<Outcome>, StoreError> {
    let groups = groups_of(signals);
    let request = FactsRequest::new(signals);

    let mut clock = PhaseClock::start();
    let mut conn = store.unscoped_pool().acquire().await?;
    clock.lap("acquire");
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    clock.lap("begin");
    let Json(facts): Json<BatchFacts> = sqlx::query_scalar("select ingest_facts($1)")
        .bind(Json(&request))
        .fetch_one(&mut *tx)
        .await?;
    clock.lap("facts");
    let group_recorders: Vec<(UserId, Vec<RecorderId>)> = groups
        .iter()
        .map(|(user, indices)| {
            (
                *user,
                indices
                    .iter()
                    .map(|&i| signals[i].arrival.recorder())
                    .collect(),
            )
        })
        .collect();
    let facts = facts.into_groups(&group_recorders)?;
    let decided = Decided::new(signals, groups.into_values().zip(facts).collect());
    let apply = Apply::new(true, signals, &decided);
    clock.lap("decide");
    let applied = call_apply(&mut tx, &apply).await?;
    clock.lap("write");
    tx.commit().await?;
    clock.lap("commit");

    // Fresh facts cannot be stale: ingest_apply refuses the whole call (40001) instead.
    let mut outcomes: Vec<Option<Outcome>> = signals.iter().map(|_| None).collect();
    decided.finish(signals, cache, &applied, &HashSet::new(), &mut outcomes);
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Err(IngestError::UnknownRecorder)))
        .collect())
}

/// The tenant groups of `signals`: by user, in user order; within a group, arrival order.
fn groups_of(signals: &[&Parsed<'_>]) -> BTreeMap<UserId, Vec<usize>> {
    let mut groups: BTreeMap<UserId, Vec<usize>> = BTreeMap::new();
    for (index, parsed) in signals.iter().enumerate() {
        groups.entry(parsed.arrival.user()).or_default().push(index);
    }
    groups
}

/// Each group's signals (indices into the batch), facts and decision.
struct Decided {
    groups: Vec<(Vec<usize>, GroupFacts)>,
    decisions: Vec<GroupDecision>,
}

impl Decided {
    fn new(signals: &[&Parsed<'_>], groups: Vec<(Vec<usize>, GroupFacts)>) -> Self {
        let decisions = groups
            .iter()
            .map(|(indices, facts)| {
                let members: Vec<&Parsed<'_>> = indices.iter().map(|&i| signals[i]).collect();
                decide_group(facts, &members)
            })
            .collect();
        Self { groups, decisions }
    }

    /// After the write committed: each written group's outcomes, and its facts remembered
    /// for the next batch; groups in `stale` were not written and are forgotten.
    fn finish(
        self,
        signals: &[&Parsed<'_>],
        cache: &FactsCache,
        applied: &Applied,
        stale: &HashSet<UserId>,
        outcomes: &mut [Option<Outcome>],
    ) {
        let ids: HashMap<(RecorderId, i64), i64> = applied
            .ids
            .iter()
            .map(|&(recorder, seq, id)| ((recorder, seq), id))
            .collect();
        let versions: HashMap<RecorderId, String> = applied.versions.iter().cloned().collect();
        for ((indices, facts), decision) in self.groups.into_iter().zip(self.decisions) {
            if stale.contains(&facts.user) {
                cache.forget(facts.recorders.iter().map(|r| r.id));
                continue;
            }
            cache.remember(&facts, &decision, &versions);
            for (index, verdict) in indices.into_iter().zip(decision.verdicts) {
                let recorder = signals[index].arrival.recorder();
                outcomes[index] = Some(outcome(verdict, recorder, &ids));
            }
        }
    }
}

/// Times the phases of a batch (`jt_ingest_phase_seconds{phase}`), to see where a
/// batch's time goes.
struct PhaseClock(std::time::Instant);

impl PhaseClock {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn lap(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        metrics::histogram!(metric_names::INGEST_PHASE_SECONDS, "phase" => phase)
            .record(now.duration_since(self.0).as_secs_f64());
        self.0 = now;
    }
}

fn outcome(
    verdict: Verdict,
    recorder: RecorderId,
    ids: &HashMap<(RecorderId, i64), i64>,
) -> Result<IngestOutcome, IngestError> {
    let Verdict::Stored { seq, fate } = verdict else {
        return Err(IngestError::UnknownRecorder);
    };
    let id_of = |signal: SignalRef| match signal {
        SignalRef::Stored(id) => Ok(id),
        SignalRef::InBatch(recorder, seq) => ids.get(&(recorder, seq)).copied().ok_or_else(|| {
            // ingest_apply returns every row it inserted: this is a bug, not bad input.
            tracing::error!(%recorder, seq, "a committed signal's id is missing");
            IngestError::Failed
        }),
    };
    let signal_id = id_of(SignalRef::InBatch(recorder, seq))?;
    Ok(match fate {
        Fate::Accepted {
            position,
            delta,
            price,
        } => IngestOutcome::Accepted {
            signal_id,
            position,
            delta,
            price,
        },
        Fate::Duplicate(original) => IngestOutcome::Duplicate {
            signal_id,
            original_signal_id: id_of(original)?,
        },
        Fate::Ignored => IngestOutcome::Ignored { signal_id },
        Fate::Rejected(rejection) => IngestOutcome::Rejected {
            signal_id,
            rejection,
        },
    })
}

/// What `ingest_facts` reads for a batch.
#[derive(Debug, Serialize)]
struct FactsRequest {
    recorders: Vec<PresentedRecorder>,
    client_ids: BTreeSet<WantedClientId>,
    bodies: Vec<WantedBody>,
    /// Roots of signals without a price: their user's last known price is read.
    roots: BTreeSet<WantedRoot>,
}

/// A recorder, with the token hash its signals arrived on.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct PresentedRecorder {
    id: RecorderId,
    token_hash: String,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct WantedRoot {
    recorder_id: RecorderId,
    root: String,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct WantedClientId {
    recorder_id: RecorderId,
    client_signal_id: String,
}

#[derive(Debug, Serialize)]
struct WantedBody {
    recorder_id: RecorderId,
    body_sha256: String,
    since: DateTime<Utc>,
}

impl FactsRequest {
    fn new(signals: &[&Parsed<'_>]) -> Self {
        // The recorder's window is read under the lock; ask for the longest.
        let window = |_: RecorderId| Some(MAX_DUPLICATE_WINDOW_SECS);
        Self {
            // Sorted by recorder id: the lock order (see the migration).
            recorders: signals
                .iter()
                .map(|p| PresentedRecorder {
                    id: p.arrival.recorder(),
                    token_hash: hex::encode(&p.arrival.target.token_hash),
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            client_ids: client_ids(signals),
            bodies: bodies(signals, window),
            roots: signals
                .iter()
                .filter_map(|p| Some((p.arrival.recorder(), p.alert.as_ref().ok()?)))
                .filter(|(_, alert)| alert.price.is_none())
                .map(|(recorder_id, alert)| WantedRoot {
                    recorder_id,
                    root: alert.symbol.root.to_string(),
                })
                .collect(),
        }
    }
}

/// Every `id` the signals carry, by recorder.
fn client_ids(signals: &[&Parsed<'_>]) -> BTreeSet<WantedClientId> {
    signals
        .iter()
        .filter_map(|p| {
            Some(WantedClientId {
                recorder_id: p.arrival.recorder(),
                client_signal_id: p.alert.as_ref().ok()?.id.clone()?,
            })
        })
        .collect()
}

/// The bodies of signals without an `id`, each with the earliest start of the duplicate
/// window of its signals (`window` gives a recorder's, `None` for none).
fn bodies(signals: &[&Parsed<'_>], window: impl Fn(RecorderId) -> Option<i32>) -> Vec<WantedBody> {
    let mut bodies: BTreeMap<(RecorderId, String), DateTime<Utc>> = BTreeMap::new();
    for parsed in signals {
        let recorder = parsed.arrival.recorder();
        let Ok(alert) = &parsed.alert else { continue };
        let Some(secs) = window(recorder).filter(|_| alert.id.is_none()) else {
            continue;
        };
        let since = parsed.arrival.received_at - Duration::seconds(i64::from(secs));
        let earliest = bodies
            .entry((recorder, hex::encode(&parsed.body_sha256)))
            .or_insert(since);
        *earliest = since.min(*earliest);
    }
    bodies
        .into_iter()
        .map(|((recorder_id, body_sha256), since)| WantedBody {
            recorder_id,
            body_sha256,
            since,
        })
        .collect()
}

/// What `ingest_apply` checks and writes for a batch.
#[derive(Debug, Serialize)]
struct Apply<'a> {
    /// The facts were read under the locks, in this transaction: nothing to check.
    fresh: bool,
    /// The recorders written to, with the token hash that proves each and the version the
    /// facts are of.
    recorders: Vec<ApplyRecorder<'a>>,
    /// Remembered facts only: the users they say are active, the ids and bodies they say
    /// no accepted signal has, and the last known prices they used.
    users: Vec<UserId>,
    client_ids: BTreeSet<WantedClientId>,
    bodies: Vec<WantedBody>,
    prices: Vec<PredictedPrice<'a>>,
    signals: Vec<&'a SignalRecord>,
    positions: Vec<PositionRecord<'a>>,
    trades: Vec<TradeRecord<'a>>,
    intents: Vec<OrderIntent>,
}

#[derive(Debug, Serialize)]
struct ApplyRecorder<'a> {
    id: RecorderId,
    user_id: UserId,
    token_hash: &'a str,
    version: &'a str,
    /// Signals stored for it: its sequence moves on by this many.
    n: usize,
}

#[derive(Debug, Serialize)]
struct PredictedPrice<'a> {
    user_id: UserId,
    root: &'a str,
    price: Option<rust_decimal::Decimal>,
}

/// What `ingest_apply` answers.
#[derive(Debug, Deserialize)]
struct Applied {
    /// (recorder, seq, id) of every signal written.
    ids: Vec<(RecorderId, i64, i64)>,
    /// Each recorder's row version after the write.
    versions: Vec<(RecorderId, String)>,
    /// Users whose group was not written: its facts are no longer current.
    conflicts: Vec<UserId>,
}

impl<'a> Apply<'a> {
    fn new(fresh: bool, signals: &[&Parsed<'_>], decided: &'a Decided) -> Self {
        let facts = || decided.groups.iter().map(|(_, facts)| facts);
        let decisions = || decided.decisions.iter();
        let recorders = facts()
            .zip(decisions())
            .flat_map(|(facts, decision)| {
                facts.recorders.iter().filter_map(|r| {
                    let n = decision
                        .signals
                        .iter()
                        .filter(|s| s.recorder_id == r.id)
                        .count();
                    (n > 0).then_some(ApplyRecorder {
                        id: r.id,
                        user_id: r.user_id,
                        token_hash: &r.token_hash,
                        version: &r.version,
                        n,
                    })
                })
            })
            .collect();
        let (users, client_ids, bodies, prices) = if fresh {
            Default::default()
        } else {
            let signals: Vec<&Parsed<'_>> = decided
                .groups
                .iter()
                .flat_map(|(indices, _)| indices.iter().map(|&i| signals[i]))
                .collect();
            let windows: HashMap<RecorderId, i32> = facts()
                .flat_map(|f| &f.recorders)
                .filter(|r| r.duplicate_window_secs > 0)
                .map(|r| (r.id, r.duplicate_window_secs))
                .collect();
            (
                facts().map(|f| f.user).collect(),
                client_ids(&signals),
                bodies(&signals, |r| windows.get(&r).copied()),
                facts()
                    .flat_map(|f| {
                        f.prices.iter().map(|(root, price)| PredictedPrice {
                            user_id: f.user,
                            root,
                            price: *price,
                        })
                    })
                    .collect(),
            )
        };
        Self {
            fresh,
            recorders,
            users,
            client_ids,
            bodies,
            prices,
            signals: decisions().flat_map(|d| &d.signals).collect(),
            positions: decisions()
                .flat_map(|d| &d.positions)
                .map(|((recorder, _), touched)| {
                    PositionRecord::new(
                        *recorder,
                        &touched.position,
                        touched.last_signal_seq,
                        touched.price_at,
                    )
                })
                .collect(),
            trades: decisions()
                .flat_map(|d| &d.trades)
                .map(|(recorder, seq, trade)| TradeRecord::new(*recorder, *seq, trade))
                .collect(),
            intents: decisions().flat_map(order_intents).collect(),
        }
    }
}
