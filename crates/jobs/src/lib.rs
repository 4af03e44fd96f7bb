//! Background jobs for Just.Trades on apalis (PostgreSQL): order execution per broker account
//! (SPEC §8). [`Executor`] does the work and can be driven directly ("run pending jobs now"
//! in tests); [`run_worker`] runs it from the apalis queue with a sweep as the fallback.

mod broker_connection;
mod clock;
mod executor;
mod order_outcomes;
mod worker;

pub use broker_connection::{
    BrokerUrls, ConnectError, ExecutorConfig, connect, new_client, test_connection,
};
pub use clock::{Clock, SystemClock, TestClock};
pub use executor::{Executor, JobError};
pub use worker::{ExecuteAccount, WorkerConfig, run_worker};
