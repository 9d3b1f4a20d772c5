//! The `linli` server: composes the capabilities, runs migrations, workers and the CLI.

pub mod app;
pub mod backup;
pub mod cli;
pub mod demo;
mod portal;
pub mod serve;

pub use app::{build_state, manifests, openapi, router};
