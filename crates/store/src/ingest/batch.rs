//! One batch, one transaction: parse (no database), `ingest_prepare` (row locks, sequence
//! numbers, the facts the engine needs), decide in Rust per tenant group, `ingest_write`,
//! commit. Two round trips besides begin and commit, and the same few statements inside
//! them, however many signals and tenants the batch holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use jt_engine::{Limits, parse_alert};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use super::decide::{BatchFacts, Fate, GroupDecision, Parsed, SignalRef, Verdict, decide_group};
use super::order_intents::{OrderIntent, order_intents};
use super::records::{PositionRecord, SignalRecord, TradeRecord};
use super::{IngestError, IngestOutcome, Rejection, SignalArrival};
use crate::metric_names;
use crate::orders::EXECUTION_QUEUE;
use crate::recorders::MAX_DUPLICATE_WINDOW_SECS;
use crate::{RecorderId, Store, StoreError, UserId};

/// Each arrival's outcome, in the order given. `Err` only for a signal whose recorder is no
/// longer live (nothing stored); a failed batch is the outer `Err`.
pub(crate) type BatchResult = Result<Vec<Result<IngestOutcome, IngestError>>, StoreError>;

/// Records and applies `arrivals` in one transaction.
pub(crate) async fn run_batch(
    store: &Store,
    arrivals: &[&SignalArrival],
    limits: &Limits,
) -> BatchResult {
    let parsed: Vec<Parsed<'_>> = arrivals.iter().map(|a| parse(a, limits)).collect();
    // Groups by user, in user order; within a group, arrival order.
    let mut groups: BTreeMap<UserId, Vec<usize>> = BTreeMap::new();
    for (index, arrival) in arrivals.iter().enumerate() {
        groups.entry(arrival.user()).or_default().push(index);
    }
    let prepare = Prepare::new(&parsed);

    let mut clock = PhaseClock::start();
    let mut conn = store.unscoped_pool().acquire().await?;
    clock.lap("acquire");
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    clock.lap("begin");
    let Json(facts): Json<BatchFacts> = sqlx::query_scalar("select ingest_prepare($1)")
        .bind(Json(&prepare))
        .fetch_one(&mut *tx)
        .await?;
    clock.lap("prepare");
    let group_recorders: Vec<(UserId, Vec<RecorderId>)> = groups
        .iter()
        .map(|(user, indices)| {
            (
                *user,
                indices.iter().map(|&i| arrivals[i].recorder()).collect(),
            )
        })
        .collect();
    let mut decisions = Vec::with_capacity(groups.len());
    for (indices, facts) in groups.values().zip(facts.into_groups(&group_recorders)) {
        let signals: Vec<&Parsed<'_>> = indices.iter().map(|&i| &parsed[i]).collect();
        decisions.push(decide_group(&facts, &signals)?);
    }
    let write = Write::new(&prepare, &decisions);
    clock.lap("decide");
    // The orders of accepted signals commit with them (SPEC §8), in the same round trip.
    let Json(ids): Json<Vec<(RecorderId, i64, i64)>> =
        sqlx::query_scalar("select ingest_write($1, $2)")
            .bind(Json(&write))
            .bind(EXECUTION_QUEUE)
            .fetch_one(&mut *tx)
            .await?;
    clock.lap("write");
    let ids: HashMap<(RecorderId, i64), i64> =
        ids.into_iter().map(|(r, seq, id)| ((r, seq), id)).collect();
    tx.commit().await?;
    clock.lap("commit");

    let mut outcomes: Vec<Option<Result<IngestOutcome, IngestError>>> =
        arrivals.iter().map(|_| None).collect();
    for (indices, decision) in groups.values().zip(decisions) {
        for (&index, verdict) in indices.iter().zip(decision.verdicts) {
            outcomes[index] = Some(outcome(verdict, arrivals[index].recorder(), &ids));
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Err(IngestError::UnknownRecorder)))
        .collect())
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

fn parse<'a>(arrival: &'a SignalArrival, limits: &Limits) -> Parsed<'a> {
    Parsed {
        arrival,
        alert: parse_alert(&arrival.body, limits).map_err(|e| Rejection::of_alert(&e)),
        body_sha256: Sha256::digest(&arrival.body).to_vec(),
        kept: &arrival.body[..arrival.body.len().min(limits.max_body_bytes)],
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
            // ingest_write returns every row it inserted: this is a bug, not bad input.
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

/// What `ingest_prepare` needs for a batch.
#[derive(Debug, Serialize)]
struct Prepare {
    recorders: Vec<WantedRecorder>,
    positions: BTreeSet<WantedRoot>,
    client_ids: BTreeSet<WantedClientId>,
    bodies: Vec<WantedBody>,
    /// Roots of signals without a price: their user's last known price is read.
    roots: BTreeSet<WantedRoot>,
}

/// A recorder to lock, with the token hash its signals arrived on and how many there are.
#[derive(Debug, Serialize)]
struct WantedRecorder {
    id: RecorderId,
    n: i64,
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

impl Prepare {
    fn new(signals: &[Parsed<'_>]) -> Self {
        let mut recorders: BTreeMap<(RecorderId, &[u8]), i64> = BTreeMap::new();
        let mut prepare = Self {
            recorders: Vec::new(),
            positions: BTreeSet::new(),
            client_ids: BTreeSet::new(),
            bodies: Vec::new(),
            roots: BTreeSet::new(),
        };
        let mut bodies = BTreeMap::new();
        for parsed in signals {
            let recorder = parsed.arrival.recorder();
            *recorders
                .entry((recorder, &parsed.arrival.target.token_hash))
                .or_default() += 1;
            let Ok(alert) = &parsed.alert else { continue };
            let wanted = WantedRoot {
                recorder_id: recorder,
                root: alert.symbol.root.to_string(),
            };
            match &alert.id {
                Some(id) => {
                    prepare.client_ids.insert(WantedClientId {
                        recorder_id: recorder,
                        client_signal_id: id.clone(),
                    });
                }
                None => {
                    // The recorder's window is read under the lock; ask for the longest.
                    let since = parsed.arrival.received_at
                        - Duration::seconds(i64::from(MAX_DUPLICATE_WINDOW_SECS));
                    let earliest = bodies
                        .entry((recorder, hex::encode(&parsed.body_sha256)))
                        .or_insert(since);
                    *earliest = since.min(*earliest);
                }
            }
            if alert.price.is_none() {
                prepare.roots.insert(WantedRoot {
                    recorder_id: recorder,
                    root: wanted.root.clone(),
                });
            }
            prepare.positions.insert(wanted);
        }
        // Sorted by recorder id: the lock order (see the migration).
        prepare.recorders = recorders
            .into_iter()
            .map(|((id, hash), n)| WantedRecorder {
                id,
                n,
                token_hash: hex::encode(hash),
            })
            .collect();
        prepare.bodies = bodies
            .into_iter()
            .map(|((recorder_id, body_sha256), since)| WantedBody {
                recorder_id,
                body_sha256,
                since,
            })
            .collect();
        prepare
    }
}

/// What `ingest_write` writes for a batch.
#[derive(Debug, Serialize)]
struct Write<'a> {
    /// The recorders written to, with the token hash that proves each (as locked).
    recorders: Vec<ProvenRecorder<'a>>,
    signals: Vec<&'a SignalRecord>,
    positions: Vec<PositionRecord<'a>>,
    trades: Vec<TradeRecord<'a>>,
    intents: Vec<OrderIntent>,
}

#[derive(Debug, Serialize)]
struct ProvenRecorder<'a> {
    id: RecorderId,
    token_hash: &'a str,
}

impl<'a> Write<'a> {
    fn new(prepare: &'a Prepare, decisions: &'a [GroupDecision]) -> Self {
        Self {
            recorders: prepare
                .recorders
                .iter()
                .map(|r| ProvenRecorder {
                    id: r.id,
                    token_hash: &r.token_hash,
                })
                .collect(),
            signals: decisions.iter().flat_map(|d| &d.signals).collect(),
            positions: decisions
                .iter()
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
            trades: decisions
                .iter()
                .flat_map(|d| &d.trades)
                .map(|(recorder, seq, trade)| TradeRecord::new(*recorder, *seq, trade))
                .collect(),
            intents: decisions.iter().flat_map(order_intents).collect(),
        }
    }
}
