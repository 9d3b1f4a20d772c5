//! Family bound to an elder (a confirmed binding in the registry) and her cases: which cases
//! are hers (those she filed under her name and those filed for her — never anyone else's,
//! never an anonymous one), who may report for her and who hears about her cases.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::ResidentId;
use crate::domain::CaseId;
use kernel::error::AppResult;
use kernel::state::AppState;
use registry::family::Elder;

/// The cases of an elder, newest first, as at most this many.
const SHOWN: i64 = 50;

/// Ids of the named (not anonymous) cases about `elder`: filed by her, or for her.
pub(crate) async fn case_ids(state: &AppState, elder: &Elder) -> AppResult<Vec<CaseId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM cases WHERE community_id = $1 AND anonymous = 0 AND (resident_id = $2 OR author_user_id = $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(elder.community_id)
    .bind(elder.resident_id)
    .bind(elder.user_id.map_or(-1, UserId::get))
    .bind(SHOWN)
    .fetch_all(&state.db.pool)
    .await?)
}



/// Whether `p` reads case `case_id` as family of the elder it is about (see [`elder_case`]).
pub async fn reads(state: &AppState, p: &Principal, case_id: CaseId) -> AppResult<bool> {
    let Some(uid) = p.user_id else { return Ok(false) };
    for elder in registry::family::elders_of(state, uid).await? {
        if case_ids(state, &elder).await?.contains(&case_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `filer` may report for resident `resident_id` of `community_id` as her family.
pub async fn may_file_for(state: &AppState, filer: Option<&Principal>, community_id: CommunityId, resident_id: ResidentId) -> AppResult<bool> {
    let Some(uid) = filer.and_then(|p| p.user_id) else { return Ok(false) };
    Ok(registry::family::bound(state, uid, resident_id).await?.is_some_and(|e| e.community_id == community_id))
}

/// The family who hear about a case besides whoever receives its news directly (the resident it
/// was filed for, else its author): those bound to that resident or, when the case names none,
/// to the resident behind its author's login.
pub(crate) async fn readers(conn: &mut sqlx::AnyConnection, resident: Option<ResidentId>, author: Option<UserId>) -> AppResult<Vec<UserId>> {
    let subject = match (resident, author) {
        (Some(r), _) => Some(r),
        (None, Some(a)) => registry::people::of_login(&mut *conn, a).await?.first().map(|r| r.id),
        (None, None) => None,
    };
    let Some(subject) = subject else { return Ok(Vec::new()) };
    Ok(registry::family::family_of(conn, subject).await?.into_iter().filter(|f| Some(*f) != author).collect())
}
