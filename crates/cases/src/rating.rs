//! Ratings: when a case is resolved, its author gets a one-tap link that works without a login,
//! once, for seven days: solved or not, how satisfied, a comment. "Not solved" reopens the case.

use kernel::community::CommunityId;
use crate::domain::{CaseId, Satisfaction, State};
use kernel::clock::DAY;
use kernel::crypto::{hash_token, random_token};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::Deserialize;

/// How long a rating link works.
pub const LINK_TTL_MS: i64 = 7 * DAY;

/// A rating as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    /// Whether the problem is solved.
    pub solved: bool,
    /// How satisfied.
    pub satisfaction: Satisfaction,
    /// Anything to add.
    #[serde(default)]
    pub comment: String,
}

/// Creates the rating link for a case just resolved, inside the resolving transaction.
/// Returns the token (for the message to the author).
pub async fn issue(tx: &mut WriteTx, now: i64, case_id: CaseId) -> AppResult<String> {
    let token = random_token(18);
    sqlx::query("INSERT INTO case_ratings (case_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(case_id)
        .bind(hash_token(&token))
        .bind(now)
        .bind(now + LINK_TTL_MS)
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

/// The case a rating link is for, if the link is valid now: `(rating id, case id)`.
pub async fn open(state: &AppState, token: &str) -> AppResult<(i64, CaseId)> {
    if token.len() > 64 {
        return Err(AppError::NotFound);
    }
    kernel::row! {
        /// A rating link as stored.
        struct Link {
            id: i64,
            case_id: CaseId,
            expires_at: i64,
            used_at: Option<i64>,
        }
    }
    let r: Link = sqlx::query_as(
        "SELECT id, case_id, expires_at, used_at FROM case_ratings WHERE token_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    if r.used_at.is_some() {
        return Err(AppError::Conflict {
            field: "token".into(),
            code: "rating_used",
        });
    }
    if r.expires_at < state.now() {
        return Err(AppError::Conflict {
            field: "token".into(),
            code: "rating_expired",
        });
    }
    Ok((r.id, r.case_id))
}

/// The open rating of a case (for its anonymous author, who holds the follow link instead).
pub async fn open_for_case(state: &AppState, case_id: CaseId) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM case_ratings WHERE case_id = $1 AND used_at IS NULL AND expires_at >= $2 ORDER BY id DESC LIMIT 1")
        .bind(case_id)
        .bind(state.now())
        .fetch_optional(&state.db.pool)
        .await?)
}

/// A rating as a timeline step records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    /// How satisfied, when the note names it.
    pub satisfaction: Option<Satisfaction>,
    /// Whether it was said to be solved.
    pub solved: bool,
    /// What was added.
    pub comment: String,
}

/// Reads a rating step's note (`<satisfaction> [未解决:]<comment>`), so it is shown in words.
pub fn read_note(note: &str) -> Noted {
    let (first, rest) = note.split_once(' ').unwrap_or((note, ""));
    let (satisfaction, rest) = match Satisfaction::parse(first) {
        Some(s) => (Some(s), rest),
        None => (None, note),
    };
    let (solved, comment) = match rest.strip_prefix(NOT_SOLVED) {
        Some(c) => (false, c),
        None => (true, rest),
    };
    Noted {
        satisfaction,
        solved,
        comment: comment.trim().to_string(),
    }
}

/// Marks a rating that says the problem is not solved, in its step's note.
const NOT_SOLVED: &str = "未解决:";

/// Records a rating through its link; "not solved" reopens the case. A link works once.
pub async fn submit(state: &AppState, token: &str, rating: &Rating) -> AppResult<()> {
    let (rating_id, case_id) = open(state, token).await?;
    record(state, rating_id, case_id, rating).await
}

/// Records the rating `rating_id` of `case_id`.
pub async fn record(
    state: &AppState,
    rating_id: i64,
    case_id: CaseId,
    rating: &Rating,
) -> AppResult<()> {
    let comment = kernel::validate::at_most_multiline("comment", &rating.comment, 500)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let used = sqlx::query("UPDATE case_ratings SET used_at = $1, solved = $2, satisfaction = $3, comment = $4 WHERE id = $5 AND used_at IS NULL")
        .bind(now)
        .bind(rating.solved as i64)
        .bind(rating.satisfaction.code())
        .bind(comment)
        .bind(rating_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if used == 0 {
        return Err(AppError::Conflict {
            field: "token".into(),
            code: "rating_used",
        });
    }
    let note = format!("{}{}", if rating.solved { "" } else { NOT_SOLVED }, comment);
    sqlx::query("INSERT INTO case_events (case_id, at, actor_user_id, kind, state, note) VALUES ($1, $2, NULL, 'rated', NULL, $3)")
        .bind(case_id)
        .bind(now)
        .bind(format!("{} {}", rating.satisfaction.code(), note).trim().to_string())
        .execute(&mut *tx)
        .await?;
    let community_id: CommunityId = sqlx::query_scalar("SELECT community_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await?;
    let rated = crate::events::CaseRated { case_id, solved: rating.solved, satisfaction: rating.satisfaction };
    kernel::events::publish(state, &mut tx, now, Some(community_id), &rated).await?;
    if !rating.solved {
        let current: String = sqlx::query_scalar("SELECT state FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await?;
        let state_now = State::parse(&current).ok_or_else(|| AppError::internal(format!("stored state {current}")))?;
        if state_now.author_moves().contains(&State::InProgress) {
            sqlx::query("UPDATE cases SET state = 'in_progress', resolved_at = NULL, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO case_events (case_id, at, actor_user_id, kind, state, note) VALUES ($1, $2, NULL, 'author_moved', 'in_progress', $3)")
                .bind(case_id)
                .bind(now)
                .bind(comment)
                .execute(&mut *tx)
                .await?;
            crate::clocks::restart_result_clock(state, &mut tx, now, case_id, community_id)
                .await?;
        }
    }
    crate::store::forget_ledger(&mut tx, community_id);
    tx.commit().await
}
