//! `POST /webhook/{token}` (SPEC §6): record, apply, answer. 200 only after the commit.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use jt_engine::Limits;
use jt_store::StoreError;
use jt_store::ingest::{IncomingSignal, IngestOutcome, Rejection, ingest_signal};
use serde_json::json;
use tracing::Instrument;

use crate::AppState;
use crate::position_json::PositionJson;

/// Bodies up to this size reach the handler, so an oversized alert (over the 64 KiB limit) is
/// still recorded as rejected; beyond it the connection is refused with 413 unrecorded.
const READ_LIMIT: usize = 1024 * 1024;

/// The webhook route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/{token}", post(receive))
        .layer(DefaultBodyLimit::max(READ_LIMIT))
}

async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Utc::now();
    let found = match state.store.webhook_recorder(&token).await {
        Ok(found) => found,
        Err(error) => return store_failure(&error),
    };
    let Some((recorder, user)) = found else {
        return unknown_webhook();
    };
    let span = tracing::info_span!("webhook", %recorder, %user);
    let incoming = IncomingSignal {
        body: &body,
        content_type: headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        source_ip: Some(peer.ip()),
        received_at,
    };
    let limits = Limits::default();
    let ingest = ingest_signal(&state.store, user, recorder, &incoming, &limits);
    let response = async {
        match ingest.await {
            Ok(outcome) => answer(outcome),
            Err(StoreError::NotFound(_)) => unknown_webhook(),
            Err(error) => store_failure(&error),
        }
    }
    .instrument(span)
    .await;
    crate::metrics::record_webhook_response(response, received_at).await
}

fn answer(outcome: IngestOutcome) -> Response {
    match outcome {
        IngestOutcome::Accepted {
            signal_id,
            position,
            delta,
            price,
        } => {
            tracing::info!(
                signal_id,
                delta,
                quantity = position.quantity,
                "signal accepted"
            );
            let position = PositionJson::new(&position, Some(signal_id), price);
            Json(json!({ "status": "accepted", "signal_id": signal_id, "position": position }))
                .into_response()
        }
        IngestOutcome::Duplicate {
            signal_id,
            original_signal_id,
        } => Json(json!({
            "status": "duplicate",
            "signal_id": signal_id,
            "duplicate_of": original_signal_id,
        }))
        .into_response(),
        IngestOutcome::Ignored { signal_id } => Json(json!({
            "status": "ignored",
            "signal_id": signal_id,
            "reason": "the recorder is paused",
        }))
        .into_response(),
        IngestOutcome::Rejected {
            signal_id,
            rejection,
        } => {
            let status = match rejection {
                Rejection::Disabled => StatusCode::FORBIDDEN,
                Rejection::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                Rejection::Unreadable(_) => StatusCode::BAD_REQUEST,
                Rejection::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            tracing::info!(signal_id, error = rejection.message(), "signal rejected");
            let body = json!({
                "status": "rejected",
                "signal_id": signal_id,
                "error": rejection.message(),
            });
            (status, Json(body)).into_response()
        }
    }
}

/// Unknown, regenerated or deleted token: no hint whether it ever existed.
fn unknown_webhook() -> Response {
    let body = json!({ "status": "rejected", "error": "unknown webhook URL: copy the current URL from the recorder page" });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// Never 200 without a commit: unavailable → 503 (TradingView retries), anything else → 500.
fn store_failure(error: &StoreError) -> Response {
    let (status, message) = if error.is_unavailable() {
        tracing::warn!(%error, "webhook refused: database unavailable");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily unavailable: the signal was not recorded, send it again",
        )
    } else {
        tracing::error!(%error, "webhook failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: the signal was not recorded",
        )
    };
    (status, Json(json!({ "status": "error", "error": message }))).into_response()
}
