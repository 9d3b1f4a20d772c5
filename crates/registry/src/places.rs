//! The registry's places as other capabilities read them: which buildings a person may act on.

use kernel::auth::Principal;
use kernel::error::AppResult;
use kernel::state::AppState;

/// The buildings of `community_id` that `p` is limited to: those of their grids for a grid
/// worker without a wider role, `None` (every building) for everyone else. A person with no
/// permission in the community is not checked here; callers check permissions first.
pub async fn buildings_in_reach(state: &AppState, p: &Principal, community_id: i64) -> AppResult<Option<Vec<i64>>> {
    let Some(grids) = crate::service::scope(state, p, community_id).await? else { return Ok(None) };
    if grids.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let sql = format!("SELECT id FROM buildings WHERE community_id = $1{} ORDER BY id", kernel::db::and_in("grid_id", Some(&grids)));
    Ok(Some(sqlx::query_scalar(&sql).bind(community_id).fetch_all(&state.db.pool).await?))
}
