//! Checking an email and password. Unknown emails cost the same argon2 work as wrong
//! passwords, so neither the answer nor its timing tells whether an account exists.

use std::sync::LazyLock;

use jt_store::password::{Password, verify_password};
use jt_store::users::{self, Email, UserStatus};
use jt_store::{Store, UserId};

use crate::page_error::PageError;

/// The result of a log-in attempt.
pub(super) enum LoginOutcome {
    /// Right password, active account.
    Verified(UserId),
    /// Right password, disabled account. Only told to someone who knows the password.
    Disabled,
    /// Unknown email or wrong password: the caller answers both the same way.
    Incorrect,
}

/// An argon2id hash with our parameters, verified against when the email is unknown. Made
/// once per process; the password is irrelevant because an unknown email never succeeds.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Password::parse("not a password anyone logs in with")
        .and_then(|password| password.hash())
        .unwrap_or_else(|error| {
            // Never for a valid password; verification then fails fast, which only makes
            // unknown emails faster to answer.
            tracing::error!(%error, "could not hash the dummy password");
            String::new()
        })
});

/// Computes the dummy hash on a background thread now, so the first unknown-email log-in
/// is not slower than the rest.
pub(super) fn warm_up() {
    std::thread::spawn(|| LazyLock::force(&DUMMY_HASH));
}

/// Checks `password` for the account at `email`.
pub(super) async fn check_login(
    store: &Store,
    email: &str,
    password: String,
) -> Result<LoginOutcome, PageError> {
    // A malformed address has no account; it still pays for a verification below.
    let record = match Email::parse(email) {
        Ok(email) => users::find_login(store, &email).await?,
        Err(_) => None,
    };
    let hash = record.as_ref().map(|r| r.password_hash.clone());
    let password_ok = tokio::task::spawn_blocking(move || {
        verify_password(&password, hash.as_deref().unwrap_or(&DUMMY_HASH))
    })
    .await
    .map_err(PageError::internal)?;
    Ok(match record {
        Some(user) if password_ok => match user.status {
            UserStatus::Active => LoginOutcome::Verified(user.id),
            UserStatus::Disabled => LoginOutcome::Disabled,
        },
        _ => LoginOutcome::Incorrect,
    })
}
