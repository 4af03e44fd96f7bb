//! PostgreSQL for Just.Trades: the embedded cluster, roles and migrations, and the
//! tenant-scoped transactions every query goes through (SPEC §4, §5).
//!
//! Tenant data is reachable only through [`TenantTx`] (sets `app.user_id`, so row-level
//! security shows one user's rows) or [`AdminTx`] (sets `app.role = 'admin'`, for the admin
//! console and CLI, audited). A query that forgets the scope sees nothing.

pub mod account;
pub mod account_links;
pub mod admin;
pub mod api_tokens;
mod app_role_check;
pub mod apply_settings;
pub mod broker_accounts;
mod broker_credentials;
pub mod embedded;
mod error;
pub mod exports;
mod ids;
pub mod ingest;
pub mod job_queue;
pub mod key_rotation;
mod lookups;
pub mod metric_names;
pub mod order_execution;
pub mod orders;
mod paging;
pub mod password;
pub mod performance;
mod provision;
pub mod rebuild;
pub mod recorder_overview;
pub mod recorders;
mod secret_key;
pub mod sessions;
pub mod signal_counts;
pub mod signal_events;
pub mod signal_log;
pub mod state;
mod tenant;
#[cfg(feature = "test-support")]
pub mod testing;
mod typed_text;
pub mod users;
pub mod verification;
pub mod webhook_token;

pub use app_role_check::verify_app_role;
pub use broker_credentials::BrokerCredentials;
pub use error::StoreError;
pub use ids::{AccountLinkId, ApiTokenId, BrokerAccountId, RecorderId, UserId};
pub use provision::{
    APP_ROLE, Access, DATABASE_NAME, Database, DbConfig, OWNER_ROLE, app_options,
    bootstrap_cluster, ensure_app_role, migrate,
};
pub use secret_key::{SecretKey, SecretKeyError};
pub use tenant::{AdminTx, Operator, Store, TenantTx};
