//! What the webhook answers, as typed JSON (SPEC §6): the status code and body for every
//! outcome, in one place.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use jt_store::StoreError;
use jt_store::ingest::{IngestOutcome, Refusal, Rejection};
use serde::Serialize;

use crate::position_json::PositionJson;
use crate::webhook_body::BodyError;

/// Every way a webhook request ends.
#[derive(Debug)]
pub(crate) enum WebhookAnswer {
    /// Committed (accepted, duplicate, ignored or rejected).
    Recorded(IngestOutcome),
    /// Unknown, regenerated or deleted token: no hint whether it ever existed.
    UnknownWebhook,
    /// The body stalled or broke off before it was complete: nothing to record.
    BodyNotReceived(BodyError),
    /// Admission refused it (overload, fairness limit, shutdown).
    Refused(Refusal),
    /// The database is unreachable: not recorded.
    Unavailable,
    /// Queued but not confirmed within the deadline: it will be recorded.
    NotConfirmed,
    /// Not recorded because of a fault on our side (logged where it happened).
    Failed,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Body<'a> {
    Accepted {
        signal_id: i64,
        position: PositionJson,
    },
    Duplicate {
        signal_id: i64,
        duplicate_of: i64,
    },
    Ignored {
        signal_id: i64,
        reason: &'a str,
    },
    Rejected {
        #[serde(skip_serializing_if = "Option::is_none")]
        signal_id: Option<i64>,
        error: &'a str,
    },
    Error {
        error: &'a str,
    },
}

impl WebhookAnswer {
    /// A metric-friendly name of the answer.
    pub(crate) fn status_label(&self) -> &'static str {
        match self {
            Self::Recorded(IngestOutcome::Accepted { .. }) => "accepted",
            Self::Recorded(IngestOutcome::Duplicate { .. }) => "duplicate",
            Self::Recorded(IngestOutcome::Ignored { .. }) => "ignored",
            Self::Recorded(IngestOutcome::Rejected { .. }) => "rejected",
            Self::UnknownWebhook => "unknown",
            Self::BodyNotReceived(_) => "incomplete",
            Self::Refused(Refusal::Throttled { .. }) => "throttled",
            Self::Refused(_) => "overloaded",
            Self::Unavailable => "unavailable",
            Self::NotConfirmed => "unconfirmed",
            Self::Failed => "error",
        }
    }

    /// Logs the answer in the request's span.
    pub(crate) fn log(&self, span: &tracing::Span) {
        match self {
            Self::Recorded(IngestOutcome::Accepted {
                signal_id,
                position,
                delta,
                ..
            }) => {
                tracing::info!(parent: span, signal_id, delta, quantity = position.quantity, "signal accepted")
            }
            Self::Recorded(IngestOutcome::Rejected {
                signal_id,
                rejection,
            }) => {
                tracing::info!(parent: span, signal_id, error = rejection.message(), "signal rejected")
            }
            Self::Refused(refusal) => tracing::warn!(parent: span, %refusal, "signal refused"),
            other => {
                tracing::debug!(parent: span, answer = other.status_label(), "webhook answered")
            }
        }
    }
}

impl IntoResponse for WebhookAnswer {
    fn into_response(self) -> Response {
        match self {
            Self::Recorded(outcome) => recorded(outcome),
            Self::UnknownWebhook => reply(
                StatusCode::NOT_FOUND,
                &Body::Rejected {
                    signal_id: None,
                    error: "unknown webhook URL: copy the current URL from the recorder page",
                },
            ),
            Self::BodyNotReceived(error) => reply(
                error.status(),
                &Body::Error {
                    error: &format!("{error}: the signal was not recorded, send it again"),
                },
            ),
            Self::Refused(Refusal::Throttled { retry_after }) => retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                retry_after,
                "too many signals in flight for this account: the signal was not recorded, send it again shortly",
            ),
            Self::Refused(Refusal::Overloaded { retry_after }) => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                retry_after,
                "the server is overloaded: the signal was not recorded, send it again",
            ),
            Self::Refused(Refusal::ShuttingDown) => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(2),
                "the server is restarting: the signal was not recorded, send it again",
            ),
            Self::Unavailable => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(5),
                "temporarily unavailable: the signal was not recorded, send it again",
            ),
            Self::NotConfirmed => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(5),
                "the signal was received but not yet confirmed: send it again (a repeat is recognised as a duplicate)",
            ),
            Self::Failed => reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &Body::Error {
                    error: "internal error: the signal was not recorded",
                },
            ),
        }
    }
}

fn recorded(outcome: IngestOutcome) -> Response {
    match outcome {
        IngestOutcome::Accepted {
            signal_id,
            position,
            price,
            ..
        } => reply(
            StatusCode::OK,
            &Body::Accepted {
                signal_id,
                position: PositionJson::new(&position, Some(signal_id), price),
            },
        ),
        IngestOutcome::Duplicate {
            signal_id,
            original_signal_id,
        } => reply(
            StatusCode::OK,
            &Body::Duplicate {
                signal_id,
                duplicate_of: original_signal_id,
            },
        ),
        IngestOutcome::Ignored { signal_id } => reply(
            StatusCode::OK,
            &Body::Ignored {
                signal_id,
                reason: "the recorder is paused",
            },
        ),
        IngestOutcome::Rejected {
            signal_id,
            rejection,
        } => {
            let status = match rejection {
                Rejection::Disabled => StatusCode::FORBIDDEN,
                Rejection::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                Rejection::Unreadable(_) => StatusCode::BAD_REQUEST,
                Rejection::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Rejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            };
            reply(
                status,
                &Body::Rejected {
                    signal_id: Some(signal_id),
                    error: rejection.message(),
                },
            )
        }
    }
}

/// The token lookup failed: unavailable → 503 (TradingView resends), anything else → 500.
pub(crate) fn store_failure(error: &StoreError) -> WebhookAnswer {
    if error.is_unavailable() {
        tracing::warn!(%error, "webhook refused: database unavailable");
        WebhookAnswer::Unavailable
    } else {
        tracing::error!(%error, "webhook lookup failed");
        WebhookAnswer::Failed
    }
}

fn reply(status: StatusCode, body: &Body<'_>) -> Response {
    (status, Json(body)).into_response()
}

fn retry_later(status: StatusCode, after: Duration, error: &str) -> Response {
    let mut response = reply(status, &Body::Error { error });
    if let Ok(value) = HeaderValue::from_str(&after.as_secs().max(1).to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}
