//! `POST /webhook/{token}` (SPEC §6): record, apply, answer. 200 only after the commit.
//!
//! The whole request is handled in a task of its own: hyper drops a handler when its client
//! hangs up, and a TradingView alert whose body has arrived must be recorded whether or not
//! anyone is left to hear the answer. Once admitted, the signal belongs to the ingestor
//! (group commit); the task only waits for its outcome.

use std::net::IpAddr;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{SubsecRound, Utc};
use jt_store::ingest::{IngestError, SignalArrival};
use tracing::Instrument;

use crate::AppState;
use crate::client_ip::ClientIp;
use crate::webhook_answer::{self as answer, WebhookAnswer};
use crate::webhook_body::{BodyError, read_webhook_body};

/// The webhook route.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/{token}", post(receive))
}

async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let guard = state.webhooks.enter();
    let task = tokio::spawn(async move {
        let _guard = guard;
        let answer = handle(&state, &token, client, &headers, body, started).await;
        crate::metrics::record_webhook(answer.status_label(), started.elapsed());
        answer.into_response()
    });
    // Dropping this await (the client hung up) does not cancel the task.
    task.await.unwrap_or_else(|error| {
        tracing::error!(%error, "webhook task failed");
        WebhookAnswer::Failed.into_response()
    })
}

async fn handle(
    state: &AppState,
    token: &str,
    client: IpAddr,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
) -> WebhookAnswer {
    // PostgreSQL keeps microseconds: the signal is applied with the time exactly as stored,
    // so a rebuild replays the same instants.
    let received_at = Utc::now().trunc_subsecs(6);
    // The token first: an unknown URL never gets its body read.
    let target = match state.ingest.target(token).await {
        Ok(Some(target)) => target,
        Ok(None) => return WebhookAnswer::UnknownWebhook,
        Err(error) => return answer::store_failure(&error),
    };
    let span = tracing::info_span!("webhook", recorder = %target.recorder, user = %target.user);
    let arrival = async {
        let body = read_webhook_body(body, state.ingest.body_limit()).await?;
        Ok::<_, BodyError>(SignalArrival {
            target,
            body: body.bytes.to_vec(),
            content_type: headers
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            source_ip: Some(client),
            received_at,
        })
    };
    let arrival = match arrival.instrument(span.clone()).await {
        Ok(arrival) => arrival,
        Err(error) => {
            tracing::info!(parent: &span, %error, "webhook body not received");
            return WebhookAnswer::BodyNotReceived(error);
        }
    };
    let submitted = match state.ingest.submit(arrival) {
        Ok(submitted) => submitted,
        Err(refusal) => return WebhookAnswer::Refused(refusal),
    };
    // TradingView gives up at 3 s. A signal not confirmed in time is answered 503 and still
    // recorded; TradingView's resend is caught as a duplicate.
    let deadline = state
        .ingest
        .answer_deadline()
        .saturating_sub(started.elapsed());
    let answer = match submitted.outcome(deadline).await {
        Ok(outcome) => WebhookAnswer::Recorded(outcome),
        Err(IngestError::Refused(refusal)) => WebhookAnswer::Refused(refusal),
        Err(IngestError::UnknownRecorder) => WebhookAnswer::UnknownWebhook,
        Err(IngestError::Unavailable) => WebhookAnswer::Unavailable,
        Err(IngestError::NotConfirmed(_)) => WebhookAnswer::NotConfirmed,
        Err(IngestError::Failed) => WebhookAnswer::Failed,
    };
    answer.log(&span);
    answer
}
