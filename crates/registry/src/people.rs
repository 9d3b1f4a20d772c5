//! The registry's residents as other capabilities read them: who a resident is, how to reach
//! them and which login is theirs. Functions take any executor (the pool, or a transaction's
//! connection).

use kernel::community::CommunityId;
use kernel::auth::UserId;
use crate::{BuildingId, ResidentId};
use kernel::error::AppResult;
use sqlx::{Any, Executor};
use std::collections::HashMap;

kernel::row! {
    /// A resident as another capability needs them.
    #[derive(Debug, Clone)]
    pub struct ResidentContact {
        /// Id.
        pub id: ResidentId,
        /// Community.
        pub community_id: CommunityId,
        /// Name.
        pub name: String,
        /// Phone as kept in the registry (may be empty).
        pub phone: String,
        /// Their login, if they have one.
        pub user_id: Option<UserId>,
        /// The building of their household, if placed.
        pub building_id: Option<BuildingId>,
    }
}

const CONTACT: &str = "SELECT r.id, r.community_id, r.name, r.phone, r.user_id, h.building_id \
                       FROM residents r LEFT JOIN households h ON h.id = r.household_id";

/// One resident.
pub async fn contact<'c, E: Executor<'c, Database = Any>>(db: E, id: ResidentId) -> AppResult<Option<ResidentContact>> {
    Ok(sqlx::query_as(&format!("{CONTACT} WHERE r.id = $1")).bind(id).fetch_optional(db).await?)
}

/// Several residents by id (ids not found are left out).
pub async fn contacts<'c, E: Executor<'c, Database = Any>>(db: E, ids: &[ResidentId]) -> AppResult<HashMap<ResidentId, ResidentContact>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ResidentContact> =
        sqlx::query_as(&format!("{CONTACT} WHERE {}", kernel::db::in_list("r.id", ids))).fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// The residents of a community registered with a phone number (as stored: digits), by id.
pub async fn with_phone<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId, phone: &str) -> AppResult<Vec<ResidentContact>> {
    Ok(sqlx::query_as(&format!("{CONTACT} WHERE r.community_id = $1 AND r.phone = $2 ORDER BY r.id"))
        .bind(community_id)
        .bind(phone)
        .fetch_all(db)
        .await?)
}

/// The residents a login is (one per community where it is bound to the registry), by id.
pub async fn of_login<'c, E: Executor<'c, Database = Any>>(db: E, user_id: UserId) -> AppResult<Vec<ResidentContact>> {
    Ok(sqlx::query_as(&format!("{CONTACT} WHERE r.user_id = $1 ORDER BY r.id")).bind(user_id).fetch_all(db).await?)
}
