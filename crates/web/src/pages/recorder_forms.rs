//! The recorder page's forms: settings, pause/resume, regenerate URL, delete. Each answers
//! with a redirect (303) to the page that shows the result; another user's id is a 404.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::recorders::{self, RecorderChanges, RecorderStatus};
use jt_store::{RecorderId, StoreError};

use super::display::sentence;
use super::form_values::{decimal, whole_number};
use super::recorder_id;
use super::recorder_page::{SettingsForm, load_recorder_page};
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

fn to_recorder_page(id: RecorderId, anchor: &str) -> Response {
    Redirect::to(&format!("/recorders/{id}{anchor}")).into_response()
}

impl SettingsForm {
    /// Every field is applied (the form always shows all of them); the store checks ranges.
    fn changes(&self) -> Result<RecorderChanges, StoreError> {
        Ok(RecorderChanges {
            name: Some(self.name.clone()),
            default_quantity: Some(whole_number(
                "default quantity",
                &self.default_quantity,
                "1",
            )?),
            status: None,
            duplicate_window_secs: Some(whole_number(
                "duplicate window",
                &self.duplicate_window_secs,
                "20",
            )?),
            commission_per_contract: Some(decimal(
                "commission per contract",
                &self.commission_per_contract,
                "0.62",
            )?),
        })
    }
}

/// `POST /recorders/{id}/settings`: saved (303), or the page again with what to fix (422).
pub(super) async fn post_settings(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Path(id): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    let saved = match form.changes() {
        Ok(changes) => update(&state, &user, id, &changes).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(()) => Ok(to_recorder_page(id, "#settings")),
        Err(StoreError::Invalid(message) | StoreError::Conflict(message)) => {
            // Reading the page again also answers 404 for another user's id.
            let page =
                load_recorder_page(&state, user, csrf_token, id, &Default::default()).await?;
            let page = page.with_settings_error(form, sentence(&message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /recorders/{id}/pause`: later signals are stored as `ignored`.
pub(super) async fn post_pause(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_status(&state, &user, &id, RecorderStatus::Paused).await
}

/// `POST /recorders/{id}/resume`.
pub(super) async fn post_resume(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_status(&state, &user, &id, RecorderStatus::Active).await
}

async fn set_status(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    status: RecorderStatus,
) -> Result<Response, PageError> {
    let id = recorder_id(id)?;
    let changes = RecorderChanges {
        status: Some(status),
        ..RecorderChanges::default()
    };
    update(state, user, id, &changes).await?;
    Ok(to_recorder_page(id, ""))
}

async fn update(
    state: &AppState,
    user: &AuthUser,
    id: RecorderId,
    changes: &RecorderChanges,
) -> Result<(), StoreError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    recorders::update_recorder(&mut tx, id, changes).await?;
    tx.commit().await
}

/// `POST /recorders/{id}/regenerate-url`: the old URL stops working when this commits.
pub(super) async fn post_regenerate_url(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    recorders::regenerate_webhook(&mut tx, &state.config.secret_key, id).await?;
    tx.commit().await?;
    tracing::info!(recorder_id = %id, "webhook URL regenerated");
    Ok(to_recorder_page(id, "#webhook"))
}

/// `POST /recorders/{id}/delete`: soft delete (history kept, webhook dead), back home.
pub(super) async fn post_delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = recorder_id(&id)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    recorders::delete_recorder(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(recorder_id = %id, "recorder deleted");
    Ok(Redirect::to("/").into_response())
}
