//! Reading a webhook body: at most the size limit + 1 byte, so an oversized alert is still
//! recorded (truncated, as rejected) without the server reading megabytes of it.

use axum::body::Body;
use http_body_util::BodyExt;

/// The body did not arrive completely.
#[derive(Debug, thiserror::Error)]
#[error("the request body broke off: {0}")]
pub(crate) struct WebhookBodyError(axum::Error);

/// Reads up to `limit + 1` bytes of `body` and stops there.
pub(crate) async fn read_webhook_body(
    mut body: Body,
    limit: usize,
) -> Result<Vec<u8>, WebhookBodyError> {
    let mut bytes = Vec::new();
    while bytes.len() <= limit {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame.map_err(WebhookBodyError)?.into_data() {
            let room = limit + 1 - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(bytes)
}
