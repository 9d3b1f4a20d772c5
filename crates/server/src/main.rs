//! The `linli` binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match linli::cli::main(std::env::args_os().collect()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // What stopped a command is told as it is, without the web's "internal" label.
            match e {
                kernel::AppError::Internal(message) => eprintln!("linli: {message}"),
                e => eprintln!("linli: {e}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}
