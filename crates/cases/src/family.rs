//! What a family member bound to an elder (a confirmed binding in the registry) sees of her
//! reports: the cases she filed under her name and those filed for her, each as she would see
//! it herself — never anyone else's, never an anonymous one. Family may also report for her,
//! and hear about her cases as she does.

use crate::service::{self, CaseView};
use kernel::auth::Principal;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use registry::family::Elder;

/// The cases of an elder, newest first, as at most this many.
const SHOWN: i64 = 50;

/// Ids of the named (not anonymous) cases about `elder`: filed by her, or for her.
async fn case_ids(state: &AppState, elder: &Elder) -> AppResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM cases WHERE community_id = $1 AND anonymous = 0 AND (resident_id = $2 OR author_user_id = $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(elder.community_id)
    .bind(elder.resident_id)
    .bind(elder.user_id.unwrap_or(-1))
    .bind(SHOWN)
    .fetch_all(&state.db.pool)
    .await?)
}

/// Every elder `p` is bound to, each with her cases as she sees them.
pub async fn elders_with_cases(state: &AppState, p: &Principal) -> AppResult<Vec<(Elder, Vec<CaseView>)>> {
    let uid = p.person()?;
    let mut out = Vec::new();
    for elder in registry::family::elders_of(state, uid).await? {
        let ids = case_ids(state, &elder).await?;
        out.push((elder, service::views(state, &ids, false).await?));
    }
    Ok(out)
}

/// One case of an elder `p` is bound to, as she sees it; any other case does not exist.
pub async fn elder_case(state: &AppState, p: &Principal, case_id: i64) -> AppResult<(Elder, CaseView)> {
    let uid = p.person()?;
    for elder in registry::family::elders_of(state, uid).await? {
        if case_ids(state, &elder).await?.contains(&case_id) {
            return Ok((elder, service::view(state, case_id, false).await?));
        }
    }
    Err(AppError::NotFound)
}

/// Whether `p` reads case `case_id` as family of the elder it is about (see [`elder_case`]).
pub async fn reads(state: &AppState, p: &Principal, case_id: i64) -> AppResult<bool> {
    let Some(uid) = p.user_id else { return Ok(false) };
    for elder in registry::family::elders_of(state, uid).await? {
        if case_ids(state, &elder).await?.contains(&case_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `filer` may report for resident `resident_id` of `community_id` as her family.
pub async fn may_file_for(state: &AppState, filer: Option<&Principal>, community_id: i64, resident_id: i64) -> AppResult<bool> {
    let Some(uid) = filer.and_then(|p| p.user_id) else { return Ok(false) };
    Ok(registry::family::bound(state, uid, resident_id).await?.is_some_and(|e| e.community_id == community_id))
}

/// The family who hear about a case besides whoever receives its news directly (the resident it
/// was filed for, else its author): those bound to that resident or, when the case names none,
/// to the resident behind its author's login.
pub(crate) async fn readers(conn: &mut sqlx::AnyConnection, resident: Option<i64>, author: Option<i64>) -> AppResult<Vec<i64>> {
    let subject = match (resident, author) {
        (Some(r), _) => Some(r),
        (None, Some(a)) => registry::family::resident_of_login(conn, a).await?,
        (None, None) => None,
    };
    let Some(subject) = subject else { return Ok(Vec::new()) };
    Ok(registry::family::family_of(conn, subject).await?.into_iter().filter(|f| Some(*f) != author).collect())
}
