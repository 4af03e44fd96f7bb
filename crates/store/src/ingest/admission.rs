//! Admission: refuse fast rather than queue past TradingView's 3 s, and keep one user from
//! holding the whole queue.
//!
//! A signal is admitted before anything is written and holds a [`Ticket`] until it is
//! answered. Refusal happens only at admission: once admitted, a signal is always recorded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::UserId;

/// Why a signal was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The queue would hold it longer than the answer budget (503, TradingView resends).
    #[error("too many signals are waiting; send again in {retry_after:?}")]
    Overloaded {
        /// When to try again.
        retry_after: Duration,
    },
    /// This user has too many signals in flight (429).
    #[error("too many signals in flight for this account; send again in {retry_after:?}")]
    Throttled {
        /// When to try again.
        retry_after: Duration,
    },
    /// The process is shutting down (503).
    #[error("the server is restarting; send again")]
    ShuttingDown,
}

/// The limits admission enforces.
#[derive(Debug, Clone)]
pub(crate) struct AdmissionLimits {
    /// Never more than this many signals waiting or being written.
    pub max_queued: usize,
    /// Below this many, always admit (a bar-close burst is short and must get through).
    pub queue_floor: usize,
    /// Above the floor, refuse when the estimated wait passes this.
    pub max_wait: Duration,
    /// Signals one user may have in flight at once.
    pub per_user: usize,
    /// Batches written in parallel, all shards together (divides the estimated wait).
    pub parallel_batches: usize,
}

#[derive(Debug)]
pub(crate) struct Admission {
    limits: AdmissionLimits,
    queued: AtomicUsize,
    per_user: Mutex<HashMap<UserId, usize>>,
    /// Moving average of flush time per signal, in nanoseconds (0 = not measured yet).
    nanos_per_signal: AtomicU64,
    closing: AtomicBool,
    admitted: AtomicU64,
}

impl Admission {
    pub(crate) fn new(limits: AdmissionLimits) -> Self {
        Self {
            limits,
            queued: AtomicUsize::new(0),
            per_user: Mutex::new(HashMap::new()),
            nanos_per_signal: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            admitted: AtomicU64::new(0),
        }
    }

    /// Admits one signal of `user`, or says why not.
    pub(crate) fn admit(self: &std::sync::Arc<Self>, user: UserId) -> Result<Ticket, Refusal> {
        if self.closing.load(Ordering::Acquire) {
            return Err(Refusal::ShuttingDown);
        }
        let queued = self.queued.load(Ordering::Acquire);
        if queued >= self.limits.max_queued
            || (queued >= self.limits.queue_floor
                && self.estimated_wait(queued) > self.limits.max_wait)
        {
            return Err(Refusal::Overloaded {
                retry_after: Duration::from_secs(2),
            });
        }
        {
            let mut per_user = self.per_user.lock().unwrap_or_else(|e| e.into_inner());
            let mine = per_user.entry(user).or_default();
            if *mine >= self.limits.per_user {
                return Err(Refusal::Throttled {
                    retry_after: Duration::from_secs(1),
                });
            }
            *mine += 1;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.admitted.fetch_add(1, Ordering::AcqRel);
        Ok(Ticket {
            admission: std::sync::Arc::clone(self),
            user,
        })
    }

    /// How long `queued` signals would wait at the measured rate.
    fn estimated_wait(&self, queued: usize) -> Duration {
        let per_signal = self.nanos_per_signal.load(Ordering::Relaxed);
        let parallel = u64::try_from(self.limits.parallel_batches.max(1)).unwrap_or(1);
        let queued = u64::try_from(queued).unwrap_or(u64::MAX);
        Duration::from_nanos(queued.saturating_mul(per_signal) / parallel)
    }

    /// Feeds a flush of `signals` that took `took` into the rate estimate.
    pub(crate) fn observe(&self, signals: usize, took: Duration) {
        let Some(per_signal) = u64::try_from(took.as_nanos())
            .ok()
            .and_then(|n| n.checked_div(u64::try_from(signals).ok()?))
        else {
            return;
        };
        let old = self.nanos_per_signal.load(Ordering::Relaxed);
        let new = if old == 0 {
            per_signal
        } else {
            (old * 7 + per_signal) / 8
        };
        self.nanos_per_signal.store(new, Ordering::Relaxed);
    }

    /// Refuses everything from now on (shutdown).
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
    }

    /// Signals admitted and not yet answered.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Signals admitted since start.
    pub(crate) fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::Acquire)
    }
}

/// Held by an admitted signal until it is answered.
#[derive(Debug)]
pub(crate) struct Ticket {
    admission: std::sync::Arc<Admission>,
    user: UserId,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.queued.fetch_sub(1, Ordering::AcqRel);
        let mut per_user = self
            .admission
            .per_user
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = per_user.get_mut(&self.user) {
            *mine -= 1;
            if *mine == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn admission(max_queued: usize, per_user: usize) -> Arc<Admission> {
        Arc::new(Admission::new(AdmissionLimits {
            max_queued,
            queue_floor: 2,
            max_wait: Duration::from_millis(100),
            per_user,
            parallel_batches: 1,
        }))
    }

    #[test]
    fn one_user_cannot_hold_more_than_their_share() {
        let admission = admission(100, 2);
        let (a, b) = (UserId::new(), UserId::new());
        let first = admission.admit(a).expect("first");
        let _second = admission.admit(a).expect("second");
        assert!(matches!(admission.admit(a), Err(Refusal::Throttled { .. })));
        let _other = admission.admit(b).expect("another user is not affected");
        drop(first);
        assert!(
            admission.admit(a).is_ok(),
            "answered signals free the share"
        );
    }

    #[test]
    fn refuses_when_the_queue_is_full_or_would_wait_too_long() {
        let admission = admission(3, 10);
        let tickets: Vec<Ticket> = (0..3)
            .map(|_| admission.admit(UserId::new()).expect("room"))
            .collect();
        assert!(matches!(
            admission.admit(UserId::new()),
            Err(Refusal::Overloaded { .. })
        ));
        drop(tickets);
        assert_eq!(admission.queued(), 0);

        let admission = self::admission(100, 10);
        // 60 ms a signal: two waiting already means 120 ms > the 100 ms budget.
        admission.observe(1, Duration::from_millis(60));
        let _held: Vec<Ticket> = (0..2)
            .map(|_| admission.admit(UserId::new()).expect("below the floor"))
            .collect();
        assert!(matches!(
            admission.admit(UserId::new()),
            Err(Refusal::Overloaded { .. })
        ));
    }

    #[test]
    fn closing_refuses_everything() {
        let admission = admission(100, 10);
        admission.close();
        assert_eq!(
            admission.admit(UserId::new()).err(),
            Some(Refusal::ShuttingDown)
        );
    }
}
