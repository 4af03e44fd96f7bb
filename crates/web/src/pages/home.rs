//! `GET /`: the dashboard of the user's recorders (see [`super::dashboard`]), the broker
//! verification of their accounts, and the "New recorder" form; `POST /recorders` creates one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::state::user_time_zone;
use jt_store::{RecorderId, StoreError, recorders};
use serde::Deserialize;

use super::account_verification::{VerificationPanel, verified_panels};
use super::dashboard::{Dashboard, read_dashboard};
use super::display::sentence;
use super::form_values::whole_number;
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    user: AuthUser,
    csrf_token: CsrfToken,
    dashboard: Dashboard,
    /// Accounts with verification on: Signals beside Broker.
    broker: Vec<VerificationPanel>,
    form: NewRecorderForm,
    error: Option<String>,
}

/// The "New recorder" form, as sent and as shown again after a mistake.
#[derive(Deserialize)]
pub(super) struct NewRecorderForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    default_quantity: String,
}

impl Default for NewRecorderForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            default_quantity: "1".to_owned(),
        }
    }
}

/// Without a logged-in user, `AuthUser` redirects to `/login`.
pub(super) async fn get_home(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
) -> Result<HomePage, PageError> {
    home_page(&state, user, csrf_token, NewRecorderForm::default(), None).await
}

/// Creates the recorder and shows its page (303), or the form again with what to fix (422).
pub(super) async fn post_recorder(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Form(form): Form<NewRecorderForm>,
) -> Result<Response, PageError> {
    match create_recorder(&state, &user, &form).await {
        Ok(id) => Ok(Redirect::to(&format!("/recorders/{id}")).into_response()),
        Err(StoreError::Invalid(message) | StoreError::Conflict(message)) => {
            let page = home_page(&state, user, csrf_token, form, Some(sentence(&message))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn create_recorder(
    state: &AppState,
    user: &AuthUser,
    form: &NewRecorderForm,
) -> Result<RecorderId, StoreError> {
    // The field is optional: empty means one contract, like the API's default.
    let quantity = match form.default_quantity.trim() {
        "" => 1,
        raw => whole_number("default quantity", raw, "1")?,
    };
    let mut tx = state.store.tenant(user.user_id).await?;
    let recorder =
        recorders::create_recorder(&mut tx, &state.config.secret_key, &form.name, quantity).await?;
    tx.commit().await?;
    Ok(recorder.id)
}

async fn home_page(
    state: &AppState,
    user: AuthUser,
    csrf_token: CsrfToken,
    form: NewRecorderForm,
    error: Option<String>,
) -> Result<HomePage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let zone = user_time_zone(&mut tx).await?;
    let broker = verified_panels(&mut tx, zone).await?;
    tx.commit().await?;
    Ok(HomePage {
        dashboard: read_dashboard(state, &user).await?,
        broker,
        user,
        csrf_token,
        form,
        error,
    })
}
