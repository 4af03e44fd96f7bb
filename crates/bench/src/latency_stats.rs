//! Latency percentiles and answer counts of a load run.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// p50/p99/max of every answered request, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Answered requests measured.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Sorts `latencies` and summarises them; `None` when there are none.
    pub fn of(latencies: &mut [Duration]) -> Option<Self> {
        latencies.sort_unstable();
        Some(Self {
            count: latencies.len(),
            p50_ms: millis(percentile(latencies, 0.50)?),
            p99_ms: millis(percentile(latencies, 0.99)?),
            max_ms: millis(*latencies.last()?),
        })
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p` of all
/// values at or below it.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() as f64 * p).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Answers by status code, plus failures without an answer (`error: ...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StatusCounts(BTreeMap<String, u64>);

impl StatusCounts {
    /// Counts one answer.
    pub fn answered(&mut self, status: u16) {
        *self.0.entry(status.to_string()).or_default() += 1;
    }

    /// Counts one request that got no answer, by what happened (`connect`, `closed`, …).
    pub fn failed(&mut self, what: &str) {
        *self.0.entry(format!("error: {what}")).or_default() += 1;
    }

    /// Adds another sender's counts.
    pub fn merge(&mut self, other: &StatusCounts) {
        for (key, count) in &other.0 {
            *self.0.entry(key.clone()).or_default() += count;
        }
    }

    /// How many were answered with `status`.
    pub fn of(&self, status: u16) -> u64 {
        self.0.get(&status.to_string()).copied().unwrap_or(0)
    }

    /// Everything counted.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `200: 9990, 503: 10` for the table.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut hundred: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let summary = LatencySummary::of(&mut hundred).expect("values");
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);

        let sorted = ms(&[1, 2, 3]);
        assert_eq!(percentile(&sorted, 0.5), Some(Duration::from_millis(2)));
        assert_eq!(percentile(&sorted, 0.99), Some(Duration::from_millis(3)));
        assert_eq!(percentile(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&ms(&[7]), 0.99), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 0.5), None);
        assert!(LatencySummary::of(&mut []).is_none());
    }

    #[test]
    fn status_counts_merge_and_describe() {
        let mut a = StatusCounts::default();
        a.answered(200);
        a.answered(200);
        a.failed("closed");
        let mut b = StatusCounts::default();
        b.answered(503);
        b.answered(200);
        a.merge(&b);
        assert_eq!(a.of(200), 3);
        assert_eq!(a.total(), 5);
        assert_eq!(a.describe(), "200: 3, 503: 1, error: closed: 1");
    }
}
