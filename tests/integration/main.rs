//! End-to-end tests of the foundation: one test binary (one PostgreSQL cluster per run, a
//! fresh database per test).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod api_recorders;
mod auth;
mod cli;
mod embedded_cluster;
mod execution;
mod health;
mod isolation;
mod pages;
mod replay;
mod support;
mod tenancy;
mod webhook;
