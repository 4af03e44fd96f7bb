//! `justtrades`: the command line. Everything it does lives in the library crates.

mod bench_orders;
mod commands;
mod config;
mod logging;

use clap::Parser;

use crate::config::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.log_format);
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
