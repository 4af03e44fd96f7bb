//! [`AdminUser`]: the logged-in administrator, the only way into the console.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jt_store::{AdminTx, Operator, Store, StoreError, UserId};

use crate::AppState;
use crate::auth::{AuthUser, ClientIp};
use crate::page_error::PageError;

/// A logged-in, active administrator. Anyone else gets the ordinary 404 page (anonymous
/// visitors too, rather than a log-in redirect), so the console does not reveal itself.
#[derive(Debug, Clone)]
pub struct AdminUser {
    /// The admin's account (their own pages, nav).
    pub user: AuthUser,
    /// Where the request came from, for the audit log.
    pub ip: IpAddr,
}

impl AdminUser {
    /// An admin transaction that records this admin and address in the audit log.
    pub async fn begin(&self, store: &Store) -> Result<AdminTx, StoreError> {
        store
            .admin_for(Operator {
                name: self.user.email.clone(),
                user_id: Some(self.user.user_id),
                ip: Some(self.ip),
            })
            .await
    }

    /// The admin's own account.
    pub fn user_id(&self) -> UserId {
        self.user.user_id
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let user = match AuthUser::from_request_parts(parts, state).await {
            Ok(user) => user,
            Err(PageError::LoginRequired) => return Err(PageError::NotFound),
            Err(error) => return Err(error),
        };
        if !user.is_admin {
            return Err(PageError::NotFound);
        }
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(Self { user, ip })
    }
}
