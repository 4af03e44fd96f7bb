//! The logged-in user's own account: password, time zone, deletion (settings page).

use chrono_tz::Tz;

use crate::password::{Password, verify_password};
use crate::{StoreError, TenantTx};

/// Replaces the tenant's password after checking the current one. A wrong current password
/// is [`StoreError::Invalid`] with what to do. Hashing runs on a blocking thread.
pub async fn change_password(
    tx: &mut TenantTx,
    current: String,
    new: Password,
) -> Result<(), StoreError> {
    let stored: String =
        sqlx::query_scalar("select password_hash from users where id = app_user_id()")
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound("user"))?;
    let hash = tokio::task::spawn_blocking(move || {
        if verify_password(&current, &stored) {
            new.hash().map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(|e| StoreError::PasswordHash(e.to_string()))??
    .ok_or_else(|| {
        StoreError::Invalid(
            "the current password is not correct; type the password you log in with".into(),
        )
    })?;
    sqlx::query("update users set password_hash = $1 where id = app_user_id()")
        .bind(hash)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Sets the time zone every date on the tenant's pages is shown in.
pub async fn set_time_zone(tx: &mut TenantTx, zone: Tz) -> Result<(), StoreError> {
    sqlx::query("update users set time_zone = $1 where id = app_user_id()")
        .bind(zone.name())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Deletes the tenant and everything they own (recorders, signals, positions, trades, API
/// tokens, sessions), through the `delete_own_account()` SQL function. Commit to make it so.
pub async fn delete_account(tx: &mut TenantTx) -> Result<(), StoreError> {
    sqlx::query("select delete_own_account()")
        .execute(tx.conn())
        .await?;
    Ok(())
}
