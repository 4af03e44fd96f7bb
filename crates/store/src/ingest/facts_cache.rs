//! What this process's last batch of a recorder left behind, so the next batch can be
//! decided without reading it again: one round trip (`ingest_apply`) instead of four.
//!
//! The cache is a prediction, never the authority. Each recorder's facts carry the version
//! of its row they were read or written at, and `ingest_apply` writes a tenant group only
//! if, under the row locks, every version is unchanged (nothing about the recorder changed
//! meanwhile, in any process), the user is still active, no accepted signal has an id or
//! body of the batch, and the user's last known prices are the ones predicted here. A group
//! that fails is forgotten and decided again from facts read under the locks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::decide::{GroupDecision, GroupFacts, LockedRecorder, Parsed, StoredPosition};
use crate::users::UserStatus;
use crate::{RecorderId, UserId};

/// Facts unused this long are read again (and a row version cannot come round again
/// after 2^32 transactions while it waits).
const TTL: Duration = Duration::from_secs(600);
/// Beyond this many recorders the cache drops what has not been used lately.
const MAX_RECORDERS: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct FactsCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    recorders: HashMap<RecorderId, Remembered>,
    /// Each user's remembered recorders: their positions predict the user's last prices.
    by_user: HashMap<UserId, HashSet<RecorderId>>,
}

#[derive(Debug)]
struct Remembered {
    /// `first_seq` is the next signal's sequence number; `version` the row's as written.
    recorder: LockedRecorder,
    /// Every position of the recorder.
    positions: Vec<StoredPosition>,
    used_at: Instant,
}

impl FactsCache {
    /// The remembered facts of a tenant group whose `signals` arrived for `user`, if every
    /// recorder they name is remembered (under the token they arrived with).
    pub(crate) fn group_facts(&self, user: UserId, signals: &[&Parsed<'_>]) -> Option<GroupFacts> {
        let mut inner = self.lock();
        let now = Instant::now();
        let mut recorders: Vec<LockedRecorder> = Vec::new();
        let mut positions = Vec::new();
        for parsed in signals {
            let target = &parsed.arrival.target;
            if recorders.iter().any(|r| r.id == target.recorder) {
                continue;
            }
            let remembered = inner.recorders.get_mut(&target.recorder)?;
            if remembered.recorder.user_id != user
                || now.duration_since(remembered.used_at) > TTL
                || remembered.recorder.token_hash != hex::encode(&target.token_hash)
            {
                return None;
            }
            remembered.used_at = now;
            recorders.push(remembered.recorder.clone());
            positions.extend(remembered.positions.iter().cloned());
        }
        let priceless: BTreeSet<String> = signals
            .iter()
            .filter_map(|p| p.alert.as_ref().ok())
            .filter(|alert| alert.price.is_none())
            .map(|alert| alert.symbol.root.to_string())
            .collect();
        let prices = priceless
            .into_iter()
            .map(|root| {
                let price = inner.last_known_price(user, &root);
                (root, price)
            })
            .collect();
        Some(GroupFacts {
            user,
            user_status: Some(UserStatus::Active),
            recorders,
            positions,
            dup_ids: Vec::new(),
            dup_bodies: Vec::new(),
            prices,
        })
    }

    /// After a commit: the group's recorders as `decision` left them, at the row versions
    /// `ingest_apply` returned. Recorders without a version, and groups of users that are
    /// not active, are forgotten instead.
    pub(crate) fn remember(
        &self,
        facts: &GroupFacts,
        decision: &GroupDecision,
        versions: &HashMap<RecorderId, String>,
    ) {
        let mut inner = self.lock();
        if inner.recorders.len() >= MAX_RECORDERS {
            inner.evict_unused();
        }
        let now = Instant::now();
        for recorder in &facts.recorders {
            let version = versions.get(&recorder.id);
            let (Some(version), Some(UserStatus::Active)) = (version, facts.user_status) else {
                inner.remove(recorder.id);
                continue;
            };
            let written = decision
                .signals
                .iter()
                .filter(|s| s.recorder_id == recorder.id)
                .count();
            let mut recorder = recorder.clone();
            recorder.first_seq += i64::try_from(written).unwrap_or(i64::MAX);
            recorder.version.clone_from(version);
            let positions = positions_after(facts, decision, recorder.id);
            inner
                .by_user
                .entry(recorder.user_id)
                .or_default()
                .insert(recorder.id);
            inner.recorders.insert(
                recorder.id,
                Remembered {
                    recorder,
                    positions,
                    used_at: now,
                },
            );
        }
    }

    /// Drops what is remembered of these recorders (a write failed or found them changed).
    pub(crate) fn forget(&self, recorders: impl IntoIterator<Item = RecorderId>) {
        let mut inner = self.lock();
        for recorder in recorders {
            inner.remove(recorder);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change is a whole insert or remove: a panic elsewhere leaves nothing half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// What `user_last_known_price` would say from the remembered positions: the last price
    /// of the position whose price was set last, ties by recorder id. A user's recorder
    /// that is not remembered can make it wrong; `ingest_apply` then refuses the group.
    fn last_known_price(&self, user: UserId, root: &str) -> Option<Decimal> {
        let recorders = self.by_user.get(&user)?;
        recorders
            .iter()
            .filter_map(|id| self.recorders.get(id))
            .flat_map(|r| &r.positions)
            .filter(|p| p.position.root.as_str() == root)
            .filter_map(|p| Some((p.last_price_at, p.recorder_id, p.position.last_price?)))
            // Latest first, nulls last; then the smallest recorder id.
            .min_by(|a, b| later_first(a.0, b.0).then(a.1.cmp(&b.1)))
            .map(|(_, _, price)| price)
    }

    fn remove(&mut self, recorder: RecorderId) {
        if let Some(removed) = self.recorders.remove(&recorder)
            && let Some(mine) = self.by_user.get_mut(&removed.recorder.user_id)
        {
            mine.remove(&recorder);
            if mine.is_empty() {
                self.by_user.remove(&removed.recorder.user_id);
            }
        }
    }

    fn evict_unused(&mut self) {
        let recent = Instant::now().checked_sub(Duration::from_secs(60));
        let stale: Vec<RecorderId> = self
            .recorders
            .iter()
            .filter(|(_, r)| recent.is_none_or(|recent| r.used_at < recent))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.remove(id);
        }
        if self.recorders.len() >= MAX_RECORDERS {
            self.recorders.clear();
            self.by_user.clear();
        }
    }
}

/// `ORDER BY at DESC NULLS LAST` as a comparison: the later time first, none last.
fn later_first(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Every position of `recorder` after the decision: the stored ones, with those it touched
/// replaced (a signal's own price sets `last_price_at`, as the positions upsert does).
fn positions_after(
    facts: &GroupFacts,
    decision: &GroupDecision,
    recorder: RecorderId,
) -> Vec<StoredPosition> {
    let mut positions: Vec<StoredPosition> = facts
        .positions
        .iter()
        .filter(|p| p.recorder_id == recorder)
        .cloned()
        .collect();
    for ((id, root), touched) in &decision.positions {
        if *id != recorder {
            continue;
        }
        let stored = positions.iter_mut().find(|p| p.position.root == *root);
        let last_price_at = touched
            .price_at
            .or_else(|| stored.as_ref().and_then(|p| p.last_price_at));
        let after = StoredPosition {
            recorder_id: recorder,
            position: touched.position.clone(),
            last_price_at,
        };
        match stored {
            Some(stored) => *stored = after,
            None => positions.push(after),
        }
    }
    positions
}
