//! Execution end to end: signals through the webhook, orders queued with `enqueue_orders` in a
//! tenant transaction (as ingest does), sent by the executor to the fake Tradovate over HTTP.

mod api;
mod faults;
mod ordering;
mod queueing;
pub mod support;
mod verification;
pub mod worker;
