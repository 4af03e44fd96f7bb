//! Live pages learn of committed signals without delaying anyone's answer.
//!
//! One task per ingestor sends the notifications: while one send is under way, the events
//! of every batch that commits meanwhile are merged into the next. So announcing takes at
//! most one connection and one round trip at a time, however many batches commit, instead
//! of a transaction per batch competing with the batches for the pool.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use crate::Store;
use crate::signal_events::SignalEvent;

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
    while let Some(mut events) = receiver.recv().await {
        while let Ok(more) = receiver.try_recv() {
            events.extend(more);
        }
        let events: Vec<SignalEvent> = events.into_iter().collect();
        if let Err(error) = store.announce_signals(&events).await {
            tracing::warn!(%error, "live pages were not told of new signals");
        }
    }
}
