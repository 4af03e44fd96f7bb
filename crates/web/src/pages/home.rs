//! `GET /`: who is signed in, and the log-out button. The dashboard replaces it later.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::{AuthUser, CsrfToken};

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    user: AuthUser,
    csrf_token: CsrfToken,
}

/// Without a logged-in user, `AuthUser` redirects to `/login`.
pub(super) async fn get_home(user: AuthUser, csrf_token: CsrfToken) -> HomePage {
    HomePage { user, csrf_token }
}
