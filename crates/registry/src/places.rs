//! The registry's places as other capabilities read them: which buildings a person may act on.

use kernel::community::CommunityId;
use crate::{BuildingId, GridId, UnitId};
use kernel::auth::Principal;
use kernel::error::AppResult;
use kernel::state::AppState;

/// The buildings of `community_id` that `p` is limited to: those of their grids for a grid
/// worker without a wider role, `None` (every building) for everyone else. A person with no
/// permission in the community is not checked here; callers check permissions first.
pub async fn buildings_in_reach(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Option<Vec<BuildingId>>> {
    let Some(grids) = crate::service::scope(state, p, community_id).await? else { return Ok(None) };
    if grids.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let sql = format!("SELECT id FROM buildings WHERE community_id = $1{} ORDER BY id", kernel::db::and_in("grid_id", Some(&grids)));
    Ok(Some(sqlx::query_scalar(&sql).bind(community_id).fetch_all(&state.db.pool).await?))
}

// What other capabilities read of the registry's places. They take any executor (the pool, or
// a transaction's connection) so a caller inside a write transaction reads what it sees.

use sqlx::{Any, Executor};
use std::collections::HashMap;

kernel::row! {
    /// A building as other capabilities show it.
    #[derive(Debug, Clone, PartialEq)]
    pub struct BuildingPlace {
        /// Id.
        pub id: BuildingId,
        /// Name, e.g. `翠微新村 3栋`.
        pub name: String,
        /// Estate (小区).
        pub estate: String,
        /// Its grid, if any.
        pub grid_id: Option<GridId>,
        /// The grid's name.
        pub grid_name: Option<String>,
        /// Position on the community plan (0–1000 each way), if placed.
        pub plan_x: Option<i64>,
        /// See `plan_x`.
        pub plan_y: Option<i64>,
    }
}

kernel::row! {
    /// A building with one of its units (none for a building without units).
    #[derive(Debug, Clone)]
    pub struct BuildingUnit {
        /// Building id.
        pub building_id: BuildingId,
        /// Building name.
        pub building_name: String,
        /// Unit id.
        pub unit_id: Option<UnitId>,
        /// Unit name, e.g. `2单元`.
        pub unit_name: Option<String>,
    }
}

kernel::row! {
    struct IdName {
        id: i64,
        name: String,
    }
}

/// The buildings of a community with their grid and plan position, by id.
pub async fn buildings_of<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId) -> AppResult<Vec<BuildingPlace>> {
    Ok(sqlx::query_as(
        "SELECT b.id, b.name, b.estate, b.grid_id, g.name AS grid_name, b.plan_x, b.plan_y \
         FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id WHERE b.community_id = $1 ORDER BY b.id",
    )
    .bind(community_id)
    .fetch_all(db)
    .await?)
}

/// The buildings of a community with their units, by building then unit.
pub async fn building_units<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId) -> AppResult<Vec<BuildingUnit>> {
    Ok(sqlx::query_as(
        "SELECT b.id AS building_id, b.name AS building_name, u.id AS unit_id, u.name AS unit_name \
         FROM buildings b LEFT JOIN units u ON u.building_id = b.id WHERE b.community_id = $1 ORDER BY b.id, u.id",
    )
    .bind(community_id)
    .fetch_all(db)
    .await?)
}

/// The building of a unit of `community_id`; none when the unit is not the community's.
pub async fn building_of_unit<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId, unit_id: UnitId) -> AppResult<Option<BuildingId>> {
    Ok(sqlx::query_scalar("SELECT u.building_id FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = $1 AND b.community_id = $2")
        .bind(unit_id)
        .bind(community_id)
        .fetch_optional(db)
        .await?)
}

/// Whether a building belongs to `community_id`.
pub async fn is_building_of<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId, building_id: BuildingId) -> AppResult<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM buildings WHERE id = $1 AND community_id = $2")
        .bind(building_id)
        .bind(community_id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// The grid of a building, if it has one.
pub async fn grid_of_building<'c, E: Executor<'c, Database = Any>>(db: E, building_id: BuildingId) -> AppResult<Option<GridId>> {
    Ok(sqlx::query_scalar("SELECT grid_id FROM buildings WHERE id = $1").bind(building_id).fetch_optional(db).await?.flatten())
}

/// The buildings of a grid.
pub async fn buildings_of_grid<'c, E: Executor<'c, Database = Any>>(db: E, grid_id: GridId) -> AppResult<Vec<BuildingId>> {
    Ok(sqlx::query_scalar("SELECT id FROM buildings WHERE grid_id = $1 ORDER BY id").bind(grid_id).fetch_all(db).await?)
}

/// The grids of a community as (id, name), by id.
pub async fn grid_names<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId) -> AppResult<Vec<(GridId, String)>> {
    let rows: Vec<IdName> = sqlx::query_as("SELECT id, name FROM grids WHERE community_id = $1 ORDER BY id").bind(community_id).fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (GridId::new(r.id), r.name)).collect())
}

/// The grid worker a grid's cases go to first: the one assigned longest ago (lowest user id).
pub async fn first_grid_worker<'c, E: Executor<'c, Database = Any>>(db: E, grid_id: GridId) -> AppResult<Option<kernel::auth::UserId>> {
    Ok(sqlx::query_scalar("SELECT MIN(user_id) FROM grid_staff WHERE grid_id = $1").bind(grid_id).fetch_one(db).await?)
}

/// Names of buildings by id (ids not found are left out).
pub async fn building_names<'c, E: Executor<'c, Database = Any>>(db: E, ids: &[BuildingId]) -> AppResult<HashMap<BuildingId, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<IdName> = sqlx::query_as(&format!("SELECT id, name FROM buildings WHERE {}", kernel::db::in_list("id", ids))).fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (BuildingId::new(r.id), r.name)).collect())
}

/// Names of units by id (ids not found are left out).
pub async fn unit_names<'c, E: Executor<'c, Database = Any>>(db: E, ids: &[UnitId]) -> AppResult<HashMap<UnitId, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<IdName> = sqlx::query_as(&format!("SELECT id, name FROM units WHERE {}", kernel::db::in_list("id", ids))).fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (UnitId::new(r.id), r.name)).collect())
}
