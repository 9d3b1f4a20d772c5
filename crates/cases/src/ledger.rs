//! The public ledger (问题台账): every case of a community, as far as the public may see it —
//! category, building (never a flat), state and its steps — and the figures that make the
//! community's work accountable. The report's own words and staff notes stay off it: they may
//! name people or flats.

use crate::domain::State;
use kernel::error::AppResult;
use kernel::state::AppState;
use serde::Serialize;
use sqlx::Row;
use triage::{Category, Urgency};

/// A case as the public sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCase {
    /// Id.
    pub id: i64,
    /// Category.
    pub category: Category,
    /// Urgency.
    pub urgency: Urgency,
    /// Building name, if the case is tied to one.
    pub building: Option<String>,
    /// State.
    pub state: State,
    /// Filed at (epoch ms).
    pub created_at: i64,
    /// The states it went through, oldest first, with when.
    pub steps: Vec<(i64, State)>,
}

/// The community's accountability figures.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Cases filed.
    pub cases: i64,
    /// First responses within their due time ÷ cases whose first response is due or given.
    pub response_rate: Option<f64>,
    /// Rated solved ÷ rated.
    pub resolution_rate: Option<f64>,
    /// Satisfied or basically satisfied ÷ rated.
    pub satisfaction_rate: Option<f64>,
    /// Results within their due time ÷ cases with a result.
    pub on_time_rate: Option<f64>,
    /// Median minutes to the first response.
    pub median_first_response_minutes: Option<i64>,
    /// Median minutes to the result.
    pub median_result_minutes: Option<i64>,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 })
}

/// The figures of a community, computed from its cases and ratings.
pub async fn figures(state: &AppState, community_id: i64) -> AppResult<Figures> {
    let now = state.now();
    let rows = sqlx::query(
        "SELECT created_at, first_response_due, first_response_at, result_due, resolved_at, state FROM cases WHERE community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let (mut due_or_given, mut in_time, mut with_result, mut result_in_time) = (0, 0, 0, 0);
    let (mut first_times, mut result_times) = (Vec::new(), Vec::new());
    for r in &rows {
        let created: i64 = r.get(0);
        let first_due: i64 = r.get(1);
        let first_at: Option<i64> = r.get(2);
        let result_due: i64 = r.get(3);
        let resolved_at: Option<i64> = r.get(4);
        let st = State::parse(r.get::<String, _>(5).as_str()).unwrap_or(State::New);
        if matches!(st, State::Withdrawn | State::Duplicate) {
            continue;
        }
        if first_at.is_some() || now > first_due {
            due_or_given += 1;
            if first_at.is_some_and(|at| at <= first_due) {
                in_time += 1;
            }
        }
        if let Some(at) = first_at {
            first_times.push((at - created) / 60_000);
        }
        if let Some(at) = resolved_at {
            with_result += 1;
            result_times.push((at - created) / 60_000);
            if at <= result_due {
                result_in_time += 1;
            }
        }
    }
    let rated = sqlx::query(
        "SELECT r.solved, r.satisfaction FROM case_ratings r JOIN cases c ON c.id = r.case_id WHERE c.community_id = $1 AND r.used_at IS NOT NULL",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let solved = rated.iter().filter(|r| r.get::<Option<i64>, _>(0) == Some(1)).count() as i64;
    let satisfied = rated
        .iter()
        .filter(|r| matches!(r.get::<Option<String>, _>(1).as_deref(), Some("satisfied" | "basic")))
        .count() as i64;
    Ok(Figures {
        cases: rows.len() as i64,
        response_rate: ratio(in_time, due_or_given),
        resolution_rate: ratio(solved, rated.len() as i64),
        satisfaction_rate: ratio(satisfied, rated.len() as i64),
        on_time_rate: ratio(result_in_time, with_result),
        median_first_response_minutes: median(first_times),
        median_result_minutes: median(result_times),
    })
}

/// A page of the public ledger, newest first.
pub async fn cases(state: &AppState, community_id: i64, before: Option<i64>, limit: i64) -> AppResult<Vec<PublicCase>> {
    let rows = sqlx::query(
        "SELECT c.id, c.category, c.urgency, b.name, c.state, c.created_at FROM cases c LEFT JOIN buildings b ON b.id = c.building_id \
         WHERE c.community_id = $1 AND c.id < $2 AND c.state <> 'withdrawn' ORDER BY c.id DESC LIMIT $3",
    )
    .bind(community_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&state.db.pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let steps = sqlx::query(&format!(
        "SELECT case_id, at, state FROM case_events WHERE state IS NOT NULL{} ORDER BY id",
        kernel::db::and_in("case_id", Some(&ids))
    ))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id: i64 = r.get(0);
            PublicCase {
                id,
                category: Category::parse(r.get::<String, _>(1).as_str()).unwrap_or(Category::Suggestion),
                urgency: Urgency::parse(r.get::<String, _>(2).as_str()).unwrap_or(Urgency::Normal),
                building: r.get(3),
                state: State::parse(r.get::<String, _>(4).as_str()).unwrap_or(State::New),
                created_at: r.get(5),
                steps: steps
                    .iter()
                    .filter(|e| e.get::<i64, _>(0) == id)
                    .filter_map(|e| State::parse(e.get::<String, _>(2).as_str()).map(|s| (e.get::<i64, _>(1), s)))
                    .collect(),
            }
        })
        .collect())
}

/// Open cases like a new report — same category, and the same building when one is given —
/// so the resident can follow one instead of filing the same thing again.
pub async fn similar(state: &AppState, community_id: i64, text: &str, building_id: Option<i64>) -> AppResult<Vec<PublicCase>> {
    let category = triage::classify(text).category;
    let building = if building_id.is_some() { " AND c.building_id = $3" } else { "" };
    let sql = format!(
        "SELECT c.id FROM cases c WHERE c.community_id = $1 AND c.category = $2{building} \
         AND c.state IN ('new', 'acknowledged', 'in_progress', 'scheduled', 'referred') ORDER BY c.id DESC LIMIT 5"
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(community_id).bind(category.code());
    if let Some(b) = building_id {
        q = q.bind(b);
    }
    let ids = q.fetch_all(&state.db.pool).await?;
    let Some(newest) = ids.first() else { return Ok(Vec::new()) };
    let mut found = cases(state, community_id, Some(newest + 1), 200).await?;
    found.retain(|c| ids.contains(&c.id));
    Ok(found)
}

/// Follows a case: its progress reaches the follower's inbox.
pub async fn follow(state: &AppState, user_id: i64, case_id: i64) -> AppResult<()> {
    let open: Option<String> = sqlx::query_scalar("SELECT state FROM cases WHERE id = $1").bind(case_id).fetch_optional(&state.db.pool).await?;
    open.ok_or(kernel::AppError::NotFound)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO case_followers (case_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (case_id, user_id) DO NOTHING")
        .bind(case_id)
        .bind(user_id)
        .bind(state.now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Stops following a case (no error when not following it; 404 when there is no such case).
pub async fn unfollow(state: &AppState, user_id: i64, case_id: i64) -> AppResult<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = $1").bind(case_id).fetch_optional(&state.db.pool).await?;
    exists.ok_or(kernel::AppError::NotFound)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM case_followers WHERE case_id = $1 AND user_id = $2").bind(case_id).bind(user_id).execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians_and_ratios() {
        assert_eq!(super::median(vec![30, 10, 20]), Some(20));
        assert_eq!(super::median(vec![10, 20, 30, 40]), Some(25));
        assert_eq!(super::median(vec![]), None);
        assert_eq!(super::ratio(2, 3), Some(0.667));
        assert_eq!(super::ratio(0, 0), None);
    }
}
