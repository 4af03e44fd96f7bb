//! `GET/POST /login` and `POST /logout`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::credentials::{self, LoginOutcome};
use super::{ClientIp, CsrfToken, start_user_session};
use crate::AppState;
use crate::page_error::PageError;

/// The same words for an unknown email and a wrong password: the page must not tell which.
const INCORRECT: &str = "The email or password is incorrect.";
const DISABLED: &str = "This account is disabled. Contact support if you think that is wrong.";

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    csrf_token: CsrfToken,
    email: String,
    error: Option<&'static str>,
}

/// Missing fields count as empty, so they get the ordinary "incorrect" answer.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn get_login(csrf_token: CsrfToken) -> LoginPage {
    LoginPage {
        csrf_token,
        email: String::new(),
        error: None,
    }
}

pub(super) async fn post_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    csrf_token: CsrfToken,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let LoginForm { email, password } = form;
    let budgets = &state.auth.limiters.login;
    let attempt = budgets.begin(ip, &email)?;
    let refused = |status: StatusCode, error: &'static str| {
        let page = LoginPage {
            csrf_token: csrf_token.clone(),
            email: email.trim().to_owned(),
            error: Some(error),
        };
        Ok((status, page).into_response())
    };
    let outcome = match credentials::check_login(&state.store, &email, password).await {
        Ok(outcome) => outcome,
        Err(error) => {
            budgets.not_a_failure(attempt);
            return Err(error);
        }
    };
    match outcome {
        LoginOutcome::Verified(user_id) => {
            budgets.succeeded(attempt);
            start_user_session(&session, user_id).await?;
            tracing::info!(%user_id, "logged in");
            Ok(Redirect::to("/").into_response())
        }
        LoginOutcome::Incorrect => {
            tracing::info!("log-in refused: unknown email or wrong password");
            refused(StatusCode::UNPROCESSABLE_ENTITY, INCORRECT)
        }
        LoginOutcome::Disabled => {
            // The right password: no guess to count.
            budgets.not_a_failure(attempt);
            tracing::info!("log-in refused: account disabled");
            refused(StatusCode::FORBIDDEN, DISABLED)
        }
    }
}

/// Destroys the session (record and cookie) and goes to the log-in page.
pub(super) async fn post_logout(session: Session) -> Result<Redirect, PageError> {
    session.flush().await?;
    Ok(Redirect::to("/login"))
}
