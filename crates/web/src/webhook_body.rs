//! Reading a webhook body without ever holding more than the limit + 1 byte (SPEC §6): a body
//! over the limit is still recorded (truncated, as rejected with 413), and a sender that
//! promises a huge body cannot make us buffer it.

use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::StatusCode;

use crate::BodyTimedOut;

/// What was read of a webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookBody {
    /// The body, or its first `limit + 1` bytes when it is longer.
    pub bytes: Bytes,
    /// True when the body is longer than the limit (then `bytes` holds `limit + 1` bytes and
    /// the rest was never read).
    pub over_limit: bool,
}

/// A body that could not be read to its end (or to the limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The sender stopped sending before the body was complete (answer 408).
    #[error(
        "the request body did not arrive within {} s: send the whole body at once",
        .0.as_secs_f64()
    )]
    TimedOut(Duration),
    /// The connection broke or the body's framing (chunked encoding, length) was invalid
    /// (answer 400, if the sender is still there to read it).
    #[error("the request body could not be read: the connection broke or its encoding is invalid")]
    Broken,
}

impl BodyError {
    /// The status to answer with: 408 for a stalled body, 400 for a broken one.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Broken => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads `body` up to `limit + 1` bytes and stops there: the rest of a longer body is never
/// read (the server closes the connection after answering).
pub async fn read_webhook_body(mut body: Body, limit: usize) -> Result<WebhookBody, BodyError> {
    let keep = limit.saturating_add(1);
    // Most bodies arrive as one frame: keep it without copying; copy only when a second
    // frame comes.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while len < keep {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let data = match frame {
            None => break,
            Some(Err(error)) => return Err(classify(&error)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                // Trailers carry nothing we keep.
                Err(_) => continue,
            },
        };
        let data = data.slice(..data.len().min(keep - len));
        len += data.len();
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            None => joined.extend_from_slice(&data),
            Some(earlier) => {
                joined.reserve(len.min(keep));
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&data);
            }
        }
    }
    let bytes = first.unwrap_or_else(|| Bytes::from(joined));
    Ok(WebhookBody {
        over_limit: bytes.len() > limit,
        bytes,
    })
}

/// A body error caused by the server's body deadline is a timeout; anything else is broken.
fn classify(error: &axum::Error) -> BodyError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(timed_out) = current.downcast_ref::<BodyTimedOut>() {
            return BodyError::TimedOut(timed_out.0);
        }
        cause = current.source();
    }
    BodyError::Broken
}

#[cfg(test)]
#[path = "webhook_body_tests.rs"]
mod tests;
