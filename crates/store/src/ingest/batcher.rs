//! The [`Ingestor`]: admission, shards and group commit.
//!
//! Each shard is a task that waits for one of its free batch slots, then takes everything
//! queued for it (up to a batch size) and writes it in one transaction in a task of its own,
//! which answers every signal and frees the slot. While the slots are busy the queue grows,
//! so batches grow with load; an idle shard starts a lone signal at once (no timer). A
//! recorder always hashes to the same shard, so its signals are written in arrival order.
//!
//! Batches should be large: on a small machine the database's CPU, not the WAL flush, is
//! the limit, and each batch costs its statements' start-up and a commit whatever it holds.
//! So a batch starts while another of its shard is being written only once `min_overlap`
//! signals wait; fewer wait for a batch to finish and go in one larger batch. Under a deep
//! queue (a bar close) every slot works. Measured on 2 cores, 16 senders (release,
//! back-to-back runs): 2 shards x 2 slots, no minimum: 1,560 - 1,900 req/s, burst 1.9 -
//! 2.2 s; 1 x 3 with a minimum of 8: 2,340 - 2,800 req/s, p99 12 - 14 ms, burst 1.9 -
//! 2.3 s (one queue makes larger batches than two). The price of one shard: a batch that
//! must wait for a recorder locked elsewhere (a long rebuild) holds up the batches after it
//! that share a recorder with it, and so the shard.
//!
//! Signals answered together come back together: the senders of a finished batch send
//! their next alerts within a millisecond or so. Started at once, the first of them went
//! alone (a seventh of all batches in the sustained benchmark), and the rest waited behind
//! it. So a batch that would start small shortly after another ended lingers a moment
//! (`linger`, 0.3 ms) for more; an idle shard still starts a lone signal at once.

use std::collections::{BTreeSet, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jt_engine::Limits;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::admission::{Admission, AdmissionLimits, Refusal, Ticket};
use super::announcer::Announcer;
use super::batch::{Outcome, parse, write_locked, write_remembered};
use super::decide::Parsed;
use super::facts_cache::FactsCache;
use super::token_cache::{TokenCache, WebhookTarget};
use super::{IngestError, IngestOutcome, Rejection, SignalArrival};
use crate::metric_names;
use crate::signal_events::SignalEvent;
use crate::{RecorderId, Store, StoreError};

/// How ingest batches and admits.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Queues, each with its own batches (a recorder always goes to the same one).
    pub shards: usize,
    /// Most signals in one transaction.
    pub max_batch: usize,
    /// Batches of one shard written at the same time (recorders never overlap); each holds
    /// one connection while it writes.
    pub batches_in_flight: usize,
    /// A batch starts while another of its shard is still being written only once this many
    /// signals wait; fewer wait for it to finish instead, so they go in one larger batch
    /// (each batch costs its statements' start-up and a commit whatever it holds).
    pub min_overlap: usize,
    /// A batch that would start with fewer than `min_overlap` signals within
    /// `linger_window` of the end of another batch of its shard waits up to this long for
    /// more (those senders' next alerts are on their way). Zero: never.
    pub linger: Duration,
    /// See `linger`. Beyond it the shard counts as idle and starts at once.
    pub linger_window: Duration,
    /// Never more than this many signals admitted and unanswered.
    pub max_queued: usize,
    /// Below this many queued, always admit.
    pub queue_floor: usize,
    /// Above the floor, refuse (503) when the estimated wait passes this.
    pub max_wait: Duration,
    /// Signals one user may have in flight (429 beyond).
    pub per_user_in_flight: usize,
    /// How long a webhook waits for its signal's commit before answering 503 "not
    /// confirmed" (TradingView gives up at 3 s); the signal is still recorded.
    pub answer_deadline: Duration,
    /// Parsing limits.
    pub limits: Limits,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            shards: 1,
            max_batch: 400,
            batches_in_flight: 3,
            min_overlap: 8,
            linger: Duration::from_micros(300),
            linger_window: Duration::from_millis(1),
            max_queued: 20_000,
            queue_floor: 2_000,
            max_wait: Duration::from_millis(1500),
            per_user_in_flight: 1_000,
            answer_deadline: Duration::from_millis(2_500),
            limits: Limits::default(),
        }
    }
}

/// Records and applies webhook signals with group commit. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Ingestor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    shards: Vec<mpsc::UnboundedSender<Pending>>,
    hasher: std::collections::hash_map::RandomState,
    admission: Arc<Admission>,
    tokens: Arc<TokenCache>,
    body_limit: usize,
    answer_deadline: Duration,
}

#[derive(Debug)]
struct Pending {
    arrival: SignalArrival,
    reply: oneshot::Sender<Outcome>,
    _ticket: Ticket,
    /// When it was queued (`jt_ingest_queue_seconds`: queued until its batch starts).
    queued_at: Instant,
}

/// A signal handed to the ingestor: await its outcome (or drop it; it is recorded anyway).
#[derive(Debug)]
pub struct Submitted(oneshot::Receiver<Result<IngestOutcome, IngestError>>);

impl Submitted {
    /// The outcome, or [`IngestError::NotConfirmed`] after `deadline` (the signal stays
    /// queued and is still recorded).
    pub async fn outcome(self, deadline: Duration) -> Result<IngestOutcome, IngestError> {
        match tokio::time::timeout(deadline, self.0).await {
            Ok(Ok(outcome)) => outcome,
            // The shard dropped the reply: its batch task panicked (logged there).
            Ok(Err(_)) => Err(IngestError::Failed),
            Err(_) => Err(IngestError::NotConfirmed(deadline)),
        }
    }
}

impl Ingestor {
    /// Starts the shard tasks and the token-cache listener on the current runtime.
    pub fn start(store: Store, config: IngestConfig) -> Self {
        let shards = config.shards.max(1);
        let admission = Arc::new(Admission::new(AdmissionLimits {
            max_queued: config.max_queued,
            queue_floor: config.queue_floor,
            max_wait: config.max_wait,
            per_user: config.per_user_in_flight,
            parallel_batches: shards * config.batches_in_flight.max(1),
        }));
        let tokens = Arc::new(TokenCache::default());
        tokens.spawn_invalidation(&store);
        let writer = Arc::new(Writer {
            store: store.clone(),
            facts: FactsCache::default(),
            tokens: Arc::clone(&tokens),
            admission: Arc::clone(&admission),
            announcer: Announcer::start(store.clone()),
            max_batch: config.max_batch.max(1),
            batches_in_flight: config.batches_in_flight.max(1),
            min_overlap: config.min_overlap,
            linger: Linger {
                wait: config.linger,
                window: config.linger_window,
            },
            limits: config.limits.clone(),
        });
        let senders = (0..shards)
            .map(|_| {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(run_shard(Arc::clone(&writer), receiver));
                sender
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                store,
                shards: senders,
                hasher: std::collections::hash_map::RandomState::new(),
                admission,
                tokens,
                body_limit: config.limits.max_body_bytes,
                answer_deadline: config.answer_deadline,
            }),
        }
    }

    /// How long callers wait for a commit before answering "not confirmed".
    pub fn answer_deadline(&self) -> Duration {
        self.inner.answer_deadline
    }

    /// The largest body recorded whole; read one byte more to know a body is over it.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The live recorder behind a webhook token (cached).
    pub async fn target(&self, token: &str) -> Result<Option<WebhookTarget>, StoreError> {
        self.inner.tokens.lookup(&self.inner.store, token).await
    }

    /// Admits and queues a signal. Never waits: a refusal comes at once.
    pub fn submit(&self, arrival: SignalArrival) -> Result<Submitted, Refusal> {
        let ticket = self.inner.admission.admit(arrival.user())?;
        let shard = self.inner.hasher.hash_one(arrival.recorder()) % self.inner.shards.len() as u64;
        let (reply, receiver) = oneshot::channel();
        let pending = Pending {
            arrival,
            reply,
            _ticket: ticket,
            queued_at: Instant::now(),
        };
        let sender = usize::try_from(shard)
            .ok()
            .and_then(|i| self.inner.shards.get(i))
            .ok_or(Refusal::ShuttingDown)?;
        sender.send(pending).map_err(|_| Refusal::ShuttingDown)?;
        Ok(Submitted(receiver))
    }

    /// Refuses new signals from now on; those already admitted are still written.
    pub fn close(&self) {
        self.inner.admission.close();
    }

    /// Signals admitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.inner.admission.queued()
    }

    /// Signals admitted since start (each one is recorded).
    pub fn admitted(&self) -> u64 {
        self.inner.admission.admitted()
    }
}

/// What every shard and batch task of an ingestor shares.
#[derive(Debug)]
struct Writer {
    store: Store,
    facts: FactsCache,
    tokens: Arc<TokenCache>,
    admission: Arc<Admission>,
    announcer: Announcer,
    max_batch: usize,
    batches_in_flight: usize,
    min_overlap: usize,
    linger: Linger,
    limits: Limits,
}

async fn run_shard(writer: Arc<Writer>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(writer.batches_in_flight));
    let ends = Arc::new(BatchEnds::default());
    // Batches still being written, with their recorders. Several overlap in time (one
    // commits while the next locks and writes), but a batch starts only after every earlier
    // one sharing a recorder with it has finished: per-recorder order never depends on
    // which transaction wins a lock, nor on an earlier batch failing.
    let mut in_flight: Vec<(HashSet<RecorderId>, JoinHandle<()>)> = Vec::new();
    while let Some(first) = receiver.recv().await {
        // A free slot first, then everything queued meanwhile: while the slots are busy
        // the next batch grows, and an idle shard starts a lone signal at once.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break; // the semaphore is never closed
        };
        let mut batch = vec![first];
        take_queued(&mut receiver, &mut batch, writer.max_batch);
        let small = |batch: &Vec<Pending>| batch.len() < writer.min_overlap.min(writer.max_batch);
        // Few signals and another batch being written: wait for more, or for it to finish.
        while small(&batch) && slots.available_permits() + 1 < writer.batches_in_flight {
            let wake = ends.finished.notified();
            if let Waited::Closed =
                receive_or(&mut receiver, &mut batch, writer.max_batch, wake).await
            {
                break;
            }
        }
        // Just after another batch ended: its senders' next signals are on their way.
        if let Some(deadline) = writer
            .linger
            .until(small(&batch), ends.last(), Instant::now())
        {
            let deadline = tokio::time::Instant::from_std(deadline);
            while small(&batch) {
                let wake = tokio::time::sleep_until(deadline);
                if !matches!(
                    receive_or(&mut receiver, &mut batch, writer.max_batch, wake).await,
                    Waited::Received
                ) {
                    break;
                }
            }
        }
        let recorders: HashSet<RecorderId> = batch.iter().map(|p| p.arrival.recorder()).collect();
        in_flight.retain(|(_, task)| !task.is_finished());
        let (earlier, independent): (Vec<_>, Vec<_>) = in_flight
            .drain(..)
            .partition(|(theirs, _)| !theirs.is_disjoint(&recorders));
        in_flight = independent;
        for (_, task) in earlier {
            let _ = task.await;
        }
        let task = tokio::spawn(flush_measured(
            Arc::clone(&writer),
            batch,
            slot,
            Arc::clone(&ends),
        ));
        in_flight.push((recorders, task));
    }
    for (_, task) in in_flight {
        let _ = task.await;
    }
}

/// [`flush`] in a task of its own (a panic fails this batch — its replies are dropped: 500 —
/// not the shard), timed for admission and metrics. Holds its shard's slot until done.
async fn flush_measured(
    writer: Arc<Writer>,
    batch: Vec<Pending>,
    slot: OwnedSemaphorePermit,
    ends: Arc<BatchEnds>,
) {
    let size = batch.len();
    let started = Instant::now();
    for pending in &batch {
        metrics::histogram!(metric_names::INGEST_QUEUE_SECONDS)
            .record(started.duration_since(pending.queued_at).as_secs_f64());
    }
    if let Err(error) = tokio::spawn(flush(Arc::clone(&writer), batch)).await {
        tracing::error!(%error, size, "ingest batch task failed");
    }
    let took = started.elapsed();
    writer.admission.observe(size, took);
    metrics::histogram!(metric_names::INGEST_BATCH_SIGNALS).record(size as f64);
    metrics::histogram!(metric_names::INGEST_FLUSH_SECONDS).record(took.as_secs_f64());
    // The slot first: a shard woken by this finds it free.
    drop(slot);
    ends.mark();
}

/// When a shard's batches end: the shard waits on `finished`, and lingers after `last`.
#[derive(Debug, Default)]
struct BatchEnds {
    finished: Notify,
    last: Mutex<Option<Instant>>,
}

impl BatchEnds {
    fn mark(&self) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.finished.notify_one();
    }

    fn last(&self) -> Option<Instant> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a small batch lingers (see [`IngestConfig::linger`]).
#[derive(Debug, Clone, Copy)]
struct Linger {
    wait: Duration,
    window: Duration,
}

impl Linger {
    /// Until when a batch about to start at `now` waits for more signals: only a `small`
    /// one, and only within the window after the shard's last batch ended.
    fn until(self, small: bool, last_end: Option<Instant>, now: Instant) -> Option<Instant> {
        let recent = last_end.is_some_and(|end| now.saturating_duration_since(end) < self.window);
        (small && recent && !self.wait.is_zero()).then(|| now + self.wait)
    }
}

/// How [`receive_or`] ended.
enum Waited {
    /// Signals arrived (and are in the batch).
    Received,
    /// The wake-up came first.
    Woken,
    /// The queue closed: the process is stopping.
    Closed,
}

/// Waits for the next signal (adding it and everything queued behind it to `batch`, up to
/// `max`) or for `wake`, whichever comes first.
async fn receive_or(
    receiver: &mut mpsc::UnboundedReceiver<Pending>,
    batch: &mut Vec<Pending>,
    max: usize,
    wake: impl Future<Output = ()>,
) -> Waited {
    tokio::select! {
        pending = receiver.recv() => match pending {
            Some(pending) => {
                batch.push(pending);
                take_queued(receiver, batch, max);
                Waited::Received
            }
            None => Waited::Closed,
        },
        () = wake => Waited::Woken,
    }
}

/// Moves what is queued into `batch`, up to `max` signals.
fn take_queued(
    receiver: &mut mpsc::UnboundedReceiver<Pending>,
    batch: &mut Vec<Pending>,
    max: usize,
) {
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(pending) => batch.push(pending),
            Err(_) => break,
        }
    }
}

/// Transient conflicts worth retrying the whole batch for (nothing was committed).
const RETRIES: usize = 3;

/// Who waits for a signal's outcome; dropping it frees the signal's admission ticket.
struct Waiter {
    reply: oneshot::Sender<Outcome>,
    _ticket: Ticket,
}

/// Writes a batch: the groups whose facts are remembered in one round trip, the rest (and
/// any whose facts turn out stale) under the row locks.
async fn flush(writer: Arc<Writer>, batch: Vec<Pending>) {
    let (arrivals, mut waiters): (Vec<SignalArrival>, Vec<Option<Waiter>>) = batch
        .into_iter()
        .map(|p| {
            let waiter = Waiter {
                reply: p.reply,
                _ticket: p._ticket,
            };
            (p.arrival, Some(waiter))
        })
        .unzip();
    let parsed: Vec<Parsed<'_>> = arrivals.iter().map(|a| parse(a, &writer.limits)).collect();
    let signals: Vec<&Parsed<'_>> = parsed.iter().collect();
    let remembered = match write_remembered(&writer.store, &writer.facts, &signals).await {
        Ok(outcomes) => outcomes,
        Err(error) if error.is_unavailable() => {
            // Nothing or everything of it committed; it cannot be known which, so no retry
            // here: the 503 makes TradingView resend, and a resend is caught as a duplicate.
            tracing::warn!(%error, size = signals.len(), "ingest batch refused: database unavailable");
            writer
                .facts
                .forget(arrivals.iter().map(SignalArrival::recorder));
            let outcomes = (0..signals.len()).map(|i| (i, Err(IngestError::Unavailable)));
            writer.answer(&arrivals, &mut waiters, outcomes);
            return;
        }
        Err(error) => {
            // The statement failed, so nothing of it was written.
            tracing::warn!(%error, size = signals.len(), "ingest from remembered facts failed; reading them under the locks");
            writer
                .facts
                .forget(arrivals.iter().map(SignalArrival::recorder));
            signals.iter().map(|_| None).collect()
        }
    };
    let mut rest = Vec::new();
    let mut written = Vec::new();
    for (index, outcome) in remembered.into_iter().enumerate() {
        match outcome {
            Some(outcome) => written.push((index, outcome)),
            None => rest.push(index),
        }
    }
    writer.answer(&arrivals, &mut waiters, written);
    if !rest.is_empty() {
        flush_locked(&writer, &arrivals, &signals, rest, &mut waiters).await;
    }
}

/// Writes the signals at `indices` under the row locks, all in one transaction; when that
/// fails, each alone, so only a culprit fails, and that one is kept as rejected.
async fn flush_locked(
    writer: &Writer,
    arrivals: &[SignalArrival],
    signals: &[&Parsed<'_>],
    indices: Vec<usize>,
    waiters: &mut [Option<Waiter>],
) {
    let these: Vec<&Parsed<'_>> = indices.iter().map(|&i| signals[i]).collect();
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        match write_locked(&writer.store, &writer.facts, &these).await {
            Err(error) if attempt < RETRIES && is_conflict(&error) => {
                tracing::info!(%error, attempt, "ingest batch conflicted; retrying");
            }
            result => break result,
        }
    };
    let error = match result {
        Ok(outcomes) => {
            writer.answer(arrivals, waiters, indices.into_iter().zip(outcomes));
            return;
        }
        Err(error) => error,
    };
    writer
        .facts
        .forget(these.iter().map(|p| p.arrival.recorder()));
    if error.is_unavailable() {
        tracing::warn!(%error, size = indices.len(), "ingest batch refused: database unavailable");
        let outcomes = indices
            .into_iter()
            .map(|i| (i, Err(IngestError::Unavailable)));
        writer.answer(arrivals, waiters, outcomes);
    } else if indices.len() > 1 {
        // Something in the batch broke it: write each signal alone, so only the culprit
        // fails.
        tracing::error!(%error, size = indices.len(), "ingest batch failed; writing its signals one by one");
        for index in indices {
            Box::pin(flush_locked(
                writer,
                arrivals,
                signals,
                vec![index],
                waiters,
            ))
            .await;
        }
    } else {
        for index in indices {
            let arrival = &arrivals[index];
            tracing::error!(%error, recorder = %arrival.recorder(), "signal could not be applied; keeping it as rejected");
            let outcome =
                match record_unprocessable(&writer.store, arrival, writer.limits.max_body_bytes)
                    .await
                {
                    Ok(Some(signal_id)) => Ok(IngestOutcome::Rejected {
                        signal_id,
                        rejection: Rejection::Internal,
                    }),
                    Ok(None) => Err(IngestError::UnknownRecorder),
                    Err(error) if error.is_unavailable() => Err(IngestError::Unavailable),
                    Err(error) => {
                        tracing::error!(%error, "signal could not be kept either");
                        Err(IngestError::Failed)
                    }
                };
            writer.answer(arrivals, waiters, [(index, outcome)]);
        }
    }
}

impl Writer {
    /// Answers the signals at the given indices; live pages hear of those stored.
    fn answer(
        &self,
        arrivals: &[SignalArrival],
        waiters: &mut [Option<Waiter>],
        outcomes: impl IntoIterator<Item = (usize, Outcome)>,
    ) {
        let outcomes: Vec<(usize, Outcome)> = outcomes.into_iter().collect();
        let stored: BTreeSet<SignalEvent> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(index, _)| SignalEvent {
                user_id: arrivals[*index].user(),
                recorder_id: arrivals[*index].recorder(),
            })
            .collect();
        self.announcer.announce(stored);
        for (index, outcome) in outcomes {
            if matches!(outcome, Err(IngestError::UnknownRecorder)) {
                self.tokens.forget(&arrivals[index].target.token_hash);
            }
            // A closed receiver: the sender hung up. The signal is committed all the same.
            if let Some(waiter) = waiters[index].take() {
                let _ = waiter.reply.send(outcome);
            }
        }
    }
}

/// The last resort for a signal that breaks its own transaction: keep what arrived as a
/// rejected row (the raw body as bytes, no parsed text), so nothing received is lost.
async fn record_unprocessable(
    store: &Store,
    arrival: &SignalArrival,
    max_body_bytes: usize,
) -> Result<Option<i64>, StoreError> {
    let kept = &arrival.body[..arrival.body.len().min(max_body_bytes)];
    let mut tx = store.tenant(arrival.user()).await?;
    let id = sqlx::query_scalar(
        "with numbered as (
             update recorders set last_seq = last_seq + 1
             where id = $1 and webhook_token_hash = $2 and status <> 'deleted'
             returning last_seq)
         insert into recorded_signals (user_id, recorder_id, seq, received_at, status, error,
             raw_body, body_sha256, source_ip)
         select $3, $1, last_seq, $4, 'rejected', $5, $6, sha256($6), $7::inet from numbered
         returning id",
    )
    .bind(arrival.recorder())
    .bind(&arrival.target.token_hash)
    .bind(arrival.user())
    .bind(arrival.received_at)
    .bind(Rejection::Internal.message())
    .bind(kept)
    .bind(arrival.source_ip.map(|ip| ip.to_string()))
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn is_conflict(error: &StoreError) -> bool {
    let StoreError::Database(sqlx::Error::Database(db)) = error else {
        return false;
    };
    // deadlock_detected, serialization_failure
    matches!(db.code().as_deref(), Some("40P01" | "40001"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINGER: Linger = Linger {
        wait: Duration::from_micros(300),
        window: Duration::from_millis(1),
    };

    #[test]
    fn a_small_batch_lingers_only_just_after_another_ended() {
        let end = Instant::now();
        let soon = end + Duration::from_micros(400);
        assert_eq!(
            LINGER.until(true, Some(end), soon),
            Some(soon + Duration::from_micros(300))
        );
        // An idle shard (nothing ended yet, or long ago) starts at once.
        assert_eq!(LINGER.until(true, None, soon), None);
        assert_eq!(
            LINGER.until(true, Some(end), end + Duration::from_millis(2)),
            None
        );
        // A batch of at least the overlap minimum never waits.
        assert_eq!(LINGER.until(false, Some(end), soon), None);
        // Zero turns it off.
        let off = Linger {
            wait: Duration::ZERO,
            ..LINGER
        };
        assert_eq!(off.until(true, Some(end), soon), None);
    }
}
