//! Token → recorder lookups, cached per process.
//!
//! The cache is a shortcut, never the authority: every signal's token hash is re-checked
//! under the recorder's row lock in the ingest transaction. A regenerate, delete or status
//! change notifies `jt_webhook_tokens` (see the migration) and every process clears its
//! cache, so stale entries do not linger; losing the listener clears it too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;

use crate::webhook_token::webhook_token_hash;
use crate::{RecorderId, Store, StoreError, UserId};

/// The NOTIFY channel of token changes.
const CHANNEL: &str = "jt_webhook_tokens";
/// Entries live at most this long even without a notification.
const TTL: Duration = Duration::from_secs(300);
/// Beyond this many entries the cache starts over (bounds memory under random tokens).
const MAX_ENTRIES: usize = 100_000;

/// The recorder a webhook token belongs to, and how to re-check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The recorder.
    pub recorder: RecorderId,
    /// Its owner.
    pub user: UserId,
    /// SHA-256 of the token, re-checked under the row lock.
    pub token_hash: Vec<u8>,
}

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<Vec<u8>, (RecorderId, UserId, Instant)>>,
    /// Bumped by every clear: a lookup that began before a clear must not insert after it.
    generation: AtomicU64,
}

impl TokenCache {
    /// The live recorder behind `token`, from the cache or the database.
    pub(crate) async fn lookup(
        &self,
        store: &Store,
        token: &str,
    ) -> Result<Option<WebhookTarget>, StoreError> {
        let token_hash = webhook_token_hash(token);
        if let Some(found) = self.cached(&token_hash) {
            return Ok(Some(found));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some((recorder, user)) = store.webhook_recorder_by_hash(&token_hash).await? else {
            return Ok(None);
        };
        if let Ok(mut entries) = self.entries.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(token_hash.clone(), (recorder, user, Instant::now()));
        }
        Ok(Some(WebhookTarget {
            recorder,
            user,
            token_hash,
        }))
    }

    fn cached(&self, token_hash: &[u8]) -> Option<WebhookTarget> {
        let entries = self.entries.read().ok()?;
        let (recorder, user, at) = entries.get(token_hash)?;
        (at.elapsed() < TTL).then(|| WebhookTarget {
            recorder: *recorder,
            user: *user,
            token_hash: token_hash.to_vec(),
        })
    }

    /// Forgets one token (it failed the re-check).
    pub(crate) fn forget(&self, token_hash: &[u8]) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(token_hash);
        }
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Clears the cache on every token change, for as long as the process runs.
    pub(crate) fn spawn_invalidation(self: &Arc<Self>, store: &Store) {
        let cache = Arc::downgrade(self);
        let store = store.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let Some(live) = cache.upgrade() else { return };
                match listen(&store, &live).await {
                    Ok(()) => return,
                    // Shutting down: nothing left to listen for.
                    Err(_) if store.unscoped_pool().is_closed() => return,
                    Err(error) => {
                        // Notifications may have been missed while disconnected.
                        live.clear();
                        tracing::warn!(%error, "webhook token listener lost; reconnecting");
                    }
                }
                drop(live);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
    }
}

/// Listens until the connection fails (Err) or the pool is closed (Ok).
async fn listen(store: &Store, cache: &TokenCache) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(store.unscoped_pool()).await?;
    listener.listen(CHANNEL).await?;
    cache.clear();
    loop {
        // `None` means the connection was lost and PgListener reconnected: whatever was
        // notified meanwhile is gone, so clear in both cases.
        listener.try_recv().await?;
        cache.clear();
        if store.unscoped_pool().is_closed() {
            return Ok(());
        }
    }
}
