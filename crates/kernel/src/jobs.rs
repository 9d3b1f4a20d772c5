//! Durable background jobs: enqueued in the same transaction as the change that needs them,
//! scheduled by a run-at instant, retried with backoff, dead-lettered after the last attempt,
//! and claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL so two nodes never run one twice.

use crate::db::{Backend, WriteTx};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use async_trait::async_trait;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed job may run before another worker may take it over.
const LEASE_MS: i64 = 5 * 60_000;
/// Attempts before a job is dead-lettered.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

/// A failed run; the job is retried later unless it was the last attempt.
#[derive(Debug)]
pub struct JobFailure(pub String);

impl<E: std::fmt::Display> From<E> for JobFailure {
    fn from(e: E) -> Self {
        JobFailure(e.to_string())
    }
}

/// Which run of a job this is.
#[derive(Debug, Clone, Copy)]
pub struct JobRun {
    /// Job id.
    pub id: i64,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// Attempts allowed in all.
    pub max_attempts: i64,
}

impl JobRun {
    /// Whether a failure now dead-letters the job.
    pub fn is_last(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Code that runs one kind of job. Runs are at-least-once: a handler must be idempotent.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Runs the job; the payload is the JSON given at enqueue time.
    async fn run(&self, state: &AppState, payload: serde_json::Value, run: JobRun) -> Result<(), JobFailure>;
}

/// All handlers, by job kind.
#[derive(Default)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    /// Registers a handler for `kind`.
    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        assert!(self.handlers.insert(kind, handler).is_none(), "job kind {kind} registered twice");
    }
}

/// Adds a job to the queue inside the caller's transaction.
pub async fn enqueue(
    tx: &mut WriteTx,
    kind: &str,
    payload: &impl Serialize,
    run_at: i64,
    now: i64,
) -> AppResult<i64> {
    let payload = serde_json::to_string(payload).map_err(AppError::internal)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, run_at, attempts, max_attempts, state, created_at) \
         VALUES ($1, $2, $3, 0, $4, 'pending', $5) RETURNING id",
    )
    .bind(kind)
    .bind(payload)
    .bind(run_at)
    .bind(DEFAULT_MAX_ATTEMPTS)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    tx.after_commit_wake_jobs = true;
    Ok(id)
}

crate::row! {
    /// A job this worker has claimed, with the attempt it is on.
    struct Claimed {
        id: i64,
        kind: String,
        payload: String,
        attempts: i64,
        max_attempts: i64,
    }
}

async fn claim(state: &AppState, now: i64) -> AppResult<Option<Claimed>> {
    let lock = match state.db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1 \
         WHERE id = (SELECT id FROM jobs WHERE (state = 'pending' AND run_at <= $2) \
                     OR (state = 'running' AND locked_until < $2) ORDER BY run_at, id LIMIT 1 {lock}) \
         RETURNING id, kind, payload, attempts, max_attempts"
    );
    let mut tx = state.db.begin_write().await?;
    let claimed: Option<Claimed> = sqlx::query_as(&sql).bind(now + LEASE_MS).bind(now).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Delay before the next attempt: 15 s, 30 s, 1 min … capped at one hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    (15_000i64.saturating_mul(1 << exp.min(12))).min(3_600_000)
}

async fn finish(state: &AppState, job: &Claimed, outcome: Result<(), JobFailure>) -> AppResult<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    match outcome {
        Ok(()) => {
            sqlx::query("UPDATE jobs SET state = 'done', finished_at = $1, locked_until = NULL WHERE id = $2")
                .bind(now)
                .bind(job.id)
                .execute(&mut *tx)
                .await?;
            state.metrics.jobs_done.inc();
        }
        Err(JobFailure(err)) if job.attempts >= job.max_attempts => {
            tracing::error!(job = job.id, kind = %job.kind, %err, "job dead-lettered");
            sqlx::query("UPDATE jobs SET state = 'dead', last_error = $1, finished_at = $2, locked_until = NULL WHERE id = $3")
                .bind(err)
                .bind(now)
                .bind(job.id)
                .execute(&mut *tx)
                .await?;
            state.metrics.jobs_dead.inc();
        }
        Err(JobFailure(err)) => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, %err, "job failed, will retry");
            sqlx::query("UPDATE jobs SET state = 'pending', last_error = $1, run_at = $2, locked_until = NULL WHERE id = $3")
                .bind(err)
                .bind(now + backoff_ms(job.attempts))
                .bind(job.id)
                .execute(&mut *tx)
                .await?;
            state.metrics.jobs_retried.inc();
        }
    }
    tx.commit().await
}

/// Claims and runs one due job; `false` when none is due.
pub async fn run_one(state: &AppState) -> AppResult<bool> {
    let Some(job) = claim(state, state.now()).await? else { return Ok(false) };
    let outcome = match state.jobs.handlers.get(job.kind.as_str()) {
        None => Err(JobFailure(format!("no handler for job kind {}", job.kind))),
        Some(handler) => match serde_json::from_str(&job.payload) {
            Ok(payload) => {
                let run = JobRun { id: job.id, attempt: job.attempts, max_attempts: job.max_attempts };
                handler.run(state, payload, run).await
            }
            Err(e) => Err(JobFailure(format!("bad payload: {e}"))),
        },
    };
    finish(state, &job, outcome).await?;
    Ok(true)
}

/// Runs every job that is due now (bounded), returning how many ran. Tests call this after
/// moving the fake clock.
pub async fn run_due(state: &AppState) -> AppResult<usize> {
    let mut n = 0;
    while n < 10_000 && run_one(state).await? {
        n += 1;
    }
    Ok(n)
}

/// Counts jobs per state, for the admin view and tests.
pub async fn count_by_state(state: &AppState, job_state: &str) -> AppResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = $1")
        .bind(job_state)
        .fetch_one(&state.db.pool)
        .await?)
}

/// How often the worker runs housekeeping.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// Purges finished jobs older than the retention period, then runs every capability's
/// housekeeping; returns the rows purged, by who purged them.
pub async fn housekeeping(state: &AppState) -> AppResult<Vec<(&'static str, u64)>> {
    let before = state.now() - i64::from(state.config.retention_days) * 24 * 3_600_000;
    let mut tx = state.db.begin_write().await?;
    let jobs = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1").bind(before).execute(&mut *tx).await?.rows_affected();
    // Events every subscriber has long handled (their deliveries go with them).
    sqlx::query("DELETE FROM event_deliveries WHERE event_id IN (SELECT id FROM domain_events WHERE at < $1)").bind(before).execute(&mut *tx).await?;
    let events = sqlx::query("DELETE FROM domain_events WHERE at < $1").bind(before).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    let mut purged = vec![("jobs", jobs), ("events", events)];
    for (name, run) in &state.housekeeping {
        purged.push((name, run(state, before).await?));
    }
    Ok(purged)
}

/// The worker loop: runs due jobs until `shutdown` flips, finishing the job in hand first;
/// about once an hour it runs [`housekeeping`].
pub async fn worker(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut last_housekeeping: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_EVERY) {
            last_housekeeping = Some(std::time::Instant::now());
            match housekeeping(&state).await {
                Ok(purged) => tracing::info!(?purged, "housekeeping"),
                Err(e) => tracing::error!(error = %e, "housekeeping"),
            }
        }
        match run_one(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "job worker"),
        }
        tokio::select! {
            _ = state.db.job_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(1000)) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("job worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1), 15_000);
        assert_eq!(backoff_ms(2), 30_000);
        assert!(backoff_ms(5) > backoff_ms(4));
        assert_eq!(backoff_ms(50), 3_600_000);
    }
}
