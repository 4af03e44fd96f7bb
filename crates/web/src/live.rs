//! Live refresh (SPEC §10): one `LISTEN jt_signals` connection per web process, fanned out
//! in-process to every browser's Server-Sent Events stream. A webhook that landed on any
//! web process reaches every other one through PostgreSQL. Events carry a recorder id only:
//! the page's script then fetches the changed fragments through the usual authenticated,
//! tenant-scoped routes.

use std::convert::Infallible;
use std::sync::{Arc, Once};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use jt_store::signal_events::SignalEvent;
use jt_store::{RecorderId, Store, UserId};
use tokio::sync::broadcast;

use crate::AppState;
use crate::auth::AuthUser;

/// Events buffered per browser stream; one that falls further behind is told to refresh
/// everything instead.
const BUFFER: usize = 256;
/// Pause before listening again after the database connection failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// What happened, as fanned out to the streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// New signals for this user's recorder.
    Signals(SignalEvent),
    /// Notifications may have been missed (listening (re)started): every page refreshes.
    Everything,
}

/// The process's live-event hub. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct LiveEvents {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: broadcast::Sender<Change>,
    store: Store,
    listening: Once,
}

impl LiveEvents {
    /// A hub over `store`. The listener connection is opened with the first subscriber, so
    /// processes (and tests) that never serve a live page hold no extra connection.
    pub fn new(store: Store) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Self {
            inner: Arc::new(Inner {
                sender,
                store,
                listening: Once::new(),
            }),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        let inner = &self.inner;
        inner.listening.call_once(|| {
            tokio::spawn(listen(inner.store.clone(), inner.sender.clone()));
        });
        inner.sender.subscribe()
    }
}

/// Forwards notifications until the process ends, re-listening whenever the connection
/// breaks (PostgreSQL restarted). Each time listening (re)starts, pages are told to refresh
/// everything: whatever was stored while nobody listened has not been announced.
async fn listen(store: Store, sender: broadcast::Sender<Change>) {
    loop {
        match store.listen_for_signals().await {
            Ok(mut listener) => {
                tracing::debug!("listening for stored signals");
                // No subscriber at the moment is fine: nobody is looking.
                let _ = sender.send(Change::Everything);
                loop {
                    match listener.next().await {
                        Ok(event) => drop(sender.send(Change::Signals(event))),
                        // Pages are told to refresh only once listening again (above): a
                        // refresh sent now would come before the signals stored meanwhile.
                        Err(error) => {
                            tracing::warn!(%error, "lost the live-refresh listener; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for live refresh yet; retrying");
            }
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

/// `GET /events`: the logged-in user's stream. Each event is `signals` with the recorder id
/// as data, or `refresh` (refresh everything). Other users' events are never sent.
pub(crate) async fn get_events(
    State(state): State<AppState>,
    user: AuthUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.live.subscribe();
    let counted = ClientCount::start();
    let events = stream::unfold(
        (receiver, user.user_id, counted),
        |(mut receiver, user, counted)| async move {
            let event = next_for(&mut receiver, user).await?;
            Some((Ok(event), (receiver, user, counted)))
        },
    );
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The next event for `user`; `None` when the hub is gone (shutdown).
async fn next_for(receiver: &mut broadcast::Receiver<Change>, user: UserId) -> Option<Event> {
    loop {
        match receiver.recv().await {
            Ok(Change::Signals(event)) if event.user_id == user => {
                return Some(signals_event(event.recorder_id));
            }
            Ok(Change::Signals(_)) => {}
            Ok(Change::Everything) | Err(broadcast::error::RecvError::Lagged(_)) => {
                return Some(Event::default().event("refresh").data("all"));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

fn signals_event(recorder: RecorderId) -> Event {
    Event::default().event("signals").data(recorder.to_string())
}

/// Keeps the `jt_sse_clients` count of open streams while alive.
#[derive(Debug)]
struct ClientCount;

impl ClientCount {
    fn start() -> Self {
        metrics::gauge!(crate::metrics::SSE_CLIENTS).increment(1.0);
        Self
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::SSE_CLIENTS).decrement(1.0);
    }
}
