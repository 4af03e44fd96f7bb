//! Extractors for pages: who is logged in.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jt_store::UserId;
use jt_store::users::{self, Role, UserStatus};

use super::{REFRESHED_AT_KEY, USER_ID_KEY, session_of};
use crate::AppState;
use crate::page_error::PageError;

/// How often a logged-in session's idle expiry is pushed forward. Writing the session on
/// every request would cost a database write per page; once an hour is precise enough for
/// a 14-day idle limit.
const REFRESH_EVERY_SECS: i64 = 60 * 60;

/// The logged-in, active user. Pages that take it redirect to `/login` otherwise.
///
/// The account is re-read on every request, so disabling a user ends their sessions at once
/// (the session is destroyed on their next request).
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The tenant: scope store work with `state.store.tenant(user.user_id)`.
    pub user_id: UserId,
    /// Their email address.
    pub email: String,
    /// Whether they may use the admin console.
    pub is_admin: bool,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = session_of(parts)?;
        let Some(user_id) = session.get::<UserId>(USER_ID_KEY).await? else {
            return Err(PageError::LoginRequired);
        };
        let mut tx = state.store.tenant(user_id).await?;
        let profile = users::load_profile(&mut tx).await?;
        tx.commit().await?;
        let Some(profile) = profile.filter(|p| p.status == UserStatus::Active) else {
            // Disabled or deleted since log-in: end the session, not just this request.
            session.flush().await?;
            return Err(PageError::LoginRequired);
        };
        let now = chrono::Utc::now().timestamp();
        let refreshed_at = session.get::<i64>(REFRESHED_AT_KEY).await?.unwrap_or(0);
        if now - refreshed_at >= REFRESH_EVERY_SECS {
            // Marks the session changed, so it is saved with a new idle expiry and cookie.
            session.insert(REFRESHED_AT_KEY, now).await?;
        }
        Ok(Self {
            user_id: profile.id,
            email: profile.email,
            is_admin: profile.role == Role::Admin,
        })
    }
}
