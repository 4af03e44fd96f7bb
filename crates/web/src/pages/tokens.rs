//! `/settings/tokens`: the user's API tokens. A new token's text is shown once, on the page
//! that answers its creation; only its hash is stored, so no later page can show it.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jt_store::api_tokens::{
    ApiTokenRow, NewApiToken, create_api_token, list_api_tokens, revoke_api_token,
};
use jt_store::state::user_time_zone;
use jt_store::{ApiTokenId, StoreError, TenantTx};
use serde::Deserialize;

use super::display::{self, sentence};
use crate::AppState;
use crate::auth::{AuthUser, CsrfToken};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub(super) struct TokensPage {
    user: AuthUser,
    csrf_token: CsrfToken,
    tokens: Vec<TokenView>,
    /// The token just created: its only appearance.
    new_token: Option<NewTokenView>,
    /// The name field as sent, after a mistake.
    name: String,
    error: Option<String>,
}

struct TokenView {
    id: ApiTokenId,
    name: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

impl TokenView {
    fn new(row: ApiTokenRow, zone: chrono_tz::Tz) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created: display::time(row.created_at, zone),
            last_used: row
                .last_used_at
                .map_or_else(|| "never".to_owned(), |at| display::time(at, zone)),
            revoked: row.revoked_at.map(|at| display::time(at, zone)),
        }
    }
}

struct NewTokenView {
    name: String,
    token: String,
}

#[derive(Deserialize)]
pub(super) struct NewTokenForm {
    #[serde(default)]
    name: String,
}

pub(super) async fn get_tokens(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
) -> Result<TokensPage, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    let tokens = token_views(&mut tx).await?;
    tx.commit().await?;
    Ok(TokensPage {
        user,
        csrf_token,
        tokens,
        new_token: None,
        name: String::new(),
        error: None,
    })
}

/// Creates a token and answers with the page showing it (not a redirect: the text exists
/// only in this response, which must not be cached).
pub(super) async fn post_token(
    State(state): State<AppState>,
    user: AuthUser,
    csrf_token: CsrfToken,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, PageError> {
    let mut tx = state.store.tenant(user.user_id).await?;
    // A bad name is refused before anything is written, so the transaction stays usable.
    let (created, error) = match create_api_token(&mut tx, &form.name).await {
        Ok(NewApiToken { token, .. }) => {
            let name = form.name.trim().to_owned();
            (Some(NewTokenView { name, token }), None)
        }
        Err(StoreError::Invalid(message)) => (None, Some(sentence(&message))),
        Err(error) => return Err(error.into()),
    };
    let tokens = token_views(&mut tx).await?;
    tx.commit().await?;
    let (status, name) = match error {
        None => (StatusCode::OK, String::new()),
        Some(_) => (StatusCode::UNPROCESSABLE_ENTITY, form.name),
    };
    let page = TokensPage {
        user,
        csrf_token,
        tokens,
        new_token: created,
        name,
        error,
    };
    Ok((status, [(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// `POST /settings/tokens/{id}/revoke`: the API refuses the token from now on.
pub(super) async fn post_revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: ApiTokenId = id.parse().map_err(|_| PageError::NotFound)?;
    let mut tx = state.store.tenant(user.user_id).await?;
    revoke_api_token(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(token_id = %id, "API token revoked");
    Ok(Redirect::to("/settings/tokens").into_response())
}

async fn token_views(tx: &mut TenantTx) -> Result<Vec<TokenView>, PageError> {
    let zone = user_time_zone(tx).await?;
    Ok(list_api_tokens(tx)
        .await?
        .into_iter()
        .map(|row| TokenView::new(row, zone))
        .collect())
}
