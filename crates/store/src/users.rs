//! User accounts: creation, lookup by email, disabling.

use serde_json::json;

use crate::error::violated_constraint;
use crate::password::Password;
use crate::typed_text::refuse_control_characters;
use crate::{AdminTx, Store, StoreError, TenantTx, UserId};

/// An email address in the shape we accept (not proof that it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims; requires one `@` with text on both sides, no spaces and no control characters;
    /// at most 254 bytes.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let email = raw.trim();
        refuse_control_characters("the email address", email)?;
        if email.len() > 254 {
            return Err(StoreError::Invalid(format!(
                "the email address is {} bytes long, more than the 254 allowed: check what was pasted",
                email.len()
            )));
        }
        let valid = !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if valid {
            Ok(Self(email.to_owned()))
        } else {
            Err(StoreError::Invalid(format!(
                "\"{}\" is not an email address; use the form name@example.com",
                jt_engine::excerpt(email)
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
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The column value back as a `Role`; the table's check constraint allows nothing else.
    pub(crate) fn from_column(value: &str) -> Result<Self, StoreError> {
        match value {
            "user" => Ok(Self::User),
            "admin" => Ok(Self::Admin),
            other => Err(StoreError::Corrupt(format!(
                "unknown role {other:?} in the users table"
            ))),
        }
    }
}

/// Whether a user may log in and use the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May log in; webhooks and execution run.
    Active,
    /// Refused at log-in, logged out at the next request, webhooks answer 403.
    Disabled,
}

impl UserStatus {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// The column value back as a `UserStatus`; the check constraint allows nothing else.
    pub(crate) fn from_column(value: &str) -> Result<Self, StoreError> {
        match value {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(StoreError::Corrupt(format!(
                "unknown user status {other:?} in the users table"
            ))),
        }
    }
}

/// What log-in needs to know about the account behind an email address.
#[derive(Clone)]
pub struct LoginRecord {
    /// The user (the tenant to scope the session to).
    pub id: UserId,
    /// The argon2id PHC string to verify the submitted password against.
    pub password_hash: String,
    /// Disabled users are refused even with the right password.
    pub status: UserStatus,
    /// Admin or trader.
    pub role: Role,
}

impl std::fmt::Debug for LoginRecord {
    // The hash stays out of logs: it is an offline-guessing target.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The log-in record for `email` (case-insensitive), before any tenant is known.
///
/// This is the one cross-tenant read of `users` outside the admin console; it goes through
/// the `auth_user_by_email` SQL function, which returns one row's log-in columns only.
pub async fn find_login(store: &Store, email: &Email) -> Result<Option<LoginRecord>, StoreError> {
    let row: Option<(UserId, String, String, String)> =
        sqlx::query_as("select id, password_hash, status, role from auth_user_by_email($1)")
            .bind(email.as_str())
            .fetch_optional(store.unscoped_pool())
            .await?;
    row.map(|(id, password_hash, status, role)| {
        Ok(LoginRecord {
            id,
            password_hash,
            status: UserStatus::from_column(&status)?,
            role: Role::from_column(&role)?,
        })
    })
    .transpose()
}

/// The logged-in user as pages show them.
#[derive(Debug, Clone)]
pub struct UserProfile {
    /// The user.
    pub id: UserId,
    /// Their email address as they typed it at sign-up.
    pub email: String,
    /// Admin or trader.
    pub role: Role,
    /// Sessions of disabled users stop working at once.
    pub status: UserStatus,
}

/// The tenant's own profile, or `None` when the user no longer exists.
pub async fn load_profile(tx: &mut TenantTx) -> Result<Option<UserProfile>, StoreError> {
    let id = tx.user_id();
    let row: Option<(UserId, String, String, String)> =
        sqlx::query_as("select id, email, role, status from users where id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    row.map(|(id, email, role, status)| {
        Ok(UserProfile {
            id,
            email,
            role: Role::from_column(&role)?,
            status: UserStatus::from_column(&status)?,
        })
    })
    .transpose()
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
    let (id, _) = find_user_by_email(tx, email).await?;
    set_user_status(tx, id, UserStatus::Disabled).await?;
    Ok(id)
}

/// Sets a user's status and writes `user.disable` or `user.enable` to the audit log, with
/// how many unsent orders it stopped. Returns that number.
///
/// Disabling takes effect on the user's next request everywhere: sessions are re-checked
/// (and destroyed) on every page, API tokens are looked up only for active users, webhooks
/// are stored as rejected with 403, and their queued orders end as failed in this same
/// transaction (the worker also refuses to send for a disabled user). Enabling does not
/// bring old orders back: any still unsent (queued by a batch that committed just after
/// the disable) are stale, and end as failed before the user is active again.
pub async fn set_user_status(
    tx: &mut AdminTx,
    user: UserId,
    status: UserStatus,
) -> Result<u64, StoreError> {
    let sql = "update users set status = $2 where id = $1 returning email";
    let (action, email, stopped) = match status {
        UserStatus::Active => {
            let stopped = crate::orders::stop_orders_if_disabled(tx, user).await?;
            let email = update_user(tx, user, sql, status.as_str()).await?;
            ("user.enable", email, stopped)
        }
        UserStatus::Disabled => {
            let email = update_user(tx, user, sql, status.as_str()).await?;
            let stopped = crate::orders::stop_orders_if_disabled(tx, user).await?;
            ("user.disable", email, stopped)
        }
    };
    tx.audit(
        action,
        Some(user),
        json!({ "email": email, "orders_stopped": stopped }),
    )
    .await?;
    Ok(stopped)
}

/// Sets a user's role and writes `user.promote` or `user.demote` to the audit log.
pub async fn set_user_role(tx: &mut AdminTx, user: UserId, role: Role) -> Result<(), StoreError> {
    let action = match role {
        Role::Admin => "user.promote",
        Role::User => "user.demote",
    };
    let sql = "update users set role = $2 where id = $1 returning email";
    update_audited(tx, user, sql, role.as_str(), action).await
}

/// Runs `sql` (an update of `user` setting `$2` to `value`, returning the e-mail) and audits
/// it as `action`.
async fn update_audited(
    tx: &mut AdminTx,
    user: UserId,
    sql: &'static str,
    value: &str,
    action: &str,
) -> Result<(), StoreError> {
    let email = update_user(tx, user, sql, value).await?;
    tx.audit(action, Some(user), json!({ "email": email }))
        .await
}

/// Runs `sql` (an update of `user` setting `$2` to `value`, returning the e-mail).
async fn update_user(
    tx: &mut AdminTx,
    user: UserId,
    sql: &'static str,
    value: &str,
) -> Result<String, StoreError> {
    sqlx::query_scalar(sql)
        .bind(user)
        .bind(value)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("user"))
}

/// How many users exist (admin view).
pub async fn count_users(tx: &mut AdminTx) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("select count(*) from users")
        .fetch_one(tx.conn())
        .await?)
}
