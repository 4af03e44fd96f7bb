//! In-process queueing of signals per recorder, in front of the database row lock.
//!
//! The row lock alone serialises a recorder's signals, but each waiter would hold a pooled
//! connection while it waits: a burst on one recorder could take the whole pool and starve
//! every other recorder. Waiting here first costs no connection, and tokio's mutex is FIFO,
//! so arrival order is kept. The row lock still orders signals across processes.

use std::hash::BuildHasher;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::RecorderId;

/// Enough stripes that unrelated recorders rarely share one.
const STRIPES: usize = 1024;

/// A fixed set of FIFO locks, one chosen per recorder by hash.
#[derive(Debug, Clone)]
pub(crate) struct RecorderGates {
    stripes: Arc<[Mutex<()>]>,
    hasher: std::collections::hash_map::RandomState,
}

impl RecorderGates {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Waits for this recorder's turn (and holds it until the guard drops).
    pub(crate) async fn enter(&self, recorder: RecorderId) -> MutexGuard<'_, ()> {
        let index = usize::try_from(self.hasher.hash_one(recorder) % STRIPES as u64).unwrap_or(0);
        self.stripes[index].lock().await
    }
}
