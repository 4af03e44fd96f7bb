//! `GET /api/v1/recorders/{id}/signals.csv|trades.csv?from=&to=`: the CSV exports for
//! programs, with the bearer token (the same files as the recorder page's links).

use axum::extract::{Path, State};
use axum::response::Response;

use super::error::ApiError;
use super::extract::{ApiQuery, ApiUser, recorder_id};
use crate::AppState;
use crate::csv_export::{Export, ExportQuery, csv_export};

pub async fn signals_csv(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let id = recorder_id(&id)?;
    Ok(csv_export(state.store.clone(), user.0, id, Export::Signals, query).await?)
}

pub async fn trades_csv(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let id = recorder_id(&id)?;
    Ok(csv_export(state.store.clone(), user.0, id, Export::Trades, query).await?)
}
