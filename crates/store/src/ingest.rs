//! Webhook ingest (SPEC §6): one signal, one transaction. The recorder row is locked (so
//! signals of a recorder apply one at a time, in arrival order, each with the next sequence
//! number), the signal is stored whatever its fate, and for accepted signals the position and
//! any closed trade are written in the same transaction — committed before the caller answers.

use std::net::IpAddr;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use jt_engine::{Alert, AlertError, ApplyContext, Limits, Position, apply, parse_alert};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::recorders::RecorderStatus;
use crate::signal_log::{NewSignal, SignalStatus, insert_signal};
use crate::state::{
    contract_override, last_known_price, load_position, save_position, save_trades,
};
use crate::{RecorderId, Store, StoreError, TenantTx, UserId};

/// A webhook request as received.
#[derive(Debug, Clone)]
pub struct IncomingSignal<'a> {
    /// The body, possibly over the size limit (then only the first `max_body_bytes` are kept).
    pub body: &'a [u8],
    /// `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// Client address.
    pub source_ip: Option<IpAddr>,
    /// Arrival time: orders the roll calendar, trades and the duplicate window.
    pub received_at: DateTime<Utc>,
}

/// Why a signal was rejected; decides the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The user is disabled (403).
    Disabled,
    /// The body is over the size limit (413).
    TooLarge(String),
    /// The body is not a readable alert at all (400).
    Unreadable(String),
    /// The alert is readable but a field is wrong (422).
    Invalid(String),
}

impl Rejection {
    /// The message stored with the signal and sent to the client.
    pub fn message(&self) -> &str {
        match self {
            Self::Disabled => "this account is disabled: signals are recorded but not applied",
            Self::TooLarge(m) | Self::Unreadable(m) | Self::Invalid(m) => m,
        }
    }

    fn of_alert(error: &AlertError) -> Self {
        match error {
            AlertError::TooLarge { .. } => Self::TooLarge(error.to_string()),
            AlertError::Empty
            | AlertError::InvalidJson { .. }
            | AlertError::NotAnObject { .. }
            | AlertError::BadText { .. } => Self::Unreadable(error.to_string()),
            _ => Self::Invalid(error.to_string()),
        }
    }
}

/// What happened to a signal. Every variant has been stored under `signal_id`.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Applied: the position after it.
    Accepted {
        /// Stored signal.
        signal_id: i64,
        /// The position of the signal's root afterwards.
        position: Box<Position>,
        /// Change of signed position (what execution will order).
        delta: i64,
        /// The price it was applied at: the alert's, or the user's last known price of the
        /// root. The freshest price of the root, so also the mark for unrealized P&L.
        price: Option<Decimal>,
    },
    /// Same `id` (or same body within the duplicate window) as an accepted signal.
    Duplicate {
        /// Stored signal.
        signal_id: i64,
        /// The accepted signal it repeats.
        original_signal_id: i64,
    },
    /// The recorder is paused.
    Ignored {
        /// Stored signal.
        signal_id: i64,
    },
    /// Refused with a reason.
    Rejected {
        /// Stored signal.
        signal_id: i64,
        /// Why.
        rejection: Rejection,
    },
}

/// The recorder's settings as locked for this signal.
#[derive(Debug, sqlx::FromRow)]
struct LockedRecorder {
    status: RecorderStatus,
    default_quantity: i32,
    duplicate_window_secs: i32,
    commission_per_contract: Decimal,
    contract_override: Option<String>,
    seq: i64,
    user_status: String,
}

/// Records and applies one webhook signal for `recorder` (found by its token).
pub async fn ingest_signal(
    store: &Store,
    user: UserId,
    recorder: RecorderId,
    incoming: &IncomingSignal<'_>,
    limits: &Limits,
) -> Result<IngestOutcome, StoreError> {
    // PostgreSQL keeps microseconds: apply with the time exactly as stored, so a rebuild
    // from the stored signals replays the same instants.
    let incoming = &IncomingSignal {
        received_at: incoming.received_at.trunc_subsecs(6),
        ..incoming.clone()
    };
    let _turn = store.gates.enter(recorder).await;
    let mut tx = store.tenant(user).await?;
    // Takes the row lock and the next sequence number in one statement.
    let locked: LockedRecorder = sqlx::query_as(
        "update recorders set last_seq = last_seq + 1 where id = $1 and status <> 'deleted'
         returning status, default_quantity, duplicate_window_secs, commission_per_contract,
                   contract_override, last_seq as seq,
                   (select status from users where id = recorders.user_id) as user_status",
    )
    .bind(recorder)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("recorder"))?;

    let kept = &incoming.body[..incoming.body.len().min(limits.max_body_bytes)];
    let mut signal = NewSignal::new(recorder, locked.seq, incoming, kept);
    let outcome = match decide(&mut tx, &locked, incoming, limits, &mut signal).await? {
        Decision::Reject(rejection) => {
            signal.reject(&rejection);
            let signal_id = insert_signal(&mut tx, &signal).await?;
            IngestOutcome::Rejected {
                signal_id,
                rejection,
            }
        }
        Decision::Ignore => {
            signal.status = SignalStatus::Ignored;
            let signal_id = insert_signal(&mut tx, &signal).await?;
            IngestOutcome::Ignored { signal_id }
        }
        Decision::Duplicate(original_signal_id) => {
            signal.status = SignalStatus::Duplicate;
            let signal_id = insert_signal(&mut tx, &signal).await?;
            IngestOutcome::Duplicate {
                signal_id,
                original_signal_id,
            }
        }
        Decision::Apply(alert, ctx) => {
            apply_and_store(&mut tx, recorder, &alert, &ctx, &mut signal).await?
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

enum Decision {
    Reject(Rejection),
    Ignore,
    Duplicate(i64),
    Apply(Box<Alert>, Box<ApplyContext>),
}

async fn decide(
    tx: &mut TenantTx,
    locked: &LockedRecorder,
    incoming: &IncomingSignal<'_>,
    limits: &Limits,
    signal: &mut NewSignal,
) -> Result<Decision, StoreError> {
    if locked.user_status != "active" {
        return Ok(Decision::Reject(Rejection::Disabled));
    }
    let alert = match parse_alert(incoming.body, limits) {
        Ok(alert) => alert,
        Err(error) => return Ok(Decision::Reject(Rejection::of_alert(&error))),
    };
    signal.describe(&alert);
    if locked.status == RecorderStatus::Paused {
        return Ok(Decision::Ignore);
    }
    if let Some(original) = find_duplicate(tx, signal, &alert, locked.duplicate_window_secs).await?
    {
        return Ok(Decision::Duplicate(original));
    }
    let root = alert.symbol.root;
    let contract_override = contract_override(
        locked.contract_override.as_deref(),
        root,
        incoming.received_at,
    );
    let last_known = match alert.price {
        Some(_) => None,
        None => last_known_price(tx, root).await?,
    };
    let default_quantity = u32::try_from(locked.default_quantity).unwrap_or(1);
    signal.default_quantity = Some(locked.default_quantity);
    signal.commission_per_contract = Some(locked.commission_per_contract);
    signal
        .contract_override
        .clone_from(&locked.contract_override);
    Ok(Decision::Apply(
        Box::new(alert),
        Box::new(ApplyContext {
            now: incoming.received_at,
            default_quantity,
            commission_per_contract: locked.commission_per_contract,
            last_known_price: last_known,
            contract_override,
        }),
    ))
}

/// The accepted signal this one repeats: same `id`, or (without `id`) the same body within
/// the recorder's duplicate window.
async fn find_duplicate(
    tx: &mut TenantTx,
    signal: &NewSignal,
    alert: &Alert,
    window_secs: i32,
) -> Result<Option<i64>, StoreError> {
    if let Some(id) = &alert.id {
        return Ok(sqlx::query_scalar(
            "select id from recorded_signals
             where recorder_id = $1 and client_signal_id = $2 and status = 'accepted'",
        )
        .bind(signal.recorder_id)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?);
    }
    if window_secs <= 0 {
        return Ok(None);
    }
    let since = signal.received_at - Duration::seconds(i64::from(window_secs));
    Ok(sqlx::query_scalar(
        "select id from recorded_signals
         where recorder_id = $1 and body_sha256 = $2 and status = 'accepted' and received_at >= $3
         order by received_at desc limit 1",
    )
    .bind(signal.recorder_id)
    .bind(&signal.body_sha256)
    .bind(since)
    .fetch_optional(tx.conn())
    .await?)
}

async fn apply_and_store(
    tx: &mut TenantTx,
    recorder: RecorderId,
    alert: &Alert,
    ctx: &ApplyContext,
    signal: &mut NewSignal,
) -> Result<IngestOutcome, StoreError> {
    let position = load_position(tx, recorder, alert.symbol.root).await?;
    let applied = match apply(&position, alert, ctx) {
        Ok(applied) => applied,
        Err(error) => {
            let rejection = Rejection::Invalid(error.to_string());
            signal.reject(&rejection);
            let signal_id = insert_signal(tx, signal).await?;
            return Ok(IngestOutcome::Rejected {
                signal_id,
                rejection,
            });
        }
    };
    signal.record_applied(&applied);
    let signal_id = insert_signal(tx, signal).await?;
    save_position(
        tx,
        recorder,
        &applied.position,
        signal_id,
        price_observed(&applied, ctx),
    )
    .await?;
    save_trades(tx, recorder, signal_id, applied.closed_trade.as_slice()).await?;
    Ok(IngestOutcome::Accepted {
        signal_id,
        delta: applied.delta,
        price: applied.price,
        position: Box::new(applied.position),
    })
}

/// When the signal carried its own price, the root's last price is now fresh.
fn price_observed(applied: &jt_engine::Applied, ctx: &ApplyContext) -> Option<DateTime<Utc>> {
    (applied.price_source == jt_engine::PriceSource::Signal).then_some(ctx.now)
}

/// SHA-256 of a body (duplicate-window key).
pub(crate) fn body_hash(body: &[u8]) -> Vec<u8> {
    Sha256::digest(body).to_vec()
}
