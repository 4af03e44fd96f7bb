//! Computed statistics panels, kept per recorder while its trade history is unchanged, so
//! looking at (or live-refreshing) a recorder with 20,000 trades reads one index entry
//! instead of every trade. A panel is found only after the handler has checked in a tenant
//! transaction that the recorder is the user's; the key holds everything the panel depends
//! on (newest trade id, range, time zone).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono_tz::Tz;
use jt_store::RecorderId;
use jt_store::exports::TimeRange;

use super::recorder_stats::StatsPanel;

/// Panels kept at most; past that the cache starts afresh (cheap, and rare).
const CAPACITY: usize = 512;

/// What a panel was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct StatsKey {
    pub recorder: RecorderId,
    pub last_trade: Option<i64>,
    pub range: (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
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

/// The process's panels. Cloning is cheap.
#[derive(Clone, Default)]
pub struct StatsCache {
    panels: Arc<Mutex<HashMap<StatsKey, Arc<StatsPanel>>>>,
}

impl std::fmt::Debug for StatsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = self.panels.lock().map_or(0, |panels| panels.len());
        f.debug_struct("StatsCache").field("panels", &size).finish()
    }
}

impl StatsCache {
    pub(super) fn get(&self, key: &StatsKey) -> Option<Arc<StatsPanel>> {
        self.panels.lock().ok()?.get(key).cloned()
    }

    pub(super) fn put(&self, key: StatsKey, panel: Arc<StatsPanel>) {
        if let Ok(mut panels) = self.panels.lock() {
            if panels.len() >= CAPACITY {
                panels.clear();
            }
            panels.insert(key, panel);
        }
    }
}
