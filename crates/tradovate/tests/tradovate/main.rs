//! The client against the fake Tradovate over real HTTP: every fault class ends in the
//! right error class, and nothing is placed twice.

mod faults;
mod support;
mod tokens;
