//! Integration tests of the engine, linked into one binary (see STYLE.md).

mod alerts;
mod hand_checked;
mod helpers;
mod hostile_alerts;
mod properties;
mod roll_and_contracts;
mod seed_examples;
mod stats_and_replay;
