//! `GET/POST /signup`: a new trader account, logged in at once.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::StoreError;
use jt_store::password::Password;
use jt_store::users::{self, Email, Role};
use serde::Deserialize;
use tower_sessions::Session;

use super::{ClientIp, CsrfToken, start_user_session};
use crate::AppState;
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub(super) struct SignupPage {
    csrf_token: CsrfToken,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

impl SignupForm {
    /// The email and password, or what to fix (one thing at a time, in form order).
    fn parse(&self) -> Result<(Email, Password), String> {
        let email = Email::parse(&self.email).map_err(|e| e.to_string())?;
        let password = Password::parse(&self.password).map_err(|e| e.to_string())?;
        if self.password != self.password_confirmation {
            return Err(
                "the password and its confirmation differ; type the same password twice".to_owned(),
            );
        }
        Ok((email, password))
    }
}

pub(super) async fn get_signup(csrf_token: CsrfToken) -> SignupPage {
    SignupPage {
        csrf_token,
        email: String::new(),
        error: None,
    }
}

pub(super) async fn post_signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    csrf_token: CsrfToken,
    Form(form): Form<SignupForm>,
) -> Result<Response, PageError> {
    state.auth.limiters.signup_attempt(ip, &form.email)?;
    let invalid = |message: String| {
        let page = SignupPage {
            csrf_token: csrf_token.clone(),
            email: form.email.trim().to_owned(),
            error: Some(capitalize(&message)),
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let (email, password) = match form.parse() {
        Ok(parsed) => parsed,
        Err(message) => return invalid(message),
    };
    let user_id = match users::create_user(&state.store, &email, &password, Role::User).await {
        Ok(id) => id,
        Err(StoreError::EmailTaken) => {
            return invalid("an account with this email already exists; log in instead".to_owned());
        }
        Err(error) => return Err(error.into()),
    };
    start_user_session(&session, user_id).await?;
    tracing::info!(%user_id, "signed up");
    Ok(Redirect::to("/").into_response())
}

/// Store messages are lower-case clauses; on the page they start a sentence.
fn capitalize(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>() + "."
    })
}
