//! The staff queue and the console's workload figures.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::{BuildingId, GridId};
use crate::domain::{CASES_HANDLE, CaseId, State};
use chrono::Datelike;
use kernel::query::{col, contains, raw, Alias, Cond, Expr, Order, Query};
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use triage::Category;
use super::reading::{CaseView, views};

/// What the staff queue can be narrowed to; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// One state.
    pub state: Option<State>,
    /// One category.
    pub category: Option<Category>,
    /// The cases of one grid's buildings.
    pub grid_id: Option<GridId>,
    /// Only cases tied to no building (their place is not known).
    pub no_building: bool,
    /// The cases of one person.
    pub assignee: Option<UserId>,
    /// Only cases with a clock past due.
    pub overdue: bool,
    /// Only cases whose running clock falls due later today (as the overview's 今天到期 counts).
    pub due_today: bool,
    /// Finished cases (closed, merged, not ours, withdrawn) too.
    pub finished: bool,
    /// A case number (`12` or `#12`), or words from the report or its place.
    pub text: String,
}

/// States a case is finished in.
pub(crate) const FINISHED: [&str; 4] = ["closed", "duplicate", "not_ours", "withdrawn"];

impl QueueFilter {
    /// The filter as a condition on `cases c`; `grid_buildings` are the buildings of the
    /// filter's grid, as the registry has them.
    fn condition(&self, now: i64, grid_buildings: &[BuildingId]) -> Cond {
        let mut all = Cond::all();
        match self.state {
            Some(st) => all = all.add(col("c", "state").eq(st.code())),
            None if !self.finished => all = all.add(col("c", "state").is_not_in(FINISHED)),
            None => {}
        }
        if let Some(c) = self.category {
            all = all.add(col("c", "category").eq(c.code()));
        }
        if self.grid_id.is_some() {
            all = all.add(col("c", "building_id").is_in(grid_buildings.iter().copied()));
        }
        if self.no_building {
            all = all.add(col("c", "building_id").is_null());
        }
        if let Some(a) = self.assignee {
            all = all.add(col("c", "assignee_user_id").eq(a));
        }
        // A clock runs while the case is neither paused nor resolved; the one running is the
        // first response's until it is given, then the result's.
        let running = || {
            Cond::all()
                .add(col("c", "paused_at").is_null())
                .add(col("c", "state").is_not_in(["resolved", "verified", "closed", "duplicate", "not_ours", "withdrawn"]))
        };
        if self.overdue {
            all = all.add(running()).add(
                Cond::any()
                    .add(col("c", "first_response_at").is_null().and(col("c", "first_response_due").lt(now)))
                    .add(col("c", "resolved_at").is_null().and(col("c", "result_due").lt(now))),
            );
        }
        if self.due_today {
            let due = || raw("CASE WHEN c.first_response_at IS NULL THEN c.first_response_due ELSE c.result_due END");
            all = all.add(running()).add(Expr::expr(due()).gte(now)).add(Expr::expr(due()).lt(local_midnight_after(now)));
        }
        let text = self.text.trim();
        if !text.is_empty() {
            // A case number as typed on any keyboard: `12`, `#12`, `＃１２`.
            let number = kernel::query::fold(text).trim_start_matches('#').trim().parse::<i64>().ok().filter(|n| *n > 0);
            let mut any = Cond::any().add(contains(col("c", "search_text"), text));
            if let Some(n) = number {
                any = any.add(col("c", "id").eq(n));
            }
            all = all.add(any);
        }
        all
    }
}

/// The staff queue: open cases (finished ones too on request), critical first, then those
/// still being worked on before those waiting for the on-site check or closing, each by the
/// nearest due time; only what the person may handle (`crate::reach`), narrowed by `filter`.
pub async fn queue(
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    filter: &QueueFilter,
    after_rank: Option<i64>,
    limit: i64,
) -> AppResult<Vec<CaseView>> {
    p.require(community_id, &CASES_HANDLE)?;
    let reach = crate::reach::of(state, p, community_id).await?.ok_or(AppError::Forbidden)?;
    let grid_buildings = match filter.grid_id {
        Some(g) => registry::places::buildings_of_grid(&state.db.pool, g).await?,
        None => Vec::new(),
    };
    let mut q = Query::select();
    q.column((Alias::new("c"), Alias::new("id")))
        .from_as(Alias::new("cases"), Alias::new("c"))
        .cond_where(filter.condition(state.now(), &grid_buildings).add(col("c", "community_id").eq(community_id)));
    if let Some(within) = reach.condition("c") {
        q.and_where(raw(within));
    }
    // Open before finished; critical first; then reports the classifier could not read, which
    // need a person to classify them; those still being worked on before those waiting for the
    // check or closing; then by the nearest due time.
    q.order_by_expr(raw("CASE WHEN c.state IN ('closed', 'duplicate', 'not_ours', 'withdrawn') THEN 1 ELSE 0 END"), Order::Asc)
        .order_by_expr(raw("CASE WHEN c.urgency = 'critical' THEN 0 ELSE 1 END"), Order::Asc)
        .order_by((Alias::new("c"), Alias::new("triage_pending")), Order::Desc)
        .order_by_expr(raw("CASE WHEN c.state IN ('resolved', 'verified') THEN 1 ELSE 0 END"), Order::Asc)
        .order_by_expr(raw("CASE WHEN c.state = 'new' THEN c.first_response_due ELSE c.result_due END"), Order::Asc)
        .order_by((Alias::new("c"), Alias::new("id")), Order::Asc)
        .limit(u64::try_from(limit + 1).unwrap_or(1))
        .offset(u64::try_from(after_rank.unwrap_or(0)).unwrap_or(0));
    let (sql, values) = state.db.build(&q);
    let ids: Vec<CaseId> = sqlx::query_scalar_with(&sql, values).fetch_all(&state.db.pool).await?;
    views(state, &ids, true).await
}

/// The next local (Asia/Shanghai) midnight after `now`.
pub(crate) fn local_midnight_after(now: i64) -> i64 {
    let day = crate::domain::local_date(now);
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default() - crate::domain::LOCAL_OFFSET
}

/// The figures at the top of the console: open cases, those past due, those due today and
/// this month's satisfaction, over the cases the person may handle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Open cases: every case not finished, as the queue lists them (those resolved or checked
    /// on site still wait on staff for the check or the closing).
    pub open: i64,
    /// Open cases with a clock past due.
    pub overdue: i64,
    /// Open cases with a clock due before local midnight (and not yet past due).
    pub due_today: i64,
    /// Satisfied or basically satisfied ÷ rated, over the cases filed this local month (as the
    /// ledger's month row counts them); none when nothing of them is rated.
    pub satisfaction_this_month: Option<f64>,
}

/// The console's figures for `p` in `community_id` (none for someone who handles no cases).
pub async fn workload(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Option<Workload>> {
    let Some(reach) = crate::reach::of(state, p, community_id).await? else {
        return Ok(None);
    };
    let reach = reach.sql("c");
    let now = state.now();
    let day = crate::domain::local_date(now);
    let midnight = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default()
            - crate::domain::LOCAL_OFFSET
    };
    let tomorrow = local_midnight_after(now);
    let month_start = midnight(day.with_day(1).unwrap_or(day));
    kernel::row! {
        /// An open case's clocks.
        struct Clocks {
            state: String,
            first_response_at: Option<i64>,
            first_response_due: i64,
            resolved_at: Option<i64>,
            result_due: i64,
            paused_at: Option<i64>,
        }
    }
    let rows: Vec<Clocks> = sqlx::query_as(&format!(
        "SELECT c.state, c.first_response_at, c.first_response_due, c.resolved_at, c.result_due, c.paused_at \
         FROM cases c WHERE c.community_id = $1 AND c.state NOT IN ('closed', 'duplicate', 'not_ours', 'withdrawn'){reach}"
    ))
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut w = Workload {
        open: rows.len() as i64,
        ..Workload::default()
    };
    for r in &rows {
        // A paused case runs no clock; a resolved one has met its result clock.
        let resolved = matches!(r.state.as_str(), "resolved" | "verified");
        if r.paused_at.is_some() || resolved {
            continue;
        }
        // The clock that runs: the first response until given, then the result.
        let due = if r.first_response_at.is_none() {
            r.first_response_due
        } else {
            r.result_due
        };
        if due < now {
            w.overdue += 1;
        } else if due < tomorrow {
            w.due_today += 1;
        }
    }
    let rated: Vec<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT r.satisfaction FROM case_ratings r JOIN cases c ON c.id = r.case_id \
         WHERE c.community_id = $1 AND r.used_at IS NOT NULL AND c.created_at >= $2{reach}"
    ))
    .bind(community_id)
    .bind(month_start)
    .fetch_all(&state.db.pool)
    .await?;
    let satisfied = rated
        .iter()
        .filter(|s| matches!(s.as_deref(), Some("satisfied" | "basic")))
        .count();
    w.satisfaction_this_month = crate::ledger::ratio(satisfied as i64, rated.len() as i64);
    Ok(Some(w))
}
