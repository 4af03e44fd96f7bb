//! Computed figures kept per recorder while its trade history is unchanged: statistics
//! panels and dashboard summaries. Looking at (or live-refreshing) a recorder with 20,000
//! trades then reads one index entry instead of every trade. A value is looked up only after
//! the handler has read, in a tenant transaction, that the recorder is the user's (its newest
//! trade id is part of every key), and the key holds everything the value depends on.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use jt_store::RecorderId;
use jt_store::exports::TimeRange;
use jt_store::performance::TradeSummary;

use super::recorder_stats::StatsPanel;

/// Values kept at most per cache; past that it starts afresh (cheap, and rare).
const CAPACITY: usize = 1024;

/// What a statistics panel was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct StatsKey {
    pub recorder: RecorderId,
    pub last_trade: Option<i64>,
    pub range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    pub label: Option<String>,
    pub zone: Tz,
}

impl StatsKey {
    pub(super) fn new(
        recorder: RecorderId,
        last_trade: Option<i64>,
        range: TimeRange,
        label: Option<String>,
        zone: Tz,
    ) -> Self {
        Self {
            recorder,
            last_trade,
            range: (range.from, range.to),
            label,
            zone,
        }
    }
}

/// What a dashboard summary was computed from: the recorder, its newest trade and the start
/// of the user's today.
pub(super) type SummaryKey = (RecorderId, i64, DateTime<Utc>);

/// The process's caches of computed page figures. Cloning is cheap.
#[derive(Clone, Default)]
pub struct PageCaches {
    pub(super) stats: Computed<StatsKey, StatsPanel>,
    pub(super) summaries: Computed<SummaryKey, TradeSummary>,
}

impl std::fmt::Debug for PageCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCaches").finish_non_exhaustive()
    }
}

/// Values by the key they were computed from.
pub(super) struct Computed<K, V> {
    values: Arc<Mutex<HashMap<K, Arc<V>>>>,
}

impl<K, V> Default for Computed<K, V> {
    fn default() -> Self {
        Self {
            values: Arc::default(),
        }
    }
}

impl<K, V> Clone for Computed<K, V> {
    fn clone(&self) -> Self {
        Self {
            values: self.values.clone(),
        }
    }
}

impl<K: Hash + Eq, V> Computed<K, V> {
    pub(super) fn get(&self, key: &K) -> Option<Arc<V>> {
        self.values.lock().ok()?.get(key).cloned()
    }

    pub(super) fn put(&self, key: K, value: Arc<V>) {
        if let Ok(mut values) = self.values.lock() {
            if values.len() >= CAPACITY {
                values.clear();
            }
            values.insert(key, value);
        }
    }
}
