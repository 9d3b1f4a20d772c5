//! The `linli` binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match linli::cli::main(std::env::args_os().collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linli: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
