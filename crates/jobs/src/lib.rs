//! Background jobs for Just.Trades on apalis (PostgreSQL): order execution per broker account
//! (SPEC §8) and broker verification (SPEC §9). [`Executor`] and [`Verifier`] do the work and
//! can be driven directly ("run pending jobs now" in tests); [`run_worker`] runs them from
//! the apalis queues, with a sweep and a scheduler.

mod broker_connection;
mod clock;
mod executor;
mod order_outcomes;
mod verifier;
mod worker;

pub use broker_connection::{
    BrokerUrls, ConnectError, ExecutorConfig, connect, new_client, test_connection,
};
pub use clock::{Clock, SystemClock, TestClock};
pub use executor::{Executor, JobError};
pub use verifier::Verifier;
pub use worker::{ExecuteAccount, VerifyAccount, WorkerConfig, run_worker};
