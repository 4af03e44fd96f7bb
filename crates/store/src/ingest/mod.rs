//! Webhook ingest (SPEC §6) with group commit.
//!
//! A webhook hands its signal to the [`Ingestor`] and awaits the answer. Signals that arrive
//! together, from any recorders and users, are written in one transaction with one WAL
//! flush, and each is answered only after that commit: 200 still means "recorded and
//! applied". The work belongs to the ingestor's tasks, not to the HTTP request, so a sender
//! that hangs up after its body cannot cancel it.
//!
//! - **Order**: a recorder always maps to the same shard, and a shard starts a batch only
//!   after every earlier batch sharing a recorder with it has finished, so a recorder's
//!   signals apply in arrival order; across processes the recorder's row lock orders them
//!   (taken in one global order, so batches cannot deadlock).
//! - **Isolation**: one signal's rejection is a stored row like any other. A batch that fails
//!   for another reason is retried one signal per transaction, so a bad neighbour fails alone.
//! - **One round trip**: each process remembers what its last batch left per recorder (the
//!   facts cache) and writes the next batch with one autocommit `ingest_apply`, which
//!   writes a tenant group only if that recorder's row is unchanged since (its `xmin`);
//!   a stale group is decided again from facts read under the row locks. The cache
//!   predicts, the row versions decide: correctness never depends on being the only process.
//! - **Tenancy**: `ingest_facts` and `ingest_apply` run as the owner, one set of
//!   statements for all tenants of a batch, and touch only recorders whose webhook token
//!   hash the call presents; every row takes its `user_id` from its recorder (see the
//!   migration `ingest_across_tenants`). Everything else runs under the tenant's scope.
//! - **Back-pressure**: admission refuses fast (503) when the queue would wait too long,
//!   and limits how much of it one user may hold (429).

mod admission;
mod announcer;
mod batch;
mod batcher;
mod decide;
mod facts_cache;
mod order_intents;
pub(crate) mod records;
mod token_cache;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jt_engine::{AlertError, Position};
use rust_decimal::Decimal;

pub use admission::Refusal;
pub use batcher::{IngestConfig, Ingestor, Submitted};
pub use token_cache::WebhookTarget;

use crate::{RecorderId, UserId};

/// Longest `Content-Type` header stored (longer ones are rejected, stored truncated).
pub const MAX_CONTENT_TYPE_CHARS: usize = 128;

/// A webhook request as received. Owned: it outlives the HTTP connection.
#[derive(Debug, Clone)]
pub struct SignalArrival {
    /// The recorder and its owner, from the token.
    pub target: WebhookTarget,
    /// What was read of the body: at most the size limit + 1 byte.
    pub body: Vec<u8>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Client address.
    pub source_ip: Option<IpAddr>,
    /// Arrival time: orders the roll calendar, trades and the duplicate window.
    pub received_at: DateTime<Utc>,
}

impl SignalArrival {
    /// The recorder.
    pub fn recorder(&self) -> RecorderId {
        self.target.recorder
    }

    /// The recorder's owner.
    pub fn user(&self) -> UserId {
        self.target.user
    }
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
    /// Applying it failed on our side; it is kept, unapplied (500).
    Internal,
}

impl Rejection {
    /// The message stored with the signal and sent to the client.
    pub fn message(&self) -> &str {
        match self {
            Self::Disabled => "this account is disabled: signals are recorded but not applied",
            Self::Internal => {
                "internal error: the signal was recorded but could not be applied; it is kept in the signal log"
            }
            Self::TooLarge(m) | Self::Unreadable(m) | Self::Invalid(m) => m,
        }
    }

    fn of_alert(error: &AlertError) -> Self {
        let message = error.to_string();
        match error {
            AlertError::TooLarge { .. } => Self::TooLarge(message),
            AlertError::NotUtf8
            | AlertError::Empty
            | AlertError::InvalidJson { .. }
            | AlertError::NotAnObject { .. }
            | AlertError::BadText { .. } => Self::Unreadable(message),
            AlertError::MissingAction
            | AlertError::MissingTicker
            | AlertError::UnknownAction { .. }
            | AlertError::WrongType { .. }
            | AlertError::UnfilledPlaceholder { .. }
            | AlertError::NotANumber { .. }
            | AlertError::QuantityNotWhole { .. }
            | AlertError::QuantityNotPositive { .. }
            | AlertError::QuantityTooLarge { .. }
            | AlertError::TargetNotWhole { .. }
            | AlertError::PriceNotPositive { .. }
            | AlertError::PriceTooPrecise { .. }
            | AlertError::PriceTooLarge { .. }
            | AlertError::UnknownMarketPosition { .. }
            | AlertError::MarketPositionWithoutSize { .. }
            | AlertError::TargetsDisagree { .. }
            | AlertError::Symbol { .. }
            | AlertError::ControlCharacter { .. }
            | AlertError::TooLong { .. } => Self::Invalid(message),
        }
    }
}

/// What happened to a signal. Every variant has been committed under `signal_id`.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Applied: the position after it.
    Accepted {
        /// Stored signal.
        signal_id: i64,
        /// The position of the signal's root afterwards.
        position: Box<Position>,
        /// Change of signed position.
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

/// Why a signal was not recorded (or not confirmed).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Admission refused it before anything was written (503 or 429).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The token no longer matches a live recorder (regenerated or deleted meanwhile).
    #[error("unknown webhook")]
    UnknownRecorder,
    /// The database could not be reached: nothing of its batch was written (503).
    #[error("the database is unavailable")]
    Unavailable,
    /// Writing it failed for another reason (logged where it happened; 500).
    #[error("the signal could not be written")]
    Failed,
    /// The answer did not come within the deadline. The signal stays queued and will be
    /// recorded; a resend is caught as a duplicate.
    #[error("the signal was not confirmed within {0:?}")]
    NotConfirmed(Duration),
}
