//! User accounts: creation, lookup by email, disabling.

use serde_json::json;

use crate::error::violated_constraint;
use crate::password::Password;
use crate::{AdminTx, Store, StoreError, UserId};

/// An email address in the shape we accept (not proof that it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims; requires one `@` with text on both sides and no spaces; at most 254 bytes.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let email = raw.trim();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if valid {
            Ok(Self(email.to_owned()))
        } else {
            Err(StoreError::Invalid(format!(
                "\"{email}\" is not an email address; use the form name@example.com"
            )))
        }
    }

    /// The address as given (matching is case-insensitive in the database).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A trader.
    User,
    /// An operator with the admin console.
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// Creates an active user. The insert runs as that user's tenant (RLS `with check`).
pub async fn create_user(
    store: &Store,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<UserId, StoreError> {
    let password = password.clone();
    let hash = tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| StoreError::PasswordHash(e.to_string()))??;
    let id = UserId::new();
    let mut tx = store.tenant(id).await?;
    sqlx::query("insert into users (id, email, password_hash, role) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(email.as_str())
        .bind(hash)
        .bind(role.as_str())
        .execute(tx.conn())
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("users_email_key") => StoreError::EmailTaken,
            _ => e.into(),
        })?;
    tx.commit().await?;
    Ok(id)
}

/// The id and status of the user with this email (case-insensitive).
pub async fn find_user_by_email(
    tx: &mut AdminTx,
    email: &Email,
) -> Result<(UserId, String), StoreError> {
    sqlx::query_as("select id, status from users where lower(email) = lower($1)")
        .bind(email.as_str())
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("user"))
}

/// Disables a user (audited). Their sessions, webhooks and execution stop honouring them.
pub async fn disable_user(tx: &mut AdminTx, email: &Email) -> Result<UserId, StoreError> {
    let id: UserId = sqlx::query_scalar(
        "update users set status = 'disabled' where lower(email) = lower($1) returning id",
    )
    .bind(email.as_str())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("user"))?;
    tx.audit("user.disable", Some(id), json!({ "email": email.as_str() }))
        .await?;
    Ok(id)
}

/// How many users exist (admin view).
pub async fn count_users(tx: &mut AdminTx) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("select count(*) from users")
        .fetch_one(tx.conn())
        .await?)
}
