//! Needs express (需求直通车) and the public problem ledger (问题台账). This first slice serves
//! the triage that every case will go through; cases, clocks, ratings, the ledger and Open311
//! build on it.

pub mod api;

use kernel::manifest::Manifest;

/// The cases capability.
pub fn manifest() -> Manifest {
    Manifest {
        name: "cases",
        migrations: &[],
        api: api::router,
        web: axum::Router::new,
        jobs: Vec::new,
        permissions: &[],
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        demo_seed: None,
        personal_data: None,
        tiles: &[],
    }
}
