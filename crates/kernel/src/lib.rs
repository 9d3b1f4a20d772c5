//! Linli platform kernel: what every capability shares.

pub mod assets;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod community;
pub mod config;
pub mod crypto;
pub mod db;
pub mod drafts;
pub mod error;
pub mod events;
pub mod i18n;
pub mod ids;
pub mod jobs;
pub mod manifest;
pub mod metrics;
pub mod migrations;
pub mod owner_only;
pub mod people;
pub mod query;
pub mod quota;
pub mod secret_key;
pub mod spreadsheet;
pub mod state;
pub mod validate;
pub mod workers;
pub mod web;

pub use error::{AppError, AppResult, FieldError};
pub use state::AppState;
