//! The `linli` binary.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = linli::cli::Cli::parse();
    match linli::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linli: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
