//! Users and recorders for a run, made directly through the store on the benchmark's own
//! cluster, and the count of what was stored afterwards.

use std::collections::HashMap;
use std::sync::Arc;

use jt_store::password::Password;
use jt_store::users::{Email, Role};
use jt_store::webhook_token::webhook_token;
use jt_store::{RecorderId, SecretKey, Store, UserId, recorders, signal_counts, users};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::BenchError;

/// Password of every benchmark user (nobody logs in; it only has to be valid).
const PASSWORD: &str = "benchmark password";
/// Password hashes at once: argon2 takes ~19 MiB and tens of ms each.
const PARALLEL_HASHES: usize = 2;

/// The recorders of a run, in order: recorder i has `ids[i]` and `webhook_paths[i]`.
#[derive(Debug, Clone, Default)]
pub struct Recorders {
    /// Recorder ids.
    pub ids: Vec<RecorderId>,
    /// `/webhook/{token}` of each recorder.
    pub webhook_paths: Vec<String>,
}

impl Recorders {
    /// Splits off the recorders from `at` on.
    pub fn split_off(&mut self, at: usize) -> Self {
        Self {
            ids: self.ids.split_off(at),
            webhook_paths: self.webhook_paths.split_off(at),
        }
    }
}

/// Creates `users` users and `recorders` recorders, recorder i owned by user i mod `users`.
pub async fn provision(
    store: &Store,
    secret: &SecretKey,
    users: usize,
    recorders: usize,
) -> Result<Recorders, BenchError> {
    let password = Password::parse(PASSWORD)?;
    let hashing = Arc::new(Semaphore::new(PARALLEL_HASHES));
    let mut tasks = JoinSet::new();
    for user in 0..users.min(recorders) {
        let (store, secret, password, hashing) = (
            store.clone(),
            secret.clone(),
            password.clone(),
            hashing.clone(),
        );
        let owned: Vec<usize> = (user..recorders).step_by(users).collect();
        tasks.spawn(async move {
            let id = {
                let _permit = hashing.acquire().await;
                let email = Email::parse(&format!("bench-{user}@example.com"))?;
                users::create_user(&store, &email, &password, Role::User).await?
            };
            create_recorders(&store, &secret, id, owned).await
        });
    }
    let mut made: Vec<(usize, RecorderId, String)> = Vec::with_capacity(recorders);
    for result in tasks.join_all().await {
        made.extend(result?);
    }
    made.sort_unstable_by_key(|(index, _, _)| *index);
    Ok(Recorders {
        ids: made.iter().map(|(_, id, _)| *id).collect(),
        webhook_paths: made.into_iter().map(|(_, _, path)| path).collect(),
    })
}

/// One user's recorders (numbered `indexes` in the run), in one transaction.
async fn create_recorders(
    store: &Store,
    secret: &SecretKey,
    user: UserId,
    indexes: Vec<usize>,
) -> Result<Vec<(usize, RecorderId, String)>, BenchError> {
    let mut tx = store.tenant(user).await?;
    let mut made = Vec::with_capacity(indexes.len());
    for index in indexes {
        let recorder =
            recorders::create_recorder(&mut tx, secret, &format!("bench {index}"), 1).await?;
        let path = format!(
            "/webhook/{}",
            webhook_token(secret, recorder.id, recorder.webhook_token_version)
        );
        made.push((index, recorder.id, path));
    }
    tx.commit().await?;
    Ok(made)
}

/// Signals stored (any status) for each recorder of the run, in the run's order.
pub async fn stored_per_recorder(
    store: &Store,
    ids: &[RecorderId],
) -> Result<Vec<u64>, BenchError> {
    let mut tx = store.admin("bench").await?;
    let counts = signal_counts::count_signals_by_recorder(&mut tx).await?;
    tx.commit().await?;
    let mut by_recorder: HashMap<RecorderId, u64> = HashMap::new();
    for count in counts {
        *by_recorder.entry(count.recorder_id).or_default() +=
            u64::try_from(count.count).unwrap_or(0);
    }
    Ok(ids
        .iter()
        .map(|id| by_recorder.get(id).copied().unwrap_or(0))
        .collect())
}

/// Signals sent but not stored: Σ over recorders of max(0, sent − stored).
pub fn lost(sent: &[u64], stored: &[u64]) -> u64 {
    sent.iter()
        .zip(stored)
        .map(|(sent, stored)| sent.saturating_sub(*stored))
        .sum()
}
