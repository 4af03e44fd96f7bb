//! `/api/v1/recorders/{id}/links`: which broker accounts execute a recorder's signals.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jt_store::account_links::{
    AccountLink, LinkSettings, create_link, delete_link, list_links, parse_max_delay,
    parse_multiplier, update_link,
};
use jt_store::{AccountLinkId, BrokerAccountId, RecorderId};
use serde::{Deserialize, Serialize};

use super::accounts::account_id;
use super::error::ApiError;
use super::extract::{ApiJson, ApiUser, recorder_id};
use crate::AppState;

/// `POST` body (`account_id` required) and `PATCH` body (all optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    multiplier: Option<i64>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    max_delay_secs: Option<i64>,
}

impl LinkBody {
    fn settings(&self) -> Result<LinkSettings, ApiError> {
        Ok(LinkSettings {
            multiplier: self.multiplier.map(parse_multiplier).transpose()?,
            enabled: self.enabled,
            max_delay_secs: self.max_delay_secs.map(parse_max_delay).transpose()?,
        })
    }
}

/// A link as the API shows it.
#[derive(Serialize)]
pub struct LinkJson {
    id: AccountLinkId,
    recorder_id: RecorderId,
    account_id: BrokerAccountId,
    account_name: String,
    multiplier: i32,
    enabled: bool,
    max_delay_secs: i32,
    created_at: DateTime<Utc>,
}

impl From<AccountLink> for LinkJson {
    fn from(l: AccountLink) -> Self {
        Self {
            id: l.id,
            recorder_id: l.recorder_id,
            account_id: l.account_id,
            account_name: l.account_name,
            multiplier: l.multiplier,
            enabled: l.enabled,
            max_delay_secs: l.max_delay_secs,
            created_at: l.created_at,
        }
    }
}

fn link_id(raw: &str) -> Result<AccountLinkId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("link"))
}

pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<(StatusCode, Json<LinkJson>), ApiError> {
    let recorder = recorder_id(&id)?;
    let account = body
        .account_id
        .as_deref()
        .ok_or_else(|| ApiError::Invalid("\"account_id\" is required".to_owned()))
        .and_then(account_id)?;
    let settings = body.settings()?;
    let mut tx = state.store.tenant(user).await?;
    let link = create_link(&mut tx, recorder, account, &settings).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<LinkJson>>, ApiError> {
    let recorder = recorder_id(&id)?;
    let mut tx = state.store.tenant(user).await?;
    let links = list_links(&mut tx, recorder).await?;
    tx.commit().await?;
    Ok(Json(links.into_iter().map(Into::into).collect()))
}

pub async fn patch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, link)): Path<(String, String)>,
    ApiJson(body): ApiJson<LinkBody>,
) -> Result<Json<LinkJson>, ApiError> {
    let recorder = recorder_id(&id)?;
    let link = link_id(&link)?;
    if body.account_id.is_some() {
        return Err(ApiError::Invalid(
            "a link's account cannot change: delete it and link the other account".to_owned(),
        ));
    }
    let settings = body.settings()?;
    let mut tx = state.store.tenant(user).await?;
    let updated = update_link(&mut tx, recorder, link, &settings).await?;
    tx.commit().await?;
    Ok(Json(updated.into()))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, link)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let recorder = recorder_id(&id)?;
    let link = link_id(&link)?;
    let mut tx = state.store.tenant(user).await?;
    delete_link(&mut tx, recorder, link).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
