//! Live pages learn of committed signals without delaying anyone's answer.
//!
//! One task per ingestor sends the notifications, at most one statement every
//! [`PACE`]: the events of every batch that commits meanwhile are merged into the next. So
//! announcing takes at most one connection and one round trip at a time, however many
//! batches commit, instead of a statement per batch competing with the batches for the
//! pool and the database's CPU (measured: one per batch was ~8 % of the web process's CPU
//! under the sustained benchmark). A page hears of a signal at most [`PACE`] later.

use std::collections::BTreeSet;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Store;
use crate::signal_events::SignalEvent;

/// The least time between two notifying statements.
const PACE: Duration = Duration::from_millis(50);

/// Hands committed signals' events to the announcing task.
#[derive(Debug, Clone)]
pub(crate) struct Announcer(mpsc::UnboundedSender<BTreeSet<SignalEvent>>);

impl Announcer {
    /// Starts the task on the current runtime; it ends when every `Announcer` is dropped.
    pub(crate) fn start(store: Store) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(store, receiver));
        Self(sender)
    }

    /// Queues these events (never waits).
    pub(crate) fn announce(&self, events: BTreeSet<SignalEvent>) {
        if !events.is_empty() {
            // Fails only once the task has ended (shutdown): nobody is left to tell.
            let _ = self.0.send(events);
        }
    }
}

async fn run(store: Store, mut receiver: mpsc::UnboundedReceiver<BTreeSet<SignalEvent>>) {
    let mut next = Instant::now();
    while let Some(mut events) = receiver.recv().await {
        tokio::time::sleep_until(next).await;
        next = Instant::now() + PACE;
        while let Ok(more) = receiver.try_recv() {
            events.extend(more);
        }
        let events: Vec<SignalEvent> = events.into_iter().collect();
        if let Err(error) = store.announce_signals(&events).await {
            tracing::warn!(%error, "live pages were not told of new signals");
        }
    }
}
