//! End-to-end tests of the foundation: one test binary (one PostgreSQL cluster per run, a
//! fresh database per test).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod account_settings;
mod api_recorders;
mod auth;
mod browser;
mod cli;
mod dashboards;
mod embedded_cluster;
mod health;
mod isolation;
mod live_refresh;
mod pages;
mod replay;
mod support;
mod tenancy;
mod webhook;
