//! Webhook answer times of the last minutes in this process, for the admin health page's
//! p50/p99 (Prometheus computes cluster-wide percentiles from the histogram instead).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Samples older than this are dropped.
const WINDOW: Duration = Duration::from_secs(5 * 60);
/// At most this many samples are kept (the newest), bounding memory and sort time.
const MAX_SAMPLES: usize = 20_000;

static SAMPLES: Mutex<VecDeque<(Instant, Duration)>> = Mutex::new(VecDeque::new());

/// Percentiles of the webhook answer time over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Answers in the window.
    pub count: usize,
    /// Median, when there were answers.
    pub p50: Option<Duration>,
    /// 99th percentile.
    pub p99: Option<Duration>,
    /// Slowest.
    pub max: Option<Duration>,
}

pub(super) fn record(latency: Duration) {
    let now = Instant::now();
    let mut samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
    if samples.len() >= MAX_SAMPLES {
        samples.pop_front();
    }
    samples.push_back((now, latency));
}

pub(super) fn summary() -> LatencySummary {
    let mut latencies: Vec<Duration> = {
        let mut samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW)
        {
            samples.pop_front();
        }
        samples.iter().map(|(_, latency)| *latency).collect()
    };
    latencies.sort_unstable();
    summarize(&latencies)
}

/// Nearest-rank percentiles of sorted samples.
fn summarize(sorted: &[Duration]) -> LatencySummary {
    let rank = |percent: usize| {
        let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
        sorted.get(index).copied()
    };
    LatencySummary {
        count: sorted.len(),
        p50: rank(50),
        p99: rank(99),
        max: sorted.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let summary = summarize(&samples);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50, Some(Duration::from_millis(50)));
        assert_eq!(summary.p99, Some(Duration::from_millis(99)));
        assert_eq!(summary.max, Some(Duration::from_millis(100)));
        assert_eq!(summarize(&[]), LatencySummary::default());
        let one = summarize(&[Duration::from_millis(7)]);
        assert_eq!(
            (one.p50, one.p99),
            (
                Some(Duration::from_millis(7)),
                Some(Duration::from_millis(7))
            )
        );
    }
}
