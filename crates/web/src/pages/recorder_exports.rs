//! Downloads from the recorder page: CSV of signals and trades (`?from=&to=`), and the raw
//! body of one signal exactly as it arrived.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jt_store::signal_log::signal_raw_body;

use super::recorder_id;
use crate::AppState;
use crate::auth::AuthUser;
use crate::csv_export::{Export, ExportQuery, csv_export};
use crate::page_error::PageError;

/// `GET /recorders/{id}/signals.csv`.
pub(super) async fn signals_csv(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    Ok(csv_export(
        state.store.clone(),
        user.user_id,
        id,
        Export::Signals,
        query,
    )
    .await?)
}

/// `GET /recorders/{id}/trades.csv`.
pub(super) async fn trades_csv(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    Ok(csv_export(state.store.clone(), user.user_id, id, Export::Trades, query).await?)
}

/// `GET /recorders/{id}/signals/{seq}/raw`: the stored body as plain text (never rendered
/// as HTML: it came from outside).
pub(super) async fn raw_signal(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, seq)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    let seq: i64 = seq.parse().map_err(|_| PageError::NotFound)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    let body = signal_raw_body(&mut tx, id, seq).await?;
    tx.commit().await?;
    let (body, _content_type) = body.ok_or(PageError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        String::from_utf8_lossy(&body).into_owned(),
    )
        .into_response())
}
