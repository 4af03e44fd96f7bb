//! `/settings`: the account itself (SPEC §10): change the password (asks the current one;
//! every other session ends), the time zone every date is shown in, and deleting the
//! account (confirmed by typing the email; all data removed, sessions ended).

use std::str::FromStr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono_tz::{TZ_VARIANTS, Tz};
use jt_store::password::Password;
use jt_store::state::user_time_zone;
use jt_store::{StoreError, account};
use serde::Deserialize;
use tower_sessions::Session;

use super::display::sentence;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub(super) struct SettingsPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    time_zone: String,
    zones: &'static [Tz],
    /// What was just saved, from the redirect's `?saved=`.
    saved: Option<&'static str>,
    password_error: Option<String>,
    time_zone_error: Option<String>,
    delete_error: Option<String>,
}

/// `?saved=password|time-zone` after a redirect.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Saved {
    saved: Option<String>,
}

pub(super) async fn get_settings(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Query(saved): Query<Saved>,
) -> Result<SettingsPage, PageError> {
    let mut page = settings_page(&state, user, csrf_token).await?;
    page.saved = match saved.saved.as_deref() {
        Some("password") => Some("Password changed. Every other session has been logged out."),
        Some("time-zone") => Some("Time zone saved: every date is now shown in it."),
        _ => None,
    };
    Ok(page)
}

async fn settings_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
) -> Result<SettingsPage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let zone = user_time_zone(&mut tx).await?;
    tx.commit().await?;
    Ok(SettingsPage {
        user,
        csrf_token,
        time_zone: zone.name().to_owned(),
        zones: &TZ_VARIANTS,
        saved: None,
        password_error: None,
        time_zone_error: None,
        delete_error: None,
    })
}

/// The password form.
#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirmation: String,
}

/// `POST /settings/password`: checks the current password, sets the new one, ends every
/// session of the user and gives this browser a fresh one (so it stays logged in).
pub(super) async fn post_password(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let changed = change_password(&state, &user, form).await;
    match changed {
        Ok(()) => {
            state
                .store
                .sessions()
                .delete_user_sessions(user.user_id)
                .await?;
            // A new id for this browser: the record under the old one is gone, and the
            // session (user, CSRF token) is written again under the new id.
            session.cycle_id().await?;
            tracing::info!(user_id = %user.user_id, "password changed; other sessions ended");
            Ok(Redirect::to("/settings?saved=password").into_response())
        }
        Err(StoreError::Invalid(message)) => {
            let mut page = settings_page(&state, user, csrf_token).await?;
            page.password_error = Some(sentence(&message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn change_password(
    state: &AppState,
    user: &AuthUser,
    form: PasswordForm,
) -> Result<(), StoreError> {
    if form.new_password != form.new_password_confirmation {
        return Err(StoreError::Invalid(
            "the two new passwords differ; type the same new password twice".into(),
        ));
    }
    let new = Password::parse(&form.new_password)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    account::change_password(&mut tx, form.current_password, new).await?;
    tx.commit().await
}

/// The time-zone form.
#[derive(Deserialize)]
pub(super) struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// `POST /settings/time-zone`.
pub(super) async fn post_time_zone(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Form(form): Form<TimeZoneForm>,
) -> Result<Response, PageError> {
    let Ok(zone) = Tz::from_str(form.time_zone.trim()) else {
        let mut page = settings_page(&state, user, csrf_token).await?;
        page.time_zone_error = Some(format!(
            "“{}” is not a time zone we know. Pick one from the list, e.g. America/New_York.",
            form.time_zone.trim()
        ));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.store.tenant(user.user_id).await?;
    account::set_time_zone(&mut tx, zone).await?;
    tx.commit().await?;
    Ok(Redirect::to("/settings?saved=time-zone").into_response())
}

/// The delete-account form.
#[derive(Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    email: String,
}

/// `POST /settings/delete-account`: deletes everything when the typed email matches.
pub(super) async fn post_delete_account(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    session: Session,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    if !form.email.trim().eq_ignore_ascii_case(user.email.trim()) {
        let mut page = settings_page(&state, user, csrf_token).await?;
        page.delete_error = Some(
            "The email you typed is not this account's. Type it exactly as shown to confirm."
                .to_owned(),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = state.store.tenant(user.user_id).await?;
    account::delete_account(&mut tx).await?;
    tx.commit().await?;
    session.flush().await?;
    tracing::info!(user_id = %user.user_id, "account deleted by its owner");
    Ok(Redirect::to("/signup").into_response())
}
