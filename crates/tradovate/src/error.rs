//! What a Tradovate call can fail with, and what the caller should do about it
//! ([`ErrorClass`]): retry, stop for the lock-out, give up, or look the order up first.

use std::time::Duration;

/// Why Tradovate locked the caller out (SPEC §8: about an hour; never hammer it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOut {
    /// A penalty ticket that demands a captcha: a server cannot solve it.
    Captcha,
    /// HTTP 423: "you are about to be locked out".
    Locked,
    /// HTTP 429: the user-level limit; requests are refused for a while.
    TooManyRequests,
}

impl LockOut {
    /// A short name for logs and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Captcha => "p-captcha",
            Self::Locked => "HTTP 423",
            Self::TooManyRequests => "HTTP 429",
        }
    }
}

/// What the caller should do with a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Nothing was done at the broker; trying again later is safe.
    Retryable,
    /// The broker locked us out: stop sending for this account until [`TradovateError::retry_after`].
    LockedOut,
    /// Trying again cannot help (rejection, bad credentials, a request the broker refuses).
    Final,
    /// The request may or may not have been carried out (timeout or broken connection after
    /// sending): look the order up before sending it again.
    Ambiguous,
}

/// A failed Tradovate call.
#[derive(Debug, thiserror::Error)]
pub enum TradovateError {
    /// The connection could not be opened: the request never left.
    #[error("could not connect to Tradovate: {0}")]
    Connect(String),
    /// No answer within the timeout after the request was sent.
    #[error("Tradovate did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke after the request was sent.
    #[error("the connection to Tradovate broke before it answered: {0}")]
    Interrupted(String),
    /// HTTP 5xx.
    #[error("Tradovate answered HTTP {0} (a server error; it will be retried)")]
    Server(u16),
    /// A rate-limit penalty ticket: resend after `wait` with the ticket.
    #[error("Tradovate's rate limit asks to wait {wait:?} before sending again")]
    Penalty {
        /// The ticket to resend with.
        ticket: String,
        /// How long to wait.
        wait: Duration,
    },
    /// Locked out (captcha, 423 or 429).
    #[error("Tradovate locked this login out ({}): no orders are sent until {retry_after:?} has passed", kind.as_str())]
    LockedOut {
        /// Which lock-out.
        kind: LockOut,
        /// How long to stay away.
        retry_after: Duration,
    },
    /// The credentials were refused (`errorText` of the token request).
    #[error(
        "Tradovate refused the login: {0}. Check the username, password, app id, cid and secret"
    )]
    Login(String),
    /// Still 401 after logging in again.
    #[error("Tradovate refused the access token even after logging in again")]
    Unauthorized,
    /// A business rejection of an order (`failureReason`).
    #[error("Tradovate rejected the order: {reason}{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Rejected {
        /// `failureReason`, e.g. `MaxPosLimitReached`.
        reason: String,
        /// `failureText`.
        text: Option<String>,
    },
    /// HTTP 404 or an empty find.
    #[error("Tradovate has no {0}")]
    NotFound(String),
    /// Any other answer we cannot use (4xx, malformed JSON).
    #[error("unexpected answer from Tradovate: {0}")]
    Protocol(String),
    /// The client could not be built (bad base URL, TLS set-up).
    #[error("invalid Tradovate client configuration: {0}")]
    Config(String),
}

/// The lock-out Tradovate imposes for captcha, 423 and 429: "wait an hour".
pub const LOCK_OUT: Duration = Duration::from_secs(3600);

impl TradovateError {
    /// What the caller should do.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Connect(_) | Self::Server(_) | Self::Penalty { .. } => ErrorClass::Retryable,
            Self::LockedOut { .. } => ErrorClass::LockedOut,
            Self::Timeout(_) | Self::Interrupted(_) => ErrorClass::Ambiguous,
            Self::Login(_)
            | Self::Unauthorized
            | Self::Rejected { .. }
            | Self::NotFound(_)
            | Self::Protocol(_)
            | Self::Config(_) => ErrorClass::Final,
        }
    }

    /// How long to wait before the next attempt, when the broker said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Penalty { wait, .. } => Some(*wait),
            Self::LockedOut { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error, timeout: Duration) -> Self {
        // Connect first: a connect timeout never sent anything.
        if error.is_connect() {
            Self::Connect(error_chain(&error))
        } else if error.is_timeout() {
            Self::Timeout(timeout)
        } else if error.is_decode() {
            Self::Protocol(error_chain(&error))
        } else {
            Self::Interrupted(error_chain(&error))
        }
    }
}

/// The error with its causes, one line (reqwest's own message is "error sending request").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
