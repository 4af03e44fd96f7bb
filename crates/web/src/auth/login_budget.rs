//! Log-in failure budgets (SPEC §5, issue 12 item 5).
//!
//! Counting every attempt per e-mail let anyone keep a chosen account locked by typing its
//! address with wrong passwords. So only failures count, and they count per (client IP,
//! e-mail): a stranger's failures lock out the stranger. Two wider budgets stop wider
//! attacks: failures per IP (one client trying many accounts) and a looser ceiling per
//! e-mail from all IPs together (guessing one password from many addresses). An IP that
//! logged into the account before skips that ceiling, so its owner still gets in while
//! strangers fill it.
//!
//! An attempt reserves its failure before the password is checked (so parallel guesses
//! cannot all slip in under the budget) and gives it back when the password was right.
//!
//! Budgets live in this process's memory: with several web processes each keeps its own, so
//! the effective limit is the configured one times the number of processes. That still caps
//! guessing at a rate argon2 makes useless, and needs no shared state.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::rate_limit::{RateLimit, email_key, ip_key};
use crate::page_error::PageError;

/// How long an IP an account logged in from keeps skipping the per-e-mail ceiling.
const KNOWN_IP_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Known IPs remembered per account (the most recent ones).
const KNOWN_IPS_PER_ACCOUNT: usize = 8;
/// Stale entries are dropped every this many attempts, so memory follows recent traffic.
const PRUNE_EVERY: u64 = 1024;

/// The three failure budgets and the IPs each account logged in from.
#[derive(Debug)]
pub(crate) struct LoginBudgets {
    per_ip: FailureBudget<IpAddr>,
    per_ip_and_email: FailureBudget<(IpAddr, String)>,
    per_email: FailureBudget<String>,
    known_ips: Mutex<HashMap<String, Vec<(IpAddr, Instant)>>>,
    attempts: AtomicU64,
}

/// One log-in attempt whose failure is reserved. Dropped as is, the failure stays counted;
/// [`LoginBudgets::succeeded`] or [`LoginBudgets::not_a_failure`] give it back.
#[derive(Debug)]
pub(crate) struct LoginAttempt {
    ip: IpAddr,
    email: String,
    counted_per_email: bool,
}

impl LoginBudgets {
    pub(crate) fn new(
        per_ip: RateLimit,
        per_ip_and_email: RateLimit,
        per_email: RateLimit,
    ) -> Self {
        Self {
            per_ip: FailureBudget::new(per_ip),
            per_ip_and_email: FailureBudget::new(per_ip_and_email),
            per_email: FailureBudget::new(per_email),
            known_ips: Mutex::new(HashMap::new()),
            attempts: AtomicU64::new(0),
        }
    }

    /// Reserves a failure in every budget that applies, or refuses (429) when one is spent.
    pub(crate) fn begin(&self, ip: IpAddr, email: &str) -> Result<LoginAttempt, PageError> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let now = Instant::now();
        let ip = ip_key(ip);
        let email = email_key(email);
        let pair = (ip, email.clone());
        let counted_per_email = !self.is_known(&email, ip, now);
        // Check all before reserving any, so a refusal costs nothing.
        let wait = [
            self.per_ip.wait(&ip, now),
            self.per_ip_and_email.wait(&pair, now),
            counted_per_email
                .then(|| self.per_email.wait(&email, now))
                .flatten(),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(retry_after) = wait {
            return Err(PageError::TooManyAttempts { retry_after });
        }
        self.per_ip.reserve(ip, now);
        self.per_ip_and_email.reserve(pair, now);
        if counted_per_email {
            self.per_email.reserve(email.clone(), now);
        }
        Ok(LoginAttempt {
            ip,
            email,
            counted_per_email,
        })
    }

    /// The password was right: the attempt was no failure, this IP's earlier failures for
    /// the account are forgiven, and the IP skips the per-e-mail ceiling from now on.
    pub(crate) fn succeeded(&self, attempt: LoginAttempt) {
        let now = Instant::now();
        self.per_ip_and_email
            .forget(&(attempt.ip, attempt.email.clone()));
        self.per_ip.give_back(&attempt.ip, now);
        if attempt.counted_per_email {
            self.per_email.give_back(&attempt.email, now);
        }
        let mut known = lock(&self.known_ips);
        let ips = known.entry(attempt.email).or_default();
        ips.retain(|(ip, _)| *ip != attempt.ip);
        ips.push((attempt.ip, now));
        if ips.len() > KNOWN_IPS_PER_ACCOUNT {
            ips.remove(0);
        }
    }

    /// The attempt ended without telling right from wrong (e.g. the database was down):
    /// give the reserved failure back.
    pub(crate) fn not_a_failure(&self, attempt: LoginAttempt) {
        let now = Instant::now();
        self.per_ip.give_back(&attempt.ip, now);
        self.per_ip_and_email
            .give_back(&(attempt.ip, attempt.email.clone()), now);
        if attempt.counted_per_email {
            self.per_email.give_back(&attempt.email, now);
        }
    }

    fn is_known(&self, email: &str, ip: IpAddr, now: Instant) -> bool {
        lock(&self.known_ips).get(email).is_some_and(|ips| {
            ips.iter()
                .any(|(known, at)| *known == ip && now.duration_since(*at) < KNOWN_IP_FOR)
        })
    }

    fn prune(&self) {
        let now = Instant::now();
        self.per_ip.prune(now);
        self.per_ip_and_email.prune(now);
        self.per_email.prune(now);
        lock(&self.known_ips).retain(|_, ips| {
            ips.retain(|(_, at)| now.duration_since(*at) < KNOWN_IP_FOR);
            !ips.is_empty()
        });
    }
}

/// A keyed leaky bucket of failures: each failure adds `per / attempts` of debt that drains
/// with time; a key is refused while its debt would exceed `per` (so `attempts` failures in
/// a burst, then one more every `per / attempts`). Stored as the time the debt is paid off.
#[derive(Debug)]
struct FailureBudget<K> {
    step: Duration,
    window: Duration,
    paid_off_at: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq> FailureBudget<K> {
    fn new(limit: RateLimit) -> Self {
        let step = (limit.per / limit.attempts.get()).max(Duration::from_nanos(1));
        Self {
            step,
            window: step * limit.attempts.get(),
            paid_off_at: Mutex::new(HashMap::new()),
        }
    }

    /// How long until one more failure fits, or `None` when it fits now.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let paid_off_at = lock(&self.paid_off_at).get(key).copied()?;
        let debt_after = paid_off_at.max(now) + self.step - now;
        (debt_after > self.window).then(|| debt_after - self.window)
    }

    fn reserve(&self, key: K, now: Instant) {
        let mut map = lock(&self.paid_off_at);
        let paid_off_at = map.entry(key).or_insert(now);
        *paid_off_at = (*paid_off_at).max(now) + self.step;
    }

    fn give_back(&self, key: &K, now: Instant) {
        if let Some(paid_off_at) = lock(&self.paid_off_at).get_mut(key) {
            *paid_off_at = paid_off_at
                .checked_sub(self.step)
                .map_or(now, |earlier| earlier.max(now));
        }
    }

    fn forget(&self, key: &K) {
        lock(&self.paid_off_at).remove(key);
    }

    fn prune(&self, now: Instant) {
        lock(&self.paid_off_at).retain(|_, paid_off_at| *paid_off_at > now);
    }
}

/// A poisoned lock only means another request panicked mid-update of a counter map; the
/// counters are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn budgets(per_ip: u32, per_pair: u32, per_email: u32) -> LoginBudgets {
        LoginBudgets::new(
            RateLimit::new(per_ip, HOUR),
            RateLimit::new(per_pair, HOUR),
            RateLimit::new(per_email, HOUR),
        )
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn only_failures_count() {
        let budgets = budgets(100, 3, 100);
        for _ in 0..10 {
            let attempt = budgets.begin(ip(1), "a@example.com").unwrap();
            budgets.succeeded(attempt);
        }
        for _ in 0..3 {
            budgets.begin(ip(1), "a@example.com").unwrap();
        }
        let Err(PageError::TooManyAttempts { retry_after }) =
            budgets.begin(ip(1), " A@EXAMPLE.com ")
        else {
            panic!("the fourth failure in a row must be refused");
        };
        assert!(retry_after > Duration::from_secs(1000), "{retry_after:?}");
    }

    #[test]
    fn a_strangers_failures_do_not_lock_out_the_owner() {
        let budgets = budgets(100, 3, 5);
        let owner = ip(1);
        budgets.succeeded(budgets.begin(owner, "a@example.com").unwrap());
        // Strangers from many addresses spend the account's ceiling...
        for stranger in 10..40 {
            for _ in 0..3 {
                let _ = budgets.begin(ip(stranger), "a@example.com");
            }
        }
        assert!(
            budgets.begin(ip(99), "a@example.com").is_err(),
            "ceiling reached"
        );
        // ...but the owner's address still gets its own attempts.
        let attempt = budgets.begin(owner, "a@example.com").unwrap();
        budgets.succeeded(attempt);
    }

    #[test]
    fn the_debt_drains_with_time() {
        let budget = FailureBudget::<u8>::new(RateLimit::new(2, Duration::from_secs(60)));
        let start = Instant::now();
        budget.reserve(1, start);
        budget.reserve(1, start);
        let wait = budget.wait(&1, start).unwrap();
        assert_eq!(wait, Duration::from_secs(30));
        assert_eq!(budget.wait(&1, start + Duration::from_secs(30)), None);
        budget.give_back(&1, start);
        assert_eq!(budget.wait(&1, start), None);
    }
}
