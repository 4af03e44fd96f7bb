//! End-to-end tests of the foundation: one test binary (one PostgreSQL cluster per run, a
//! fresh database per test).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod account_settings;
mod admin;
mod api_recorders;
mod auth;
mod browser;
mod browser_hardening;
mod cli;
mod dashboards;
mod deployment;
mod embedded_cluster;
mod execution;
mod health;
mod hostile_input;
mod ingest;
mod isolation;
mod least_privilege;
mod live_refresh;
mod metrics;
mod pages;
mod replay;
mod server_limits;
mod support;
mod tenancy;
mod webhook;
