//! Registry queries.

use crate::domain::Tag;
use kernel::error::AppResult;
use kernel::state::AppState;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// A community (社区).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Community {
    /// Id.
    pub id: i64,
    /// URL name, e.g. `nanjing-renjia`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// City.
    pub city: String,
}

/// A grid (网格).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grid {
    /// Id.
    pub id: i64,
    /// Name, e.g. `第一网格`.
    pub name: String,
    /// Buildings in the grid.
    pub buildings: i64,
    /// Grid workers assigned.
    pub workers: Vec<String>,
}

/// A building (楼栋) with its counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Building {
    /// Id.
    pub id: i64,
    /// Name, e.g. `翠微新村 3栋`.
    pub name: String,
    /// Estate (小区) it belongs to.
    pub estate: String,
    /// Grid id.
    pub grid_id: Option<i64>,
    /// Grid name.
    pub grid_name: Option<String>,
    /// Floors.
    pub floors: i64,
    /// Has a lift.
    pub has_elevator: bool,
    /// Households.
    pub households: i64,
    /// Residents.
    pub residents: i64,
}

/// A household (户) with its address.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Household {
    /// Id.
    pub id: i64,
    /// Building id.
    pub building_id: i64,
    /// `翠微新村 3栋 2单元 301`.
    pub address: String,
    /// Members.
    pub members: i64,
}

/// A resident as staff see them: sensitive fields masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resident {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `male`, `female` or empty.
    pub gender: String,
    /// Year of birth.
    pub birth_year: Option<i64>,
    /// Masked mobile number.
    pub phone: String,
    /// Masked ID number (`3201**********1234`).
    pub id_number: String,
    /// Relation to the head of household.
    pub relation: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Household id.
    pub household_id: Option<i64>,
    /// Building id.
    pub building_id: Option<i64>,
    /// Address.
    pub address: String,
    /// Staff notes.
    pub notes: String,
    /// Has a login linked.
    pub has_account: bool,
    /// Last change (epoch ms).
    pub updated_at: i64,
}

/// Builds `翠微新村 3栋 2单元 301` from its parts.
pub fn address(building: &str, unit: &str, room: &str) -> String {
    let mut s = building.to_string();
    if !unit.is_empty() {
        s.push(' ');
        s.push_str(unit);
    }
    if !room.is_empty() {
        s.push(' ');
        s.push_str(room);
    }
    s
}

/// Looks a community up by slug.
pub async fn community_by_slug(state: &AppState, slug: &str) -> AppResult<Option<Community>> {
    Ok(sqlx::query("SELECT id, slug, name, city FROM communities WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&state.db.pool)
        .await?
        .map(|r| Community { id: r.get(0), slug: r.get(1), name: r.get(2), city: r.get(3) }))
}

/// Communities by id.
pub async fn communities(state: &AppState, ids: Option<&[i64]>) -> AppResult<Vec<Community>> {
    let rows = sqlx::query("SELECT id, slug, name, city FROM communities ORDER BY id").fetch_all(&state.db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| Community { id: r.get(0), slug: r.get(1), name: r.get(2), city: r.get(3) })
        .filter(|c| ids.is_none_or(|ids| ids.contains(&c.id)))
        .collect())
}

/// Grid ids a grid worker is assigned to.
pub async fn grids_of(state: &AppState, user_id: i64) -> AppResult<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT grid_id FROM grid_staff WHERE user_id = $1").bind(user_id).fetch_all(&state.db.pool).await?)
}

/// Grids of a community with their workers.
pub async fn grids(state: &AppState, community_id: i64) -> AppResult<Vec<Grid>> {
    let rows = sqlx::query(
        "SELECT g.id, g.name, (SELECT COUNT(*) FROM buildings b WHERE b.grid_id = g.id) FROM grids g WHERE g.community_id = $1 ORDER BY g.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let workers = sqlx::query(
        "SELECT gs.grid_id, u.display_name FROM grid_staff gs JOIN users u ON u.id = gs.user_id JOIN grids g ON g.id = gs.grid_id WHERE g.community_id = $1 ORDER BY u.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut by_grid: HashMap<i64, Vec<String>> = HashMap::new();
    for w in workers {
        by_grid.entry(w.get(0)).or_default().push(w.get(1));
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let id: i64 = r.get(0);
            Grid { id, name: r.get(1), buildings: r.get(2), workers: by_grid.remove(&id).unwrap_or_default() }
        })
        .collect())
}

/// Buildings of a community with household and resident counts.
pub async fn buildings(state: &AppState, community_id: i64, grids: Option<&[i64]>) -> AppResult<Vec<Building>> {
    let rows = sqlx::query(
        "SELECT b.id, b.name, b.estate, b.grid_id, g.name, b.floors, b.has_elevator, \
           (SELECT COUNT(*) FROM households h WHERE h.building_id = b.id), \
           (SELECT COUNT(*) FROM residents r JOIN households h ON h.id = r.household_id WHERE h.building_id = b.id) \
         FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id WHERE b.community_id = $1 ORDER BY b.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Building {
            id: r.get(0),
            name: r.get(1),
            estate: r.get(2),
            grid_id: r.get(3),
            grid_name: r.get(4),
            floors: r.get(5),
            has_elevator: r.get::<i64, _>(6) != 0,
            households: r.get(7),
            residents: r.get(8),
        })
        .filter(|b| grids.is_none_or(|g| b.grid_id.is_some_and(|id| g.contains(&id))))
        .collect())
}

/// Households of a community, optionally in one building, ordered by id.
pub async fn households(
    state: &AppState,
    community_id: i64,
    building_id: Option<i64>,
    grids: Option<&[i64]>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Household>> {
    let grid_filter = grid_filter_sql(grids, "b");
    let sql = format!(
        "SELECT h.id, h.building_id, b.name, u.name, h.room, (SELECT COUNT(*) FROM residents r WHERE r.household_id = h.id) \
         FROM households h JOIN buildings b ON b.id = h.building_id JOIN units u ON u.id = h.unit_id \
         WHERE h.community_id = $1 AND h.id > $2 AND ($3 = 0 OR h.building_id = $3) {grid_filter} ORDER BY h.id LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(community_id)
        .bind(after.unwrap_or(0))
        .bind(building_id.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Household {
            id: r.get(0),
            building_id: r.get(1),
            address: address(&r.get::<String, _>(2), &r.get::<String, _>(3), &r.get::<String, _>(4)),
            members: r.get(5),
        })
        .collect())
}

/// `AND <alias>.grid_id IN (…)` for a grid worker's scope; ids are integers, so inlining is safe.
pub fn grid_filter_sql(grids: Option<&[i64]>, alias: &str) -> String {
    match grids {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!(" AND {alias}.grid_id IN ({})", list.join(","))
        }
    }
}

/// Filters for the resident list.
#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    /// Part of the name.
    pub q: Option<String>,
    /// Only this tag.
    pub tag: Option<Tag>,
    /// Only this building.
    pub building_id: Option<i64>,
    /// Only this household.
    pub household_id: Option<i64>,
}

const RESIDENT_COLUMNS: &str = "r.id, r.name, r.gender, r.birth_year, r.phone, r.id_number_masked, r.relation, r.household_id, \
    h.building_id, b.name, u.name, h.room, r.notes, r.user_id, r.updated_at";
const RESIDENT_JOINS: &str = "FROM residents r LEFT JOIN households h ON h.id = r.household_id \
    LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN units u ON u.id = h.unit_id";

fn resident_from(r: &AnyRow) -> Resident {
    let phone: String = r.get(4);
    Resident {
        id: r.get(0),
        name: r.get(1),
        gender: r.get(2),
        birth_year: r.get(3),
        phone: if phone.is_empty() { phone } else { kernel::crypto::mask_phone(&phone) },
        id_number: r.get::<Option<String>, _>(5).unwrap_or_default(),
        relation: r.get(6),
        tags: Vec::new(),
        household_id: r.get(7),
        building_id: r.get(8),
        address: address(
            &r.get::<Option<String>, _>(9).unwrap_or_default(),
            &r.get::<Option<String>, _>(10).unwrap_or_default(),
            &r.get::<Option<String>, _>(11).unwrap_or_default(),
        ),
        notes: r.get(12),
        has_account: r.get::<Option<i64>, _>(13).is_some(),
        updated_at: r.get(14),
    }
}

async fn attach_tags(state: &AppState, residents: &mut [Resident]) -> AppResult<()> {
    if residents.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = residents.iter().map(|r| r.id.to_string()).collect();
    let rows = sqlx::query(&format!(
        "SELECT resident_id, tag FROM resident_tags WHERE resident_id IN ({}) ORDER BY tag",
        ids.join(",")
    ))
    .fetch_all(&state.db.pool)
    .await?;
    let mut by_id: HashMap<i64, Vec<Tag>> = HashMap::new();
    for r in rows {
        if let Some(t) = Tag::parse(r.get::<String, _>(1).as_str()) {
            by_id.entry(r.get(0)).or_default().push(t);
        }
    }
    for r in residents.iter_mut() {
        let mut tags = by_id.remove(&r.id).unwrap_or_default();
        tags.sort_by_key(|t| Tag::ALL.iter().position(|x| x == t));
        r.tags = tags;
    }
    Ok(())
}

/// Residents of a community matching `filter`, ordered by id, after the cursor.
pub async fn residents(
    state: &AppState,
    community_id: i64,
    filter: &ResidentFilter,
    grids: Option<&[i64]>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Resident>> {
    let like = filter.q.as_deref().map(|q| format!("%{}%", q.trim().replace(['%', '_'], ""))).unwrap_or_default();
    let sql = format!(
        "SELECT {RESIDENT_COLUMNS} {RESIDENT_JOINS} WHERE r.community_id = $1 AND r.id > $2 \
         AND ($3 = '' OR r.name LIKE $3) AND ($4 = 0 OR h.building_id = $4) AND ($5 = 0 OR r.household_id = $5) \
         AND ($6 = '' OR EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.tag = $6)) {} \
         ORDER BY r.id LIMIT $7",
        grid_filter_sql(grids, "b")
    );
    let rows = sqlx::query(&sql)
        .bind(community_id)
        .bind(after.unwrap_or(0))
        .bind(like)
        .bind(filter.building_id.unwrap_or(0))
        .bind(filter.household_id.unwrap_or(0))
        .bind(filter.tag.map(Tag::code).unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(&state.db.pool)
        .await?;
    let mut out: Vec<Resident> = rows.iter().map(resident_from).collect();
    attach_tags(state, &mut out).await?;
    Ok(out)
}

/// One resident, with the grid of their building (for scope checks).
pub async fn resident(state: &AppState, community_id: i64, id: i64) -> AppResult<Option<(Resident, Option<i64>)>> {
    let sql = format!("SELECT {RESIDENT_COLUMNS}, b.grid_id {RESIDENT_JOINS} WHERE r.community_id = $1 AND r.id = $2");
    let Some(row) = sqlx::query(&sql).bind(community_id).bind(id).fetch_optional(&state.db.pool).await? else {
        return Ok(None);
    };
    let grid: Option<i64> = row.get(15);
    let mut one = [resident_from(&row)];
    attach_tags(state, &mut one).await?;
    let [r] = one;
    Ok(Some((r, grid)))
}

/// The resident record linked to a user in any community.
pub async fn resident_of_user(state: &AppState, user_id: i64) -> AppResult<Option<(i64, Resident)>> {
    let sql = format!("SELECT {RESIDENT_COLUMNS}, r.community_id {RESIDENT_JOINS} WHERE r.user_id = $1 ORDER BY r.id LIMIT 1");
    let Some(row) = sqlx::query(&sql).bind(user_id).fetch_optional(&state.db.pool).await? else {
        return Ok(None);
    };
    let community: i64 = row.get(15);
    let mut one = [resident_from(&row)];
    attach_tags(state, &mut one).await?;
    let [r] = one;
    Ok(Some((community, r)))
}

/// Headline counts for the console.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Residents.
    pub residents: i64,
    /// Households.
    pub households: i64,
    /// Buildings.
    pub buildings: i64,
    /// Grids.
    pub grids: i64,
    /// Elderly residents (60+).
    pub elderly: i64,
    /// Residents living alone.
    pub living_alone: i64,
    /// Renters.
    pub renters: i64,
}

/// Counts for one community.
pub async fn counts(state: &AppState, community_id: i64) -> AppResult<Counts> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM residents WHERE community_id = $1), \
                (SELECT COUNT(*) FROM households WHERE community_id = $1), \
                (SELECT COUNT(*) FROM buildings WHERE community_id = $1), \
                (SELECT COUNT(*) FROM grids WHERE community_id = $1), \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'elderly'), \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'living_alone'), \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'renter')",
    )
    .bind(community_id)
    .fetch_one(&state.db.pool)
    .await?;
    Ok(Counts {
        residents: r.get(0),
        households: r.get(1),
        buildings: r.get(2),
        grids: r.get(3),
        elderly: r.get(4),
        living_alone: r.get(5),
        renters: r.get(6),
    })
}
