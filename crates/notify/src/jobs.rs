//! The delivery job.

use async_trait::async_trait;
use kernel::jobs::{JobFailure, JobHandler, JobRun};
use kernel::state::AppState;

/// Delivers one outbox message.
pub struct Deliver;

#[async_trait]
impl JobHandler for Deliver {
    async fn run(&self, state: &AppState, payload: serde_json::Value, run: JobRun) -> Result<(), JobFailure> {
        let id = payload["outbox_id"].as_i64().ok_or_else(|| JobFailure("payload without outbox_id".into()))?;
        crate::service::deliver(state, id, run.is_last()).await.map_err(JobFailure)
    }
}
