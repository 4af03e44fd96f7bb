//! Broker verification (SPEC §9): the position the signals say an account should hold per
//! contract, compared with what the broker reports. A check only records what it saw — a
//! snapshot, the latest comparison per contract, discrepancies — and never changes tracking.
//!
//! A contract that differs in two consecutive checks opens a discrepancy (one check apart,
//! orders still in flight settle); it closes at the first check where they match. A check
//! that cannot reach the broker marks the account "unavailable since …" and leaves the
//! comparison and the discrepancies as they were.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;

use crate::broker_accounts::{AccountKind, BrokerAccount, COLUMNS};
use crate::{BrokerAccountId, Store, StoreError, TenantTx};

/// The apalis queue (`apalis.jobs.job_type`) of verification checks.
pub const VERIFICATION_QUEUE: &str = "jt_verify_account";
/// Seconds between checks unless the user picks another interval.
pub const DEFAULT_INTERVAL_SECS: i32 = 60;
/// The shortest interval (the broker's rate limits are shared with order sending).
pub const MIN_INTERVAL_SECS: i32 = 10;
/// The longest interval: a day.
pub const MAX_INTERVAL_SECS: i32 = 86_400;
/// Consecutive differing checks that open a discrepancy.
pub const CHECKS_TO_OPEN: i32 = 2;
/// How long snapshots are kept.
pub const SNAPSHOT_RETENTION_DAYS: i32 = 7;

/// The verification switch and interval of an account, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationSettings {
    enabled: bool,
    interval_secs: i32,
}

impl VerificationSettings {
    /// Checks the interval (10 s to a day).
    pub fn new(enabled: bool, interval_secs: i64) -> Result<Self, StoreError> {
        let interval = i32::try_from(interval_secs)
            .ok()
            .filter(|secs| (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(secs))
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "the verification interval must be {MIN_INTERVAL_SECS} to \
                     {MAX_INTERVAL_SECS} seconds; got {interval_secs}"
                ))
            })?;
        Ok(Self {
            enabled,
            interval_secs: interval,
        })
    }

    /// On or off.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Seconds between checks.
    pub fn interval_secs(&self) -> i32 {
        self.interval_secs
    }
}

/// Turns verification on or off for an account (as read in this transaction), or changes its
/// interval. A newly enabled
/// account gets its first check at a random point of the first interval (accounts enabled
/// together do not fire together); a shorter interval brings a far-off check nearer. Turning
/// it off forgets the latest state and closes open discrepancies.
pub async fn set_verification(
    tx: &mut TenantTx,
    account: &BrokerAccount,
    settings: VerificationSettings,
) -> Result<BrokerAccount, StoreError> {
    let id = account.id;
    if settings.enabled && account.kind == AccountKind::Paper {
        return Err(StoreError::Invalid(
            "a paper account fills every order at the signal price, so there is no broker to \
             verify it against; turn verification on for a Tradovate account"
                .to_owned(),
        ));
    }
    if !settings.enabled && account.verification_enabled {
        forget_checks(tx, id).await?;
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update broker_accounts set
             verification_enabled = $2,
             verification_interval_secs = $3,
             verification_due_at = case
                 when not $2 then null
                 when verification_enabled then least(
                     verification_due_at, now() + make_interval(secs => $3))
                 else now() + random() * make_interval(secs => $3)
             end
         where id = $1
         returning {COLUMNS}"
    )))
    .bind(id)
    .bind(settings.enabled)
    .bind(settings.interval_secs)
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from)
}

/// Verification turned off: the latest state and the runs of differing checks go (turned on
/// again, it starts afresh rather than from a stale run), and open discrepancies close, as
/// nobody watches them any more. Snapshots and closed discrepancies stay as history.
async fn forget_checks(tx: &mut TenantTx, id: BrokerAccountId) -> Result<(), StoreError> {
    sqlx::query(
        "with contracts as (delete from verification_contracts where account_id = $1),
              latest as (delete from account_verifications where account_id = $1)
         update discrepancies set closed_at = now() where account_id = $1 and closed_at is null",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The net position per contract the account should hold by the signals: Σ over its enabled links
/// of the recorder's position × the link's multiplier. Non-zero only.
pub async fn expected_positions(
    tx: &mut TenantTx,
    account: BrokerAccountId,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "select p.contract, sum(p.quantity * l.multiplier)::bigint
         from recorder_account_links l
         join recorder_positions p on p.recorder_id = l.recorder_id
         where l.account_id = $1 and l.enabled and p.contract is not null
         group by p.contract
         having sum(p.quantity * l.multiplier) <> 0
         order by p.contract",
    )
    .bind(account)
    .fetch_all(tx.conn())
    .await?)
}

/// One contract compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContractCheck {
    /// The symbol, e.g. `NQZ6`.
    pub contract: String,
    /// By the signals.
    pub expected: i64,
    /// At the broker.
    pub actual: i64,
}

impl ContractCheck {
    /// Whether the broker differs from the signals.
    pub fn differs(&self) -> bool {
        self.expected != self.actual
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The broker answered: every contract held on either side.
    Reached(Vec<ContractCheck>),
    /// The broker could not be asked (why).
    Unavailable(String),
}

/// Where an account's verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Verification is off for the account.
    Off,
    /// On, not checked yet.
    Pending,
    /// The broker holds what the signals say.
    Matched,
    /// The last check differed once: waiting for the next (orders in flight settle).
    Settling,
    /// A discrepancy is open.
    Mismatched,
    /// The broker could not be reached (see `unavailable_since`).
    Unavailable,
}

impl VerificationStatus {
    /// The stored (and shown) word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Pending => "pending",
            Self::Matched => "matched",
            Self::Settling => "settling",
            Self::Mismatched => "mismatched",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Records one check of an account (in the account owner's transaction) and returns the
/// status it leaves the account in.
pub async fn record_check(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    at: DateTime<Utc>,
    outcome: &CheckOutcome,
) -> Result<VerificationStatus, StoreError> {
    // PostgreSQL keeps microseconds; times that travel as JSON must round the same way.
    let at = at.trunc_subsecs(6);
    // Two checks of one account that overlap (a slow broker, a short interval) take turns.
    sqlx::query("select 1 from broker_accounts where id = $1 for no key update")
        .bind(account)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("account"))?;
    let status = match outcome {
        CheckOutcome::Reached(contracts) => record_reached(tx, account, at, contracts).await?,
        CheckOutcome::Unavailable(message) => {
            record_unavailable(tx, account, at, message).await?;
            VerificationStatus::Unavailable
        }
    };
    sqlx::query(
        "delete from verification_snapshots
         where account_id = $1 and checked_at < $2 - make_interval(days => $3)",
    )
    .bind(account)
    .bind(at)
    .bind(SNAPSHOT_RETENTION_DAYS)
    .execute(tx.conn())
    .await?;
    Ok(status)
}

async fn record_reached(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    at: DateTime<Utc>,
    contracts: &[ContractCheck],
) -> Result<VerificationStatus, StoreError> {
    let user = tx.user_id();
    let previous: HashMap<String, (i32, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select contract, mismatches, differs_since from verification_contracts
         where account_id = $1",
    )
    .bind(account)
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(
        |(contract, mismatches, since): (String, i32, Option<DateTime<Utc>>)| {
            (contract, (mismatches, since))
        },
    )
    .collect();
    let rows: Vec<ComparedRow> = contracts
        .iter()
        .map(|check| ComparedRow::after(check, previous.get(&check.contract), at))
        .collect();
    sqlx::query("delete from verification_contracts where account_id = $1")
        .bind(account)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "insert into verification_contracts
             (account_id, user_id, contract, expected, actual, mismatches, differs_since,
              checked_at)
         select $1, $2, r.contract, r.expected, r.actual, r.mismatches, r.differs_since, $3
         from jsonb_to_recordset($4) as r(contract text, expected bigint, actual bigint,
                                           mismatches integer, differs_since timestamptz)",
    )
    .bind(account)
    .bind(user)
    .bind(at)
    .bind(sqlx::types::Json(&rows))
    .execute(tx.conn())
    .await?;
    let persistent: Vec<&ComparedRow> = rows
        .iter()
        .filter(|r| r.mismatches >= CHECKS_TO_OPEN)
        .collect();
    // Open (or keep open with the latest values) the persistent ones; close the rest.
    sqlx::query(
        "insert into discrepancies
             (user_id, account_id, contract, expected, actual, first_seen, last_seen)
         select $1, $2, r.contract, r.expected, r.actual, coalesce(r.differs_since, $3), $3
         from jsonb_to_recordset($4) as r(contract text, expected bigint, actual bigint,
                                           differs_since timestamptz)
         on conflict (account_id, contract) where closed_at is null
         do update set expected = excluded.expected, actual = excluded.actual,
                       last_seen = excluded.last_seen",
    )
    .bind(user)
    .bind(account)
    .bind(at)
    .bind(sqlx::types::Json(&persistent))
    .execute(tx.conn())
    .await?;
    let still_open: Vec<&str> = persistent.iter().map(|r| r.contract.as_str()).collect();
    sqlx::query(
        "update discrepancies set closed_at = $2
         where account_id = $1 and closed_at is null and contract <> all($3)",
    )
    .bind(account)
    .bind(at)
    .bind(&still_open)
    .execute(tx.conn())
    .await?;
    let differs = rows.iter().any(|r| r.mismatches > 0);
    let status = if !persistent.is_empty() {
        VerificationStatus::Mismatched
    } else if differs {
        VerificationStatus::Settling
    } else {
        VerificationStatus::Matched
    };
    insert_snapshot(
        tx,
        account,
        at,
        if differs { "mismatched" } else { "matched" },
        contracts,
        None,
    )
    .await?;
    sqlx::query(
        "insert into account_verifications (account_id, user_id, status, checked_at)
         values ($1, $2, $3, $4)
         on conflict (account_id) do update set status = excluded.status,
             checked_at = excluded.checked_at, unavailable_since = null, message = null",
    )
    .bind(account)
    .bind(user)
    .bind(status)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(status)
}

async fn record_unavailable(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    at: DateTime<Utc>,
    message: &str,
) -> Result<(), StoreError> {
    insert_snapshot(tx, account, at, "unavailable", &[], Some(message)).await?;
    sqlx::query(
        "insert into account_verifications
             (account_id, user_id, status, unavailable_since, message)
         values ($1, $2, 'unavailable', $3, $4)
         on conflict (account_id) do update set status = 'unavailable',
             unavailable_since = coalesce(account_verifications.unavailable_since,
                                          excluded.unavailable_since),
             message = excluded.message",
    )
    .bind(account)
    .bind(tx.user_id())
    .bind(at)
    .bind(message)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn insert_snapshot(
    tx: &mut TenantTx,
    account: BrokerAccountId,
    at: DateTime<Utc>,
    status: &str,
    contracts: &[ContractCheck],
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into verification_snapshots (user_id, account_id, checked_at, status, contracts, error)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.user_id())
    .bind(account)
    .bind(at)
    .bind(status)
    .bind(sqlx::types::Json(contracts))
    .bind(error)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A contract's comparison with its run of differing checks carried on.
#[derive(Debug, Serialize)]
struct ComparedRow {
    contract: String,
    expected: i64,
    actual: i64,
    mismatches: i32,
    differs_since: Option<DateTime<Utc>>,
}

impl ComparedRow {
    fn after(
        check: &ContractCheck,
        previous: Option<&(i32, Option<DateTime<Utc>>)>,
        at: DateTime<Utc>,
    ) -> Self {
        let (mismatches, differs_since) = match (check.differs(), previous) {
            (false, _) => (0, None),
            (true, Some((before, since))) if *before > 0 => {
                (before.saturating_add(1), since.or(Some(at)))
            }
            (true, _) => (1, Some(at)),
        };
        Self {
            contract: check.contract.clone(),
            expected: check.expected,
            actual: check.actual,
            mismatches,
            differs_since,
        }
    }
}

/// A difference that persisted (open while `closed_at` is none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Discrepancy {
    /// The symbol.
    pub contract: String,
    /// By the signals (latest while open).
    pub expected: i64,
    /// At the broker (latest while open).
    pub actual: i64,
    /// First check of the run that differed.
    pub first_seen: DateTime<Utc>,
    /// Latest check that differed.
    pub last_seen: DateTime<Utc>,
    /// The check that matched again.
    pub closed_at: Option<DateTime<Utc>>,
}

/// What the user sees of an account's verification.
#[derive(Debug, Clone)]
pub struct VerificationView {
    /// Where it stands.
    pub status: VerificationStatus,
    /// Last time the broker answered.
    pub checked_at: Option<DateTime<Utc>>,
    /// Since when the broker cannot be reached.
    pub unavailable_since: Option<DateTime<Utc>>,
    /// Why it cannot be reached.
    pub message: Option<String>,
    /// The latest comparison, per contract held on either side.
    pub contracts: Vec<ContractCheck>,
    /// Open ones first, then the most recently closed.
    pub discrepancies: Vec<Discrepancy>,
}

/// Status, last answer, unavailable since, why.
type LatestCheck = (
    VerificationStatus,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

/// How many discrepancies (open and closed) the view shows.
const DISCREPANCY_HISTORY: i64 = 50;

/// The account's verification as of its latest check.
pub async fn verification_view(
    tx: &mut TenantTx,
    account: &BrokerAccount,
) -> Result<VerificationView, StoreError> {
    let latest: Option<LatestCheck> = sqlx::query_as(
        "select status, checked_at, unavailable_since, message
             from account_verifications where account_id = $1",
    )
    .bind(account.id)
    .fetch_optional(tx.conn())
    .await?;
    let contracts: Vec<ContractCheck> = sqlx::query_as(
        "select contract, expected, actual from verification_contracts
         where account_id = $1 order by contract",
    )
    .bind(account.id)
    .fetch_all(tx.conn())
    .await?;
    let discrepancies = sqlx::query_as(
        "select contract, expected, actual, first_seen, last_seen, closed_at
         from discrepancies where account_id = $1
         order by closed_at is null desc, id desc limit $2",
    )
    .bind(account.id)
    .bind(DISCREPANCY_HISTORY)
    .fetch_all(tx.conn())
    .await?;
    let (status, checked_at, unavailable_since, message) = match latest {
        _ if !account.verification_enabled => (VerificationStatus::Off, None, None, None),
        None => (VerificationStatus::Pending, None, None, None),
        Some(latest) => latest,
    };
    Ok(VerificationView {
        status,
        checked_at,
        unavailable_since,
        message,
        // A comparison from before verification was turned off would be stale.
        contracts: if account.verification_enabled {
            contracts
        } else {
            Vec::new()
        },
        discrepancies,
    })
}

/// Claims the accounts whose check is due (of every tenant, active users only), moves their
/// next check one interval on and queues a job each on [`VERIFICATION_QUEUE`]; safe with
/// several workers at once. Returns how many were queued.
pub async fn queue_due_verifications(
    store: &Store,
    now: DateTime<Utc>,
    limit: i32,
) -> Result<i32, StoreError> {
    Ok(
        sqlx::query_scalar("select queue_due_verifications($1, $2, $3)")
            .bind(now)
            .bind(VERIFICATION_QUEUE)
            .bind(limit)
            .fetch_one(store.unscoped_pool())
            .await?,
    )
}
