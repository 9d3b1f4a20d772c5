//! Running a clock check when its job comes due (see `crate::clocks`).

use kernel::community::CommunityId;
use kernel::auth::UserId;
use registry::BuildingId;
use crate::clocks::{Check, Clock, ClockCheck};
use crate::domain::State;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use notify::Channel;
use super::record::{alert, event};

/// Runs a clock check (see [`crate::clocks`]): nothing when the clock has stopped, is paused or
/// has moved since the check was made; else a warning to the assignee (or the staff on duty),
/// or an escalation to the staff on duty (the breach) or the community head (later), with the
/// next check enqueued in the same transaction.
pub async fn check_clock(state: &AppState, check: &ClockCheck) -> AppResult<()> {
    kernel::row! {
        struct Running {
            community_id: CommunityId,
            first_response_at: Option<i64>,
            state: String,
            first_response_due: i64,
            result_due: i64,
            paused_at: Option<i64>,
            assignee_user_id: Option<UserId>,
            escalation_level: i64,
            building_id: Option<BuildingId>,
            entered_by: Option<UserId>,
        }
    }
    let case_id = check.case_id;
    let Some(r): Option<Running> = sqlx::query_as(
        "SELECT community_id, first_response_at, state, first_response_due, result_due, paused_at, assignee_user_id, escalation_level, \
         building_id, entered_by FROM cases WHERE id = $1",
    )
    .bind(case_id)
    .fetch_optional(&state.db.pool)
    .await?
    else {
        return Ok(());
    };
    let st = State::parse(&r.state).ok_or_else(|| AppError::internal(format!("stored state {}", r.state)))?;
    let (stopped, current_due) = match check.clock {
        Clock::FirstResponse => (r.first_response_at.is_some() || st.is_final(), r.first_response_due),
        Clock::Result => (st.has_result(), r.result_due),
    };
    if stopped || r.paused_at.is_some() || check.due != current_due {
        return Ok(());
    }
    let clock = check.clock.code();
    let community_id = r.community_id;
    let assignee = r.assignee_user_id;
    let whereabouts = crate::reach::Whereabouts { building: r.building_id, entered_by: r.entered_by, assignee };
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let next = |stage| ClockCheck { stage, ..check.clone() };
    let step = match check.stage {
        Check::Warn => {
            event(&mut tx, case_id, now, None, "clock_warning", None, clock).await?;
            let to = match assignee {
                Some(a) => vec![a],
                None => crate::policy::on_duty_for(state, &mut tx, community_id, now, whereabouts).await?,
            };
            let key = format!("{clock}:{current_due}");
            alert(&mut tx, now, community_id, case_id, &to, "case_at_risk", &key, &[("clock", clock.to_string())], Channel::Inbox).await?;
            crate::clocks::enqueue(&mut tx, now, &next(Check::Breach)).await?;
            return tx.commit().await;
        }
        Check::Breach => {
            event(&mut tx, case_id, now, None, "clock_breached", None, clock).await?;
            crate::clocks::enqueue(&mut tx, now, &next(Check::Escalate)).await?;
            1
        }
        Check::Escalate => 2,
    };
    // The check decides the step of the chain: a breach goes to the staff on duty, the later
    // check to the community head (the case's level is the highest step any of its clocks reached).
    if step > r.escalation_level {
        sqlx::query("UPDATE cases SET escalation_level = $1 WHERE id = $2 AND escalation_level < $1")
            .bind(step)
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, case_id, now, None, "escalated", None, &format!("{clock}:{step}")).await?;
    }
    let mut to = if step >= 2 {
        crate::policy::heads(&mut tx, community_id).await?
    } else {
        crate::policy::on_duty_for(state, &mut tx, community_id, now, whereabouts).await?
    };
    to.extend(assignee);
    let to = kernel::db::distinct_ids(to);
    let template = if step >= 2 { "case_escalated_head" } else { "case_breached" };
    let stage = if step >= 2 { "escalate" } else { "breach" };
    let key = format!("{clock}:{stage}:{current_due}");
    alert(&mut tx, now, community_id, case_id, &to, template, &key, &[("clock", clock.to_string())], Channel::Sms).await?;
    tx.commit().await
}
