//! Deciding the signals of one tenant group, purely: the facts (read under the row locks,
//! or remembered from the last batch) go in; the rows to write and each signal's outcome
//! come out. No database, no clock.
//!
//! Signals of the same recorder (and the same user) in one batch see each other exactly as
//! if they had been applied one transaction each: positions, last known prices, duplicate
//! ids and bodies are carried from one signal to the next in memory.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use jt_engine::{Alert, Fills, PriceSource, Root, Trade, apply};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::records::{AlertFields, AppliedFields, SignalRecord};
use super::{MAX_CONTENT_TYPE_CHARS, Rejection, SignalArrival};
use crate::apply_settings::ApplySettings;
use crate::recorders::RecorderStatus;
use crate::signal_log::SignalStatus;
use crate::users::UserStatus;
use crate::{RecorderId, StoreError, UserId};

/// A signal parsed before the transaction (parsing needs no database).
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub arrival: &'a SignalArrival,
    pub alert: Result<Alert, Rejection>,
    pub body_sha256: Vec<u8>,
    /// The part of the body that is stored (at most the size limit).
    pub kept: &'a [u8],
}

/// What `ingest_facts` read for a whole batch, under the recorders' row locks.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchFacts {
    recorders: Vec<LockedRecorder>,
    users: Vec<UserFacts>,
    positions: Vec<PositionRow>,
    dup_ids: Vec<DuplicateId>,
    dup_bodies: Vec<DuplicateBody>,
    prices: Vec<LastPrice>,
}

/// A stored position as `ingest_facts` returns it.
#[derive(Debug, Deserialize)]
struct PositionRow {
    recorder_id: RecorderId,
    state: serde_json::Value,
    last_price_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct UserFacts {
    id: UserId,
    status: UserStatus,
}

#[derive(Debug, Deserialize)]
struct LastPrice {
    user_id: UserId,
    root: String,
    price: Option<Decimal>,
}

impl BatchFacts {
    /// The facts of each tenant group: `groups` names each group's user and the recorders
    /// its signals arrived for. Everything but a user's status and prices is keyed by
    /// recorder, and a recorder belongs to one group.
    pub(crate) fn into_groups(
        self,
        groups: &[(UserId, Vec<RecorderId>)],
    ) -> Result<Vec<GroupFacts>, StoreError> {
        let group_of: HashMap<RecorderId, usize> = groups
            .iter()
            .enumerate()
            .flat_map(|(index, (_, recorders))| recorders.iter().map(move |r| (*r, index)))
            .collect();
        let n = groups.len();
        let positions = self
            .positions
            .into_iter()
            .map(StoredPosition::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let mut recorders = by_group(self.recorders, |r| r.id, &group_of, n);
        let mut positions = by_group(positions, |p| p.recorder_id, &group_of, n);
        let mut dup_ids = by_group(self.dup_ids, |d| d.recorder_id, &group_of, n);
        let mut dup_bodies = by_group(self.dup_bodies, |d| d.recorder_id, &group_of, n);
        Ok(groups
            .iter()
            .enumerate()
            .map(|(index, (user, _))| GroupFacts {
                user: *user,
                user_status: self.users.iter().find(|u| u.id == *user).map(|u| u.status),
                recorders: std::mem::take(&mut recorders[index]),
                positions: std::mem::take(&mut positions[index]),
                dup_ids: std::mem::take(&mut dup_ids[index]),
                dup_bodies: std::mem::take(&mut dup_bodies[index]),
                prices: self
                    .prices
                    .iter()
                    .filter(|p| p.user_id == *user)
                    .map(|p| (p.root.clone(), p.price))
                    .collect(),
            })
            .collect())
    }
}

/// `items` sorted into `groups` lists by their recorder's group (items of recorders no
/// group asked for are dropped).
fn by_group<T>(
    items: Vec<T>,
    recorder: impl Fn(&T) -> RecorderId,
    group_of: &HashMap<RecorderId, usize>,
    groups: usize,
) -> Vec<Vec<T>> {
    let mut grouped: Vec<Vec<T>> = std::iter::repeat_with(Vec::new).take(groups).collect();
    for item in items {
        if let Some(&group) = group_of.get(&recorder(&item)) {
            grouped[group].push(item);
        }
    }
    grouped
}

/// The part of a batch's facts one tenant group's signals need: read under the row locks
/// (`ingest_facts`), or remembered from the group's last batch (the facts cache), in which
/// case `ingest_apply` checks they are still current before it writes anything.
#[derive(Debug)]
pub(crate) struct GroupFacts {
    pub(super) user: UserId,
    pub(super) user_status: Option<UserStatus>,
    /// The group's live recorders (whose token matched).
    pub(super) recorders: Vec<LockedRecorder>,
    /// Every stored position of those recorders.
    pub(super) positions: Vec<StoredPosition>,
    /// Accepted signals with an `id` or body of the batch (remembered facts have none:
    /// `ingest_apply` checks there are none).
    pub(super) dup_ids: Vec<DuplicateId>,
    pub(super) dup_bodies: Vec<DuplicateBody>,
    /// The user's last known price of each root a signal without a price needs.
    pub(super) prices: HashMap<String, Option<Decimal>>,
}

/// A recorder as its row stood when the facts were read.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LockedRecorder {
    pub(super) id: RecorderId,
    pub(super) user_id: UserId,
    pub(super) status: RecorderStatus,
    pub(super) duplicate_window_secs: i32,
    /// The sequence number of its next signal.
    pub(super) first_seq: i64,
    /// The row's version (xmin): `ingest_apply` writes only if it is unchanged.
    pub(super) version: String,
    /// Hex SHA-256 of the webhook token the facts were read for.
    pub(super) token_hash: String,
    #[serde(flatten)]
    pub(super) settings: ApplySettings,
}

/// A stored position of a recorder, and when a signal last set its price.
#[derive(Debug, Clone)]
pub(crate) struct StoredPosition {
    pub(super) recorder_id: RecorderId,
    pub(super) position: jt_engine::Position,
    pub(super) last_price_at: Option<DateTime<Utc>>,
}

impl StoredPosition {
    fn parse(row: PositionRow) -> Result<Self, StoreError> {
        let position = serde_json::from_value(row.state)
            .map_err(|e| StoreError::Corrupt(format!("position of {}: {e}", row.recorder_id)))?;
        Ok(Self {
            recorder_id: row.recorder_id,
            position,
            last_price_at: row.last_price_at,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DuplicateId {
    recorder_id: RecorderId,
    client_signal_id: String,
    id: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DuplicateBody {
    recorder_id: RecorderId,
    body_sha256: String,
    id: i64,
    received_at: DateTime<Utc>,
}

/// A stored signal, before its id is known: by id (committed earlier) or by its place in
/// this batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalRef {
    Stored(i64),
    InBatch(RecorderId, i64),
}

/// The fate of one signal, before the write gives it an id.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The token no longer matches a live recorder: nothing is stored.
    UnknownRecorder,
    /// Stored under (recorder, seq).
    Stored { seq: i64, fate: Fate },
}

#[derive(Debug)]
pub(crate) enum Fate {
    Accepted {
        position: Box<jt_engine::Position>,
        delta: i64,
        price: Option<Decimal>,
    },
    Duplicate(SignalRef),
    Ignored,
    Rejected(Rejection),
}

/// A position touched by the group: its final state and what its row needs.
#[derive(Debug)]
pub(crate) struct Touched {
    pub position: jt_engine::Position,
    pub last_signal_seq: i64,
    pub price_at: Option<DateTime<Utc>>,
}

/// An accepted signal's fills, for execution.
#[derive(Debug)]
pub(crate) struct Legs {
    pub recorder: RecorderId,
    pub seq: i64,
    pub fills: Fills,
    pub price: Option<Decimal>,
}

/// Everything a group writes, and each signal's verdict in the group's order.
#[derive(Debug, Default)]
pub(crate) struct GroupDecision {
    pub verdicts: Vec<Verdict>,
    pub signals: Vec<SignalRecord>,
    pub positions: BTreeMap<(RecorderId, Root), Touched>,
    pub trades: Vec<(RecorderId, i64, Trade)>,
    pub legs: Vec<Legs>,
}

/// Decides every signal of the group, in arrival order.
pub(crate) fn decide_group(facts: &GroupFacts, signals: &[&Parsed<'_>]) -> GroupDecision {
    let mut state = GroupState::new(facts);
    let mut decision = GroupDecision::default();
    for parsed in signals {
        let target = &parsed.arrival.target;
        let token_hash = hex::encode(&target.token_hash);
        // Locked only if its token still matches: a signal that raced a regenerate or a
        // delete finds no recorder.
        let verdict = match facts
            .recorders
            .iter()
            .find(|r| r.id == target.recorder && r.token_hash == token_hash)
        {
            None => Verdict::UnknownRecorder,
            Some(recorder) => {
                let seq = state.next_seq(recorder);
                let fate = state.decide(facts, recorder, seq, parsed, &mut decision);
                Verdict::Stored { seq, fate }
            }
        };
        decision.verdicts.push(verdict);
    }
    decision
}

/// What earlier signals of the batch changed, seen by later ones.
struct GroupState {
    seqs: HashMap<RecorderId, i64>,
    ids: HashMap<(RecorderId, String), SignalRef>,
    bodies: HashMap<(RecorderId, Vec<u8>), (SignalRef, DateTime<Utc>)>,
    prices: HashMap<Root, Decimal>,
}

impl GroupState {
    fn new(facts: &GroupFacts) -> Self {
        let ids = facts
            .dup_ids
            .iter()
            .map(|d| {
                (
                    (d.recorder_id, d.client_signal_id.clone()),
                    SignalRef::Stored(d.id),
                )
            })
            .collect();
        let bodies = facts
            .dup_bodies
            .iter()
            .filter_map(|d| {
                let hash = hex::decode(&d.body_sha256).ok()?;
                Some((
                    (d.recorder_id, hash),
                    (SignalRef::Stored(d.id), d.received_at),
                ))
            })
            .collect();
        Self {
            seqs: HashMap::new(),
            ids,
            bodies,
            prices: HashMap::new(),
        }
    }

    fn next_seq(&mut self, recorder: &LockedRecorder) -> i64 {
        let seq = self.seqs.entry(recorder.id).or_insert(recorder.first_seq);
        let this = *seq;
        *seq += 1;
        this
    }

    fn decide(
        &mut self,
        facts: &GroupFacts,
        recorder: &LockedRecorder,
        seq: i64,
        parsed: &Parsed<'_>,
        decision: &mut GroupDecision,
    ) -> Fate {
        let arrival = parsed.arrival;
        let mut record = SignalRecord {
            recorder_id: recorder.id,
            seq,
            received_at: arrival.received_at,
            status: SignalStatus::Rejected,
            alert: None,
            applied: None,
            settings: None,
            notes: Vec::new(),
            error: None,
            raw_body: parsed.kept.to_vec(),
            body_sha256: parsed.body_sha256.clone(),
            content_type: arrival
                .content_type
                .as_ref()
                .map(|c| c.chars().take(MAX_CONTENT_TYPE_CHARS).collect()),
            source_ip: arrival.source_ip,
        };
        let fate = self.fate(facts, recorder, seq, parsed, &mut record, decision);
        record.status = match &fate {
            Fate::Accepted { .. } => SignalStatus::Accepted,
            Fate::Duplicate(_) => SignalStatus::Duplicate,
            Fate::Ignored => SignalStatus::Ignored,
            Fate::Rejected(rejection) => {
                record.error = Some(rejection.message().to_owned());
                SignalStatus::Rejected
            }
        };
        decision.signals.push(record);
        fate
    }

    fn fate(
        &mut self,
        facts: &GroupFacts,
        recorder: &LockedRecorder,
        seq: i64,
        parsed: &Parsed<'_>,
        record: &mut SignalRecord,
        decision: &mut GroupDecision,
    ) -> Fate {
        if facts.user_status != Some(UserStatus::Active) {
            return Fate::Rejected(Rejection::Disabled);
        }
        let alert = match &parsed.alert {
            Ok(alert) => alert,
            Err(rejection) => return Fate::Rejected(rejection.clone()),
        };
        record.alert = Some(AlertFields::of(alert));
        if let Some(rejection) = content_type_rejection(parsed.arrival.content_type.as_deref()) {
            return Fate::Rejected(rejection);
        }
        if recorder.status == RecorderStatus::Paused {
            return Fate::Ignored;
        }
        if let Some(original) = self.duplicate_of(recorder, parsed, alert) {
            return Fate::Duplicate(original);
        }
        self.apply(facts, recorder, seq, parsed, alert, record, decision)
    }

    /// The accepted signal this one repeats: same `id`, or (without `id`) the same body
    /// within the recorder's duplicate window.
    fn duplicate_of(
        &self,
        recorder: &LockedRecorder,
        parsed: &Parsed<'_>,
        alert: &Alert,
    ) -> Option<SignalRef> {
        if let Some(id) = &alert.id {
            return self.ids.get(&(recorder.id, id.clone())).copied();
        }
        if recorder.duplicate_window_secs <= 0 {
            return None;
        }
        let since = parsed.arrival.received_at
            - Duration::seconds(i64::from(recorder.duplicate_window_secs));
        let (original, at) = self
            .bodies
            .get(&(recorder.id, parsed.body_sha256.clone()))?;
        (*at >= since).then_some(*original)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        facts: &GroupFacts,
        recorder: &LockedRecorder,
        seq: i64,
        parsed: &Parsed<'_>,
        alert: &Alert,
        record: &mut SignalRecord,
        decision: &mut GroupDecision,
    ) -> Fate {
        let root = alert.symbol.root;
        let now = parsed.arrival.received_at;
        let last_known = match alert.price {
            Some(_) => None,
            None => self.last_known_price(facts, root),
        };
        let ctx = recorder.settings.apply_context(root, now, last_known);
        let key = (recorder.id, root);
        let position = match decision.positions.get(&key) {
            Some(touched) => touched.position.clone(),
            None => stored_position(facts, recorder.id, root),
        };
        let applied = match apply(&position, alert, &ctx) {
            Ok(applied) => applied,
            Err(error) => return Fate::Rejected(Rejection::Invalid(error.to_string())),
        };
        record.applied = Some(AppliedFields::of(&applied));
        record.settings = Some(recorder.settings.clone());
        record.notes.clone_from(&applied.notes);

        let this = SignalRef::InBatch(recorder.id, seq);
        if let Some(id) = &alert.id {
            self.ids.insert((recorder.id, id.clone()), this);
        }
        self.bodies
            .insert((recorder.id, parsed.body_sha256.clone()), (this, now));
        let priced = applied.price_source == PriceSource::Signal;
        if priced && let Some(price) = applied.price {
            self.prices.insert(root, price);
        }
        let price_at = decision
            .positions
            .get(&key)
            .and_then(|t| t.price_at)
            .filter(|_| !priced)
            .or(priced.then_some(now));
        decision.positions.insert(
            key,
            Touched {
                position: applied.position.clone(),
                last_signal_seq: seq,
                price_at,
            },
        );
        if let Some(trade) = applied.closed_trade {
            decision.trades.push((recorder.id, seq, trade));
        }
        decision.legs.push(Legs {
            recorder: recorder.id,
            seq,
            fills: applied.fills,
            price: applied.price,
        });
        Fate::Accepted {
            position: Box::new(applied.position),
            delta: applied.delta,
            price: applied.price,
        }
    }

    /// The user's freshest price of the root: from this batch, else as stored.
    fn last_known_price(&self, facts: &GroupFacts, root: Root) -> Option<Decimal> {
        self.prices
            .get(&root)
            .copied()
            .or_else(|| facts.prices.get(root.as_str()).copied().flatten())
    }
}

fn stored_position(facts: &GroupFacts, recorder: RecorderId, root: Root) -> jt_engine::Position {
    facts
        .positions
        .iter()
        .find(|p| p.recorder_id == recorder && p.position.root == root)
        .map_or_else(|| jt_engine::Position::flat(root), |p| p.position.clone())
}

fn content_type_rejection(content_type: Option<&str>) -> Option<Rejection> {
    let length = content_type?.chars().count();
    (length > MAX_CONTENT_TYPE_CHARS).then(|| {
        Rejection::Invalid(format!(
            "the Content-Type header is {length} characters long; at most \
             {MAX_CONTENT_TYPE_CHARS} are accepted: send text/plain or application/json"
        ))
    })
}
