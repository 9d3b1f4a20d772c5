//! Budgets of actions per subject and window — reports filed without an account per network
//! address, for one — counted in the database, so that every node of a deployment counts alike
//! and a burst of parallel requests cannot overdraw a budget.

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How many times an action may be taken per subject within a window.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// What is counted, e.g. `anonymous_report`; part of the stored key.
    pub name: &'static str,
    /// Actions allowed per window.
    pub limit: i64,
    /// The window, in milliseconds, from the first action counted in it.
    pub window_ms: i64,
}

/// Spends one action of `budget` for `subject` (an address, a user id), or refuses with 429 and
/// the seconds until the window ends. The count and the check are one statement, so parallel
/// requests cannot both take the last action. Windows that ended are purged as it goes.
pub async fn spend(state: &AppState, budget: &Budget, subject: &str) -> AppResult<()> {
    spend_n(state, budget, subject, 1).await
}

/// Spends `n` actions at once (photos of one report, say), as [`spend`] spends one.
pub async fn spend_n(state: &AppState, budget: &Budget, subject: &str, n: i64) -> AppResult<()> {
    let now = state.now();
    // Only a hash of the subject and when its window ends are kept: an address with the time
    // of its first action could tie an anonymous report to its sender.
    let key = crate::crypto::hash_token(&format!("{}:{subject}", budget.name));
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM quotas WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
    crate::row! {
        /// A subject's window after this spend.
        struct Window {
            used: i64,
            expires_at: i64,
        }
    }
    let window: Window = sqlx::query_as(
        "INSERT INTO quotas (key, expires_at, used) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET used = quotas.used + $3 RETURNING used, expires_at",
    )
    .bind(&key)
    .bind(now + budget.window_ms)
    .bind(n)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if window.used > budget.limit {
        return Err(AppError::TooManyRequests { retry_after_s: ((window.expires_at - now) + 999) / 1000 });
    }
    Ok(())
}
