//! Attempt budgets for log-in and sign-up, per client IP and per email address (SPEC §5).
//! Log-in counts failures only ([`super::login_budget`]); sign-up counts every attempt.
//!
//! The limiters live in this process's memory (governor keyed limiters). With several web
//! processes each keeps its own budget, so the effective limit is the configured one times
//! the number of processes; that still caps password guessing at a rate argon2 makes
//! useless, and needs no shared state. A shared limit would need a database table.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::login_budget::LoginBudgets;
use crate::page_error::PageError;

/// At most `attempts` in any `per` window: a bucket of `attempts` that refills evenly over
/// `per`, so a client that used its budget gets one more attempt every `per / attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Attempts allowed in a burst.
    pub attempts: NonZeroU32,
    /// Time to refill the whole budget.
    pub per: Duration,
}

impl RateLimit {
    /// `attempts` per `per` (an `attempts` of 0 counts as 1).
    pub const fn new(attempts: u32, per: Duration) -> Self {
        let attempts = match NonZeroU32::new(attempts) {
            Some(n) => n,
            None => NonZeroU32::MIN,
        };
        Self { attempts, per }
    }

    fn quota(self) -> Quota {
        let refill_one = (self.per / self.attempts.get()).max(Duration::from_nanos(1));
        Quota::with_period(refill_one)
            .unwrap_or_else(|| Quota::per_second(self.attempts))
            .allow_burst(self.attempts)
    }
}

/// The log-in and sign-up budgets. Tests lower them to reach the limit quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// Failed log-ins per client IP, whatever the account (one client trying many
    /// accounts; a shared office NAT needs some room).
    pub login_failures_per_ip: RateLimit,
    /// Failed log-ins per (client IP, email address): what locks out a guesser, and only
    /// the guesser.
    pub login_failures_per_ip_and_email: RateLimit,
    /// Failed log-ins per email address from all IPs together: a looser ceiling against
    /// guessing one account's password from many addresses. IPs that logged into the
    /// account before are not held to it.
    pub login_failures_per_email: RateLimit,
    /// Sign-ups per client IP.
    pub signup_per_ip: RateLimit,
    /// Sign-up attempts per email address.
    pub signup_per_email: RateLimit,
}

impl Default for AuthLimits {
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Self {
            login_failures_per_ip: RateLimit::new(30, MINUTE * 10),
            login_failures_per_ip_and_email: RateLimit::new(5, MINUTE * 15),
            login_failures_per_email: RateLimit::new(50, MINUTE * 60),
            signup_per_ip: RateLimit::new(10, MINUTE * 60),
            signup_per_email: RateLimit::new(5, MINUTE * 60),
        }
    }
}

/// The limiters for [`AuthLimits`].
#[derive(Debug)]
pub(crate) struct AuthLimiters {
    pub(crate) login: LoginBudgets,
    signup_per_ip: KeyedLimiter<IpAddr>,
    signup_per_email: KeyedLimiter<String>,
}

impl AuthLimiters {
    pub(crate) fn new(limits: AuthLimits) -> Self {
        Self {
            login: LoginBudgets::new(
                limits.login_failures_per_ip,
                limits.login_failures_per_ip_and_email,
                limits.login_failures_per_email,
            ),
            signup_per_ip: KeyedLimiter::new(limits.signup_per_ip),
            signup_per_email: KeyedLimiter::new(limits.signup_per_email),
        }
    }

    /// Counts one sign-up attempt; `Err` when over either budget.
    pub(crate) fn signup_attempt(&self, ip: IpAddr, email: &str) -> Result<(), PageError> {
        self.signup_per_ip.check(&ip_key(ip))?;
        self.signup_per_email.check(&email_key(email))
    }
}

/// Keys not seen for a while are dropped every this many checks, so memory stays bounded
/// by recent traffic.
const PRUNE_EVERY: u64 = 1024;

struct KeyedLimiter<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("keys", &self.limiter.len())
            .finish()
    }
}

impl<K: std::hash::Hash + Eq + Clone> KeyedLimiter<K> {
    fn new(limit: RateLimit) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(limit.quota()),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), PageError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| PageError::TooManyAttempts {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }
}

/// IPv6 clients usually hold a whole /64, so they are limited per /64, not per address.
pub(super) fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Email budgets are per address as the database matches it: trimmed, case-insensitive.
/// Capped in length so junk input cannot make large keys (no valid address is longer).
pub(super) fn email_key(email: &str) -> String {
    email
        .trim()
        .chars()
        .take(254)
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_up_budget_runs_out_after_the_allowed_attempts() {
        let limiters = AuthLimiters::new(AuthLimits {
            signup_per_email: RateLimit::new(3, Duration::from_secs(3600)),
            ..AuthLimits::default()
        });
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..3 {
            assert!(limiters.signup_attempt(ip, "A@example.com").is_ok());
        }
        let Err(PageError::TooManyAttempts { retry_after }) =
            limiters.signup_attempt(ip, " a@EXAMPLE.com ")
        else {
            panic!("the fourth attempt for the same address must be refused");
        };
        assert!(retry_after > Duration::from_secs(1000));
        assert!(limiters.signup_attempt(ip, "b@example.com").is_ok());
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_budget() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }
}
