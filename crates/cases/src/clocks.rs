//! A case's two clocks (first response, result): their checks, enqueued as jobs in the
//! transaction that starts or moves a clock (ADR 007).

use kernel::community::CommunityId;
use crate::domain::CaseId;
use kernel::db::WriteTx;
use serde::{Deserialize, Serialize};
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use triage::{Category, Urgency};

/// Job kind that checks a case's clock when it is due for a warning or a breach.
pub const CLOCK_JOB: &str = "cases.clock";

/// One of a case's two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Until staff first respond.
    FirstResponse,
    /// Until the problem is solved.
    Result,
}

impl Clock {
    /// Stored code, also the catalogue key's last part (`clock_name.<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first_response",
            Clock::Result => "result",
        }
    }
}

/// The checks made on a running clock, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A fifth of the time is left: the assignee is reminded.
    Warn,
    /// The time is up: the staff on duty are told.
    Breach,
    /// Half the time again has passed: the community head is told.
    Escalate,
}

/// A clock check as its job carries it. `due` is the due time the check was made for: when the
/// clock has moved since, the check ends its chain (ADR 007).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCheck {
    /// The case.
    pub case_id: CaseId,
    /// Which clock.
    pub clock: Clock,
    /// Which check.
    pub stage: Check,
    /// The due time the check was made for.
    pub due: i64,
    /// When the clock started.
    pub start: i64,
}

impl ClockCheck {
    /// When the check runs: a fifth of the clock's span before it is due, just after, and half
    /// a span after.
    fn at(&self) -> i64 {
        let span = (self.due - self.start).max(1);
        match self.stage {
            Check::Warn => self.due - span / 5,
            Check::Breach => self.due + 1,
            Check::Escalate => self.due + span / 2,
        }
    }
}

/// Enqueues the first check of each clock `(clock, start, due)`: a warning when a fifth of its
/// time is left. Each check enqueues the next when it runs on a clock still running — the
/// breach (escalation to the staff on duty) at the due time, then a further escalation (to the
/// community head) when half the time again has passed. Each check carries the due time it was
/// made for: when the clock moves (a wait, a new urgency) a new chain starts and the old one
/// ends at its next check (ADR 007).
pub(crate) async fn enqueue_clocks(tx: &mut WriteTx, now: i64, id: CaseId, clocks: &[(Clock, i64, i64)]) -> AppResult<()> {
    for &(clock, start, due) in clocks {
        enqueue(tx, now, &ClockCheck { case_id: id, clock, stage: Check::Warn, due, start }).await?;
    }
    Ok(())
}

/// Enqueues `check` for its time (now, if that has passed).
pub(crate) async fn enqueue(tx: &mut WriteTx, now: i64, check: &ClockCheck) -> AppResult<()> {
    let payload = serde_json::to_value(check).map_err(AppError::internal)?;
    kernel::jobs::enqueue(tx, CLOCK_JOB, &payload, check.at().max(now), now).await?;
    Ok(())
}

/// A reopened case ("not solved") gets a new result clock of its service level's length, from now,
/// with its checks.
pub(crate) async fn restart_result_clock(
    state: &AppState,
    tx: &mut WriteTx,
    now: i64,
    id: CaseId,
    community_id: CommunityId,
) -> AppResult<()> {
    let (u, c): (String, String) =
        sqlx::query_as("SELECT urgency, category FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    let sla = crate::policy::sla_for(
        state,
        community_id,
        Urgency::parse(&u).ok_or_else(|| AppError::internal(format!("stored urgency {u}")))?,
        Category::parse(&c).ok_or_else(|| AppError::internal(format!("stored category {c}")))?,
    )
    .await?;
    let due =
        crate::policy::due(state, community_id, now, sla.result_ms, sla.working_hours).await?;
    sqlx::query("UPDATE cases SET result_due = $1 WHERE id = $2")
        .bind(due)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    enqueue_clocks(tx, now, id, &[(Clock::Result, now, due)]).await
}
