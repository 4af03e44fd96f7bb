//! Browser authentication: cookie sessions in PostgreSQL, sign-up, log-in and log-out,
//! CSRF tokens, attempt limits, and the extractors later pages use ([`AuthUser`],
//! [`CsrfToken`]).

mod credentials;
pub mod csrf;
mod extractors;
mod login;
mod login_budget;
mod rate_limit;
pub mod session_store;
mod signup;

use axum::Router;
use axum::http::request::Parts;
use axum::middleware;
use axum::routing::{get, post};
use jt_store::UserId;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

pub use crate::client_ip::ClientIp;
pub use csrf::CsrfToken;
pub use extractors::AuthUser;
pub use rate_limit::{AuthLimits, RateLimit};
pub use session_store::{PgSessionStore, spawn_expired_session_cleanup};

use crate::AppState;
use crate::page_error::PageError;
use rate_limit::AuthLimiters;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "jt_session";
/// A session unused this long is gone (the cookie and the record expire together).
const SESSION_IDLE_LIMIT: time::Duration = time::Duration::days(14);
/// Session key of the logged-in user's id.
const USER_ID_KEY: &str = "user_id";
/// Session key of when the session's idle expiry was last pushed forward (Unix seconds).
const REFRESHED_AT_KEY: &str = "refreshed_at";

/// Authentication state shared by all requests: the attempt limiters.
#[derive(Debug)]
pub struct AuthState {
    limiters: AuthLimiters,
}

impl AuthState {
    /// Fresh limiters with these budgets. Also starts computing the dummy password hash
    /// (used to make unknown-email log-ins as slow as real ones) in the background.
    pub fn new(limits: AuthLimits) -> Self {
        credentials::warm_up();
        Self {
            limiters: AuthLimiters::new(limits),
        }
    }
}

impl Default for AuthState {
    fn default() -> Self {
        Self::new(AuthLimits::default())
    }
}

/// Sign-up, log-in and log-out. Merge it into the router given to [`with_browser_session`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup::get_signup).post(signup::post_signup))
        .route("/login", get(login::get_login).post(login::post_login))
        .route("/logout", post(login::post_logout))
}

/// Puts `pages` behind cookie sessions and the CSRF check. Only browser pages go in here: the
/// JSON API and webhooks are merged next to it, so they never see a session cookie.
pub fn with_browser_session(pages: Router<AppState>, state: &AppState) -> Router<AppState> {
    let sessions = SessionManagerLayer::new(PgSessionStore::new(&state.store))
        .with_name(SESSION_COOKIE)
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE_LIMIT));
    // Layers added later run first: the session exists before the CSRF check reads it.
    pages
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::require_csrf_token,
        ))
        .layer(sessions)
}

/// Logs `user` in on this session: a new session id (so an id planted before log-in is
/// worthless after it: session fixation), the user id, and a new CSRF token.
async fn start_user_session(session: &Session, user: UserId) -> Result<(), PageError> {
    session.cycle_id().await?;
    session.insert(USER_ID_KEY, user).await?;
    session
        .insert(REFRESHED_AT_KEY, chrono::Utc::now().timestamp())
        .await?;
    csrf::rotate(session).await?;
    Ok(())
}

/// The request's session (put there by the session layer).
fn session_of(parts: &Parts) -> Result<Session, PageError> {
    parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| PageError::internal("the session layer is missing on this route"))
}
