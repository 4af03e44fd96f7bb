//! `/api/v1/recorders`: create, list, read, change, delete, regenerate the webhook URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jt_store::recorders::{self, Recorder, RecorderChanges, RecorderStatus};
use jt_store::webhook_token::webhook_url;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{ApiJson, ApiUser, recorder_id};
use crate::AppState;

/// A recorder as the API shows it.
#[derive(Debug, Serialize)]
pub struct RecorderJson {
    id: jt_store::RecorderId,
    name: String,
    webhook_url: String,
    status: RecorderStatus,
    default_quantity: i32,
    duplicate_window_secs: i32,
    commission_per_contract: Decimal,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RecorderJson {
    fn new(state: &AppState, recorder: Recorder) -> Self {
        Self {
            webhook_url: webhook_url(
                &state.config.base_url,
                &state.config.secret_key,
                recorder.id,
                recorder.webhook_token_version,
            ),
            id: recorder.id,
            name: recorder.name,
            status: recorder.status,
            default_quantity: recorder.default_quantity,
            duplicate_window_secs: recorder.duplicate_window_secs,
            commission_per_contract: recorder.commission_per_contract,
            created_at: recorder.created_at,
            updated_at: recorder.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRecorder {
    name: String,
    #[serde(default = "one")]
    default_quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchRecorder {
    name: Option<String>,
    default_quantity: Option<i64>,
    status: Option<PatchStatus>,
    duplicate_window_secs: Option<i64>,
    commission_per_contract: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PatchStatus {
    Active,
    Paused,
}

pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(body): ApiJson<CreateRecorder>,
) -> Result<(StatusCode, Json<RecorderJson>), ApiError> {
    let mut tx = state.store.tenant(user).await?;
    let recorder = recorders::create_recorder(
        &mut tx,
        &state.config.secret_key,
        &body.name,
        body.default_quantity,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(RecorderJson::new(&state, recorder)),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<RecorderJson>>, ApiError> {
    let mut tx = state.store.tenant(user).await?;
    let list = recorders::list_recorders(&mut tx).await?;
    tx.commit().await?;
    Ok(Json(
        list.into_iter()
            .map(|r| RecorderJson::new(&state, r))
            .collect(),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<RecorderJson>, ApiError> {
    let id = recorder_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let recorder = recorders::get_recorder(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(RecorderJson::new(&state, recorder)))
}

pub async fn patch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchRecorder>,
) -> Result<Json<RecorderJson>, ApiError> {
    let id = recorder_id(&id)?;
    let changes = RecorderChanges {
        name: body.name,
        default_quantity: body.default_quantity,
        status: body.status.map(|s| match s {
            PatchStatus::Active => RecorderStatus::Active,
            PatchStatus::Paused => RecorderStatus::Paused,
        }),
        duplicate_window_secs: body.duplicate_window_secs,
        commission_per_contract: body.commission_per_contract,
    };
    let mut tx = state.store.tenant(user).await?;
    let recorder = recorders::update_recorder(&mut tx, id, &changes).await?;
    tx.commit().await?;
    Ok(Json(RecorderJson::new(&state, recorder)))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = recorder_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    recorders::delete_recorder(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn regenerate_url(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<RecorderJson>, ApiError> {
    let id = recorder_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let recorder = recorders::regenerate_webhook(&mut tx, &state.config.secret_key, id).await?;
    tx.commit().await?;
    Ok(Json(RecorderJson::new(&state, recorder)))
}
