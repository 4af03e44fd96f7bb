//! The few lookups made before the tenant is known (SPEC §5): each calls a narrow
//! security-definer function that returns ids only.

use crate::api_tokens::hash_api_token;
use crate::{ApiTokenId, RecorderId, Store, StoreError, UserId};

impl Store {
    /// The recorder and user behind a webhook token's hash, if the token is live.
    pub(crate) async fn webhook_recorder_by_hash(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(RecorderId, UserId)>, StoreError> {
        Ok(
            sqlx::query_as("select recorder_id, user_id from webhook_recorder($1)")
                .bind(token_hash)
                .fetch_optional(self.unscoped_pool())
                .await?,
        )
    }

    /// The active user behind an API token, if the token is live (and marks it used).
    pub async fn api_token_user(&self, token: &str) -> Result<Option<UserId>, StoreError> {
        let found: Option<(ApiTokenId, UserId)> =
            sqlx::query_as("select token_id, user_id from api_token_user($1)")
                .bind(hash_api_token(token))
                .fetch_optional(self.unscoped_pool())
                .await?;
        let Some((token_id, user)) = found else {
            return Ok(None);
        };
        // Coarse last-use stamp: at most one write per token per minute.
        let mut tx = self.tenant(user).await?;
        sqlx::query(
            "update api_tokens set last_used_at = now() where id = $1
             and (last_used_at is null or last_used_at < now() - interval '1 minute')",
        )
        .bind(token_id)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}
