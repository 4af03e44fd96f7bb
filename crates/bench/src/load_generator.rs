//! The load generator: raw HTTP/1.1 over tokio TCP, one keep-alive connection per concurrent
//! sender, pre-built requests, every latency recorded. Cheap enough per request that the
//! client does not take the server's CPU on a small machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::http_response::{Connection, ResponseError};
use crate::latency_stats::StatusCounts;
use crate::signal_mix::{RecorderScript, assign_recorders, signal_id};

/// Pause after a failed connect, so a dead server is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Where to send: the server and the webhook path of every recorder (`/webhook/{token}`).
#[derive(Debug, Clone)]
pub struct LoadTarget {
    /// The server's loopback address.
    pub address: SocketAddr,
    /// One webhook path per recorder; recorder i is index i in the outcome's counts.
    pub webhook_paths: Vec<String>,
}

/// What a load run did.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// From the first request sent to the last answer received (or last send, for hang-ups).
    pub elapsed: Duration,
    /// Time to each answer, unsorted.
    pub latencies: Vec<Duration>,
    /// Answers by status, and failures.
    pub statuses: StatusCounts,
    /// Requests written completely, by recorder index.
    pub sent_per_recorder: Vec<u64>,
}

impl LoadOutcome {
    /// Requests written completely.
    pub fn sent(&self) -> u64 {
        self.sent_per_recorder.iter().sum()
    }

    /// Answers per second over the run.
    pub fn answers_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// When a sustained load stops.
#[derive(Debug, Clone)]
pub enum Until {
    /// This long after all connections are open.
    Elapsed(Duration),
    /// When the flag is set (e.g. by another load running alongside).
    Stopped(Arc<AtomicBool>),
}

/// Sends alerts with `senders` connections, each sending back to back, until `until`.
pub async fn run_sustained(target: &LoadTarget, senders: usize, until: Until) -> LoadOutcome {
    let mut load = SustainedLoad::new(target, senders);
    load.run(until).await;
    load.finish()
}

/// A sustained load that can pause and go on (the benchmark alternates it with pgbench):
/// the same connections and the same sequence of unique alerts across its runs.
pub struct SustainedLoad {
    senders: Vec<Sender>,
    recorders: usize,
    /// Time spent sending, summed over the runs.
    elapsed: Duration,
}

impl SustainedLoad {
    /// `senders` connections (opened by the first run) over `target`'s recorders.
    pub fn new(target: &LoadTarget, senders: usize) -> Self {
        Self {
            senders: Sender::for_each_connection(target, senders),
            recorders: target.webhook_paths.len(),
            elapsed: Duration::ZERO,
        }
    }

    /// Every connection sends back to back until `until`, then waits for its last answer.
    pub async fn run(&mut self, until: Until) {
        let start = Arc::new(Barrier::new(self.senders.len()));
        let mut tasks = JoinSet::new();
        for mut sender in self.senders.drain(..) {
            let (start, until) = (start.clone(), until.clone());
            tasks.spawn(async move {
                if sender.connection.is_none() {
                    sender.connect().await;
                }
                start.wait().await;
                let began = Instant::now();
                let done = || match &until {
                    Until::Elapsed(duration) => began.elapsed() >= *duration,
                    Until::Stopped(flag) => flag.load(Ordering::Relaxed),
                };
                while !done() {
                    sender.send_next().await;
                }
                (began, sender)
            });
        }
        let finished = tasks.join_all().await;
        let began = finished.iter().map(|(began, _)| *began).min();
        self.elapsed += began.map_or(Duration::ZERO, |began| began.elapsed());
        self.senders = finished.into_iter().map(|(_, sender)| sender).collect();
    }

    /// What all the runs did; `elapsed` is the time they spent sending.
    pub fn finish(self) -> LoadOutcome {
        let tallies = self.senders.into_iter().map(Sender::into_tally).collect();
        LoadOutcome {
            elapsed: self.elapsed,
            ..merge(tallies, self.recorders)
        }
    }
}

/// Opens `connections` connections, then fires `signals` alerts at once, each connection
/// sending its share back to back (a bar close: every strategy fires together).
pub async fn run_burst(target: &LoadTarget, connections: usize, signals: usize) -> LoadOutcome {
    let start = Arc::new(Barrier::new(connections));
    let mut tasks = JoinSet::new();
    for (index, mut sender) in Sender::for_each_connection(target, connections)
        .into_iter()
        .enumerate()
    {
        let share = signals / connections + usize::from(index < signals % connections);
        let start = start.clone();
        tasks.spawn(async move {
            sender.connect().await;
            start.wait().await;
            for _ in 0..share {
                sender.send_next().await;
            }
            sender.into_tally()
        });
    }
    merge(tasks.join_all().await, target.webhook_paths.len())
}

/// `senders` senders send `signals` alerts in all, each on a new connection that is closed
/// right after the request is written, without waiting for the answer.
pub async fn run_hangups(target: &LoadTarget, senders: usize, signals: usize) -> LoadOutcome {
    let mut tasks = JoinSet::new();
    for (index, mut sender) in Sender::for_each_connection(target, senders)
        .into_iter()
        .enumerate()
    {
        let share = signals / senders + usize::from(index < signals % senders);
        tasks.spawn(async move {
            for _ in 0..share {
                sender.send_next_and_hang_up().await;
            }
            sender.into_tally()
        });
    }
    merge(tasks.join_all().await, target.webhook_paths.len())
}

/// One connection's alerts and what happened to them.
struct Sender {
    index: usize,
    address: SocketAddr,
    scripts: Vec<RecorderScript>,
    sent: Vec<u64>,
    next_script: usize,
    count: u64,
    connection: Option<Connection>,
    tally: SenderTally,
}

#[derive(Default)]
struct SenderTally {
    first_send: Option<Instant>,
    last_event: Option<Instant>,
    latencies: Vec<Duration>,
    statuses: StatusCounts,
    sent: Vec<(usize, u64)>,
}

impl Sender {
    fn for_each_connection(target: &LoadTarget, connections: usize) -> Vec<Self> {
        let host = target.address.to_string();
        assign_recorders(target.webhook_paths.len(), connections)
            .into_iter()
            .enumerate()
            .map(|(index, recorders)| {
                let scripts: Vec<RecorderScript> = recorders
                    .into_iter()
                    .map(|r| RecorderScript::new(&host, &target.webhook_paths[r], r))
                    .collect();
                Self {
                    index,
                    address: target.address,
                    sent: vec![0; scripts.len()],
                    scripts,
                    next_script: 0,
                    count: 0,
                    connection: None,
                    tally: SenderTally::default(),
                }
            })
            .collect()
    }

    /// Opens the connection ahead of the first request (counted as a failure if it cannot).
    async fn connect(&mut self) {
        match Connection::open(self.address).await {
            Ok(connection) => self.connection = Some(connection),
            Err(_) => self.tally.statuses.failed("connect"),
        }
    }

    /// The script (recorder, round robin) and unique id of the next alert.
    fn advance(&mut self) -> (usize, u64) {
        let script = self.next_script;
        self.next_script = (script + 1) % self.scripts.len();
        let id = signal_id(self.index, self.count);
        self.count += 1;
        (script, id)
    }

    async fn send_next(&mut self) {
        if self.connection.is_none() {
            self.connect().await;
            if self.connection.is_none() {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                return;
            }
        }
        let (script, id) = self.advance();
        let request = self.scripts[script].next_request(id);
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        let started = Instant::now();
        self.tally.first_send.get_or_insert(started);
        if connection.send(request).await.is_err() {
            self.tally.statuses.failed("send");
            self.connection = None;
            return;
        }
        self.sent[script] += 1;
        let answer = connection.receive().await;
        let now = Instant::now();
        self.tally.last_event = Some(now);
        match answer {
            Ok(head) => {
                self.tally.latencies.push(now - started);
                self.tally.statuses.answered(head.status);
                if head.close {
                    self.connection = None;
                }
            }
            Err(error) => {
                self.tally.statuses.failed(failure_kind(&error));
                self.connection = None;
            }
        }
    }

    async fn send_next_and_hang_up(&mut self) {
        let (script, id) = self.advance();
        let request = self.scripts[script].next_request(id);
        let started = Instant::now();
        self.tally.first_send.get_or_insert(started);
        let Ok(connection) = Connection::open(self.address).await else {
            self.tally.statuses.failed("connect");
            return;
        };
        match connection.send_and_hang_up(request).await {
            Ok(()) => {
                self.sent[script] += 1;
                self.tally.statuses.failed("hung up after sending");
            }
            Err(_) => self.tally.statuses.failed("send"),
        }
        self.tally.last_event = Some(Instant::now());
    }

    fn into_tally(mut self) -> SenderTally {
        self.tally.sent = self
            .scripts
            .iter()
            .zip(&self.sent)
            .map(|(script, &sent)| (script.recorder, sent))
            .collect();
        self.tally
    }
}

fn failure_kind(error: &ResponseError) -> &'static str {
    match error {
        ResponseError::Closed => "closed before the answer",
        ResponseError::Io(_) => "connection error",
        ResponseError::BadStatusLine
        | ResponseError::NoContentLength
        | ResponseError::HeadTooLong => "malformed answer",
    }
}

fn merge(tallies: Vec<SenderTally>, recorders: usize) -> LoadOutcome {
    let mut outcome = LoadOutcome {
        sent_per_recorder: vec![0; recorders],
        ..LoadOutcome::default()
    };
    let first = tallies.iter().filter_map(|t| t.first_send).min();
    let last = tallies.iter().filter_map(|t| t.last_event).max();
    if let (Some(first), Some(last)) = (first, last) {
        outcome.elapsed = last.saturating_duration_since(first);
    }
    for mut tally in tallies {
        outcome.latencies.append(&mut tally.latencies);
        outcome.statuses.merge(&tally.statuses);
        for (recorder, sent) in tally.sent {
            outcome.sent_per_recorder[recorder] += sent;
        }
    }
    outcome
}
