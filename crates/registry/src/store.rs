//! Registry queries.

use kernel::community::CommunityId;
use kernel::auth::UserId;
use crate::{BuildingId, GridId, HouseholdId, ResidentId};
use crate::domain::Tag;
use kernel::error::AppResult;
use kernel::query::{col, contains, fold, raw, Alias, Cond, Expr, JoinType, Order, Query, SelectStatement};
use kernel::state::AppState;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};
use std::collections::HashMap;

pub use kernel::community::Community;

/// A grid (网格).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grid {
    /// Id.
    pub id: GridId,
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
    pub id: BuildingId,
    /// Name, e.g. `翠微新村 3栋`.
    pub name: String,
    /// Estate (小区) it belongs to.
    pub estate: String,
    /// Grid id.
    pub grid_id: Option<GridId>,
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
    pub id: HouseholdId,
    /// Building id.
    pub building_id: BuildingId,
    /// `翠微新村 3栋 2单元 301`.
    pub address: String,
    /// Members.
    pub members: i64,
}

/// A resident as staff see them: sensitive fields masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resident {
    /// Id.
    pub id: ResidentId,
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
    pub household_id: Option<HouseholdId>,
    /// Building id.
    pub building_id: Option<BuildingId>,
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

/// Grid ids a grid worker is assigned to.
pub async fn grids_of(state: &AppState, user_id: UserId) -> AppResult<Vec<GridId>> {
    Ok(sqlx::query_scalar("SELECT grid_id FROM grid_staff WHERE user_id = $1").bind(user_id).fetch_all(&state.db.pool).await?)
}

/// Grids of a community with their workers.
pub async fn grids(state: &AppState, community_id: CommunityId) -> AppResult<Vec<Grid>> {
    kernel::row! {
        /// A grid with how many buildings it has.
        struct Counted {
            id: GridId,
            name: String,
            buildings: i64,
        }
    }
    kernel::row! {
        /// A grid worker of one of the grids.
        struct Worker {
            grid_id: GridId,
            display_name: String,
        }
    }
    let rows: Vec<Counted> = sqlx::query_as(
        "SELECT g.id, g.name, (SELECT COUNT(*) FROM buildings b WHERE b.grid_id = g.id) AS buildings FROM grids g WHERE g.community_id = $1 ORDER BY g.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let workers: Vec<Worker> = sqlx::query_as(
        "SELECT gs.grid_id, u.display_name FROM grid_staff gs JOIN users u ON u.id = gs.user_id JOIN grids g ON g.id = gs.grid_id WHERE g.community_id = $1 ORDER BY u.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut by_grid: HashMap<GridId, Vec<String>> = HashMap::new();
    for w in workers {
        by_grid.entry(w.grid_id).or_default().push(w.display_name);
    }
    Ok(rows
        .into_iter()
        .map(|r| Grid { id: r.id, name: r.name, buildings: r.buildings, workers: by_grid.remove(&r.id).unwrap_or_default() })
        .collect())
}

/// Buildings of a community with household and resident counts.
pub async fn buildings(state: &AppState, community_id: CommunityId, grids: Option<&[GridId]>) -> AppResult<Vec<Building>> {
    kernel::row! {
        /// A building with its grid and counts.
        struct Counted {
            id: BuildingId,
            name: String,
            estate: String,
            grid_id: Option<GridId>,
            grid_name: Option<String>,
            floors: i64,
            has_elevator: i64,
            households: i64,
            residents: i64,
        }
    }
    let rows: Vec<Counted> = sqlx::query_as(
        "SELECT b.id, b.name, b.estate, b.grid_id, g.name AS grid_name, b.floors, b.has_elevator, \
           (SELECT COUNT(*) FROM households h WHERE h.building_id = b.id) AS households, \
           (SELECT COUNT(*) FROM residents r JOIN households h ON h.id = r.household_id WHERE h.building_id = b.id) AS residents \
         FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id WHERE b.community_id = $1 ORDER BY b.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Building {
            id: r.id,
            name: r.name,
            estate: r.estate,
            grid_id: r.grid_id,
            grid_name: r.grid_name,
            floors: r.floors,
            has_elevator: r.has_elevator != 0,
            households: r.households,
            residents: r.residents,
        })
        .filter(|b| grids.is_none_or(|g| b.grid_id.is_some_and(|id| g.contains(&id))))
        .collect())
}

/// A building's id and name, for choosing one in a form.
#[derive(Debug, Clone, Serialize)]
pub struct BuildingOption {
    /// Id.
    pub id: BuildingId,
    /// Name.
    pub name: String,
}

/// Building names of a community (within a grid worker's grids), without the counts.
pub async fn building_options(state: &AppState, community_id: CommunityId, grids: Option<&[GridId]>) -> AppResult<Vec<BuildingOption>> {
    let sql = format!("SELECT b.id, b.name FROM buildings b WHERE b.community_id = $1{} ORDER BY b.id", grid_filter_sql(grids, "b"));
    kernel::row! {
        /// A building's id and name.
        struct Named {
            id: BuildingId,
            name: String,
        }
    }
    let rows: Vec<Named> = sqlx::query_as(&sql).bind(community_id).fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().map(|r| BuildingOption { id: r.id, name: r.name }).collect())
}

/// Households of a community, optionally in one building, ordered by id.
pub async fn households(
    state: &AppState,
    community_id: CommunityId,
    building_id: Option<BuildingId>,
    grids: Option<&[GridId]>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Household>> {
    let building = if building_id.is_some() { " AND h.building_id = $4" } else { "" };
    let sql = format!(
        "SELECT h.id, h.building_id, b.name AS building_name, u.name AS unit_name, h.room, (SELECT COUNT(*) FROM residents r WHERE r.household_id = h.id) AS members \
         FROM households h JOIN buildings b ON b.id = h.building_id JOIN units u ON u.id = h.unit_id \
         WHERE h.community_id = $1 AND h.id > $2{building}{} ORDER BY h.id LIMIT $3",
        grid_filter_sql(grids, "b")
    );
    kernel::row! {
        /// A household with its address parts and member count.
        struct Counted {
            id: HouseholdId,
            building_id: BuildingId,
            building_name: String,
            unit_name: String,
            room: String,
            members: i64,
        }
    }
    let mut query = sqlx::query_as::<_, Counted>(&sql).bind(community_id).bind(after.unwrap_or(0)).bind(limit + 1);
    if let Some(b) = building_id {
        query = query.bind(b);
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| Household { id: r.id, building_id: r.building_id, address: address(&r.building_name, &r.unit_name, &r.room), members: r.members })
        .collect())
}

/// `AND <alias>.grid_id IN (…)` for a grid worker's scope; ids are integers, so inlining is safe.
pub fn grid_filter_sql(grids: Option<&[GridId]>, alias: &str) -> String {
    kernel::db::and_in(&format!("{alias}.grid_id"), grids)
}

/// Filters for the resident list.
#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    /// Search words: name, whole phone, last four digits or address words (see `search_sql`).
    pub q: Option<String>,
    /// Only this tag.
    pub tag: Option<Tag>,
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only this household.
    pub household_id: Option<HouseholdId>,
}

/// The resident columns (those of `ResidentRow`), tags folded into one text column (`tags`) so
/// a list is one query.
fn resident_columns(state: &AppState) -> String {
    format!(
        "r.id, r.name, r.gender, r.birth_year, r.phone, r.id_number_masked, r.relation, r.household_id, \
         h.building_id, b.name AS building_name, u.name AS unit_name, h.room, r.notes, r.user_id, r.updated_at, \
         (SELECT {} FROM resident_tags t WHERE t.resident_id = r.id) AS tags",
        state.db.list_agg("t.tag")
    )
}
const RESIDENT_JOINS: &str = "FROM residents r LEFT JOIN households h ON h.id = r.household_id \
    LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN units u ON u.id = h.unit_id";

kernel::row! {
    /// A resident as stored, with the address parts and tags (the columns of `resident_columns`).
    struct ResidentRow {
        id: ResidentId,
        name: String,
        gender: String,
        birth_year: Option<i64>,
        phone: String,
        id_number_masked: Option<String>,
        relation: String,
        household_id: Option<HouseholdId>,
        building_id: Option<BuildingId>,
        building_name: Option<String>,
        unit_name: Option<String>,
        room: Option<String>,
        notes: String,
        user_id: Option<UserId>,
        updated_at: i64,
        tags: Option<String>,
    }
}

fn resident_from(r: ResidentRow) -> AppResult<Resident> {
    let phone = r.phone;
    let tags = r.tags.unwrap_or_default();
    let mut tags: Vec<Tag> = tags.split(',').filter(|t| !t.is_empty()).map(Tag::stored).collect::<AppResult<_>>()?;
    tags.sort_by_key(|t| Tag::ALL.iter().position(|x| x == t));
    Ok(Resident {
        id: r.id,
        name: r.name,
        gender: r.gender,
        birth_year: r.birth_year,
        phone: if phone.is_empty() { phone } else { kernel::crypto::mask_phone(&phone) },
        id_number: r.id_number_masked.unwrap_or_default(),
        relation: r.relation,
        tags,
        household_id: r.household_id,
        building_id: r.building_id,
        address: address(&r.building_name.unwrap_or_default(), &r.unit_name.unwrap_or_default(), &r.room.unwrap_or_default()),
        notes: r.notes,
        has_account: r.user_id.is_some(),
        updated_at: r.updated_at,
    })
}

/// Residents of a community matching `filter`, ordered by id, after the cursor.
pub async fn residents(
    state: &AppState,
    community_id: CommunityId,
    filter: &ResidentFilter,
    grids: Option<&[GridId]>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Resident>> {
    let (sql, values) = state.db.build(&residents_query(&resident_columns(state), community_id, filter, grids, after, limit));
    let rows = sqlx::query_as_with::<_, ResidentRow, _>(&sql, values).fetch_all(&state.db.pool).await?;
    rows.into_iter().map(resident_from).collect()
}

/// The resident list's query. Only the filters in use become conditions, so each query can
/// use its index (an `($n = 0 OR col = $n)` condition would make the planner scan the whole
/// community).
fn residents_query(columns: &str, community_id: CommunityId, filter: &ResidentFilter, grids: Option<&[GridId]>, after: Option<i64>, limit: i64) -> SelectStatement {
    let mut q = Query::select();
    q.expr(raw(columns))
        .from_as(Alias::new("residents"), Alias::new("r"))
        .join_as(JoinType::LeftJoin, Alias::new("households"), Alias::new("h"), col("h", "id").equals((Alias::new("r"), Alias::new("household_id"))))
        .join_as(JoinType::LeftJoin, Alias::new("buildings"), Alias::new("b"), col("b", "id").equals((Alias::new("h"), Alias::new("building_id"))))
        .join_as(JoinType::LeftJoin, Alias::new("units"), Alias::new("u"), col("u", "id").equals((Alias::new("h"), Alias::new("unit_id"))))
        .and_where(col("r", "community_id").eq(community_id))
        .and_where(col("r", "id").gt(after.unwrap_or(0)));
    if let Some(h) = filter.household_id {
        q.and_where(col("r", "household_id").eq(h));
    }
    if let Some(b) = filter.building_id {
        q.and_where(col("h", "building_id").eq(b));
    }
    if let Some(words) = filter.q.as_deref().and_then(search_condition) {
        q.cond_where(words);
    }
    if let Some(t) = filter.tag {
        let mut tagged = Query::select();
        tagged
            .expr(Expr::val(1))
            .from_as(Alias::new("resident_tags"), Alias::new("t"))
            .and_where(col("t", "resident_id").equals((Alias::new("r"), Alias::new("id"))))
            .and_where(col("t", "tag").eq(t.code()));
        q.and_where(Expr::exists(tagged));
    }
    if let Some(grids) = grids {
        q.and_where(col("b", "grid_id").is_in(grids.iter().copied()));
    }
    q.order_by((Alias::new("r"), Alias::new("id")), Order::Asc).limit(u64::try_from(limit + 1).unwrap_or(1));
    q
}

/// The condition for a search box's words: a whole mobile number finds its resident, four
/// digits the residents whose number ends so (or whose room is so numbered); any other words
/// are looked for in the name and, each of them, in the address (`3栋 2单元 301`). `None` when
/// the words are only white space.
fn search_condition(q: &str) -> Option<Cond> {
    if let Some(phone) = as_phone(q) {
        return Some(Cond::all().add(col("r", "phone").eq(phone)));
    }
    let normal = fold(q);
    let q = normal.as_str();
    let digits = q.chars().all(|c| c.is_ascii_digit());
    let words = address_words(q);
    if words.is_empty() {
        return None;
    }
    let in_address = words.iter().fold(Cond::all(), |all, w| all.add(contains(col("h", "search_address"), w)));
    let mut any = Cond::any().add(contains(col("r", "search_name"), &name_key(q))).add(in_address);
    if digits && q.len() == 4 {
        any = any.add(col("r", "phone_last4").eq(q));
    }
    Some(any)
}

/// Search words that are a whole mainland mobile number however it was typed (`138 1234 5678`,
/// `138-1234-5678`, `+86 138…`, full-width digits), as the 11 digits stored.
pub fn as_phone(q: &str) -> Option<String> {
    let digits: String = fold(q).chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
    (digits.len() == 11 && digits.starts_with('1') && digits.chars().all(|c| c.is_ascii_digit())).then(|| digits.to_string())
}

/// A name as the search compares it: folded, without spaces or the dots between the parts of
/// a name (阿依古丽·买买提, John Smith), so that it is found however the parts were separated.
pub fn name_key(name: &str) -> String {
    fold(name).chars().filter(|c| !c.is_whitespace() && !matches!(c, '·' | '・' | '•' | '‧' | '∙' | '⋅' | '.' | '-')).collect()
}

/// What the search looks in for a household: "building unit room", folded.
pub fn search_address(building: &str, unit: &str, room: &str) -> String {
    fold(&format!("{building} {unit} {room}"))
}

/// Fills `residents.search_name` and `households.search_address` for rows from before they
/// were kept, 500 at a time.
pub async fn fill_search_columns(db: &kernel::db::Db) -> AppResult<u64> {
    kernel::row! {
        /// A resident without a search name yet.
        struct Unnamed {
            id: ResidentId,
            name: String,
        }
    }
    kernel::row! {
        /// A household without a search address yet, with its address parts.
        struct Unaddressed {
            id: HouseholdId,
            building_name: Option<String>,
            unit_name: Option<String>,
            room: String,
        }
    }
    let mut done = 0;
    loop {
        let rows: Vec<Unnamed> = sqlx::query_as("SELECT id, name FROM residents WHERE search_name IS NULL ORDER BY id LIMIT 500").fetch_all(&db.pool).await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = db.begin_write().await?;
        for Unnamed { id, name } in rows {
            sqlx::query("UPDATE residents SET search_name = $1 WHERE id = $2").bind(name_key(&name)).bind(id).execute(&mut *tx).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    loop {
        let rows: Vec<Unaddressed> = sqlx::query_as(
            "SELECT h.id, b.name AS building_name, u.name AS unit_name, h.room FROM households h LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN units u ON u.id = h.unit_id \
             WHERE h.search_address IS NULL ORDER BY h.id LIMIT 500",
        )
        .fetch_all(&db.pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut tx = db.begin_write().await?;
        for Unaddressed { id, building_name: building, unit_name: unit, room } in rows {
            let address = search_address(building.as_deref().unwrap_or(""), unit.as_deref().unwrap_or(""), &room);
            sqlx::query("UPDATE households SET search_address = $1 WHERE id = $2").bind(address).bind(id).execute(&mut *tx).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// The address parts in search words, with or without spaces between them: `3栋1单元202`,
/// `3栋 1单元 202室` and `翠微新村3栋` each give the estate, `3栋`, `1单元` and the room (a
/// trailing 室 or 号 dropped, as rooms are stored by number).
fn address_words(q: &str) -> Vec<String> {
    let mut words = Vec::new();
    for word in q.split_whitespace() {
        let mut current = String::new();
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            // An estate name ends where a building number starts: 翠微新村|3栋.
            if c.is_ascii_digit() && current.chars().last().is_some_and(|p| !p.is_ascii_digit() && !p.is_ascii_alphabetic() && p != '-') {
                words.push(std::mem::take(&mut current));
            }
            current.push(c);
            let two = chars.get(i + 1).is_some_and(|n| c == '单' && *n == '元');
            if two {
                current.push('元');
                i += 1;
            }
            if two || matches!(c, '栋' | '幢' | '室' | '号') {
                words.push(std::mem::take(&mut current));
            }
            i += 1;
        }
        words.push(current);
    }
    words
        .into_iter()
        .map(|w| w.trim_end_matches(['室', '号']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_found_with_or_without_spaces_and_in_wide_digits() {
        assert_eq!(address_words(&fold("3栋1单元202")), ["3栋", "1单元", "202"]);
        assert_eq!(address_words(&fold("3栋 1单元 202室")), ["3栋", "1单元", "202"]);
        assert_eq!(address_words(&fold("３栋")), ["3栋"]);
        assert_eq!(address_words(&fold("翠微新村3栋\u{3000}２单元")), ["翠微新村", "3栋", "2单元"]);
        assert_eq!(address_words(&fold("李秀英")), ["李秀英"]);
        assert_eq!(fold(" １３８００００５６７８ "), "13800005678");
        for typed in ["138 0000 5678", "138-0000-5678", "+86 138 0000 5678", "+8613800005678", "１３８００００５６７８"] {
            assert_eq!(as_phone(typed).as_deref(), Some("13800005678"), "{typed}");
        }
        assert_eq!(as_phone("5678"), None);
        assert_eq!(name_key("阿依古丽·买买提"), name_key("阿依古丽・买买提 "));
        assert_eq!(name_key("John SMITH"), "johnsmith");
    }

    proptest! {
        #[test]
        fn any_search_words_give_a_query_with_a_value_for_every_placeholder(q in any::<String>(), extra in prop::sample::select(vec!["３栋", "1单元", "单", "室", "%_\\", "😀", "\u{3000}", "e\u{301}"])) {
            use kernel::query::SqlxBinder;
            let q = format!("{q}{extra}");
            let filter = ResidentFilter { q: Some(q), tag: Some(Tag::Elderly), building_id: Some(BuildingId::new(3)), household_id: None };
            let query = residents_query("r.id", CommunityId::new(1), &filter, Some(&[GridId::new(1), GridId::new(2)]), Some(5), 30);
            let (sql, values) = query.build_sqlx(kernel::query::PostgresQueryBuilder);
            let highest = (1..=values.0.0.len()).rev().find(|n| sql.contains(&format!("${n}")));
            prop_assert_eq!(highest, Some(values.0.0.len()), "{}", sql);
            let beyond = format!("${}", values.0.0.len() + 1);
            prop_assert!(!sql.contains(&beyond), "{}", sql);
        }
    }
}

/// One resident, with the grid of their building (for scope checks).
pub async fn resident(state: &AppState, community_id: CommunityId, id: ResidentId) -> AppResult<Option<(Resident, Option<GridId>)>> {
    let sql = format!("SELECT {}, b.grid_id {RESIDENT_JOINS} WHERE r.community_id = $1 AND r.id = $2", resident_columns(state));
    let row: Option<AnyRow> = sqlx::query(&sql).bind(community_id).bind(id).fetch_optional(&state.db.pool).await?;
    let Some(row) = row else { return Ok(None) };
    let grid_id: Option<GridId> = row.try_get("grid_id")?;
    Ok(Some((resident_from(ResidentRow::from_row(&row)?)?, grid_id)))
}

/// The resident record linked to a user, with its community: `(resident id, household, community)`.
pub async fn resident_of_user(state: &AppState, user_id: UserId) -> AppResult<Option<(ResidentId, Option<HouseholdId>, Community)>> {
    kernel::row! {
        /// A resident record with its community.
        struct Linked {
            resident_id: ResidentId,
            household_id: Option<HouseholdId>,
            community_id: CommunityId,
            slug: String,
            name: String,
            city: String,
        }
    }
    Ok(sqlx::query_as::<_, Linked>(
        "SELECT r.id AS resident_id, r.household_id, c.id AS community_id, c.slug, c.name, c.city FROM residents r JOIN communities c ON c.id = r.community_id \
         WHERE r.user_id = $1 ORDER BY r.id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&state.db.pool)
    .await?
    .map(|r| (r.resident_id, r.household_id, Community { id: r.community_id, slug: r.slug, name: r.name, city: r.city })))
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
pub async fn counts(state: &AppState, community_id: CommunityId) -> AppResult<Counts> {
    let r: CountsRow = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM residents WHERE community_id = $1) AS residents, \
                (SELECT COUNT(*) FROM households WHERE community_id = $1) AS households, \
                (SELECT COUNT(*) FROM buildings WHERE community_id = $1) AS buildings, \
                (SELECT COUNT(*) FROM grids WHERE community_id = $1) AS grids, \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'elderly') AS elderly, \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'living_alone') AS living_alone, \
                (SELECT COUNT(*) FROM resident_tags t JOIN residents r ON r.id = t.resident_id WHERE r.community_id = $1 AND t.tag = 'renter') AS renters",
    )
    .bind(community_id)
    .fetch_one(&state.db.pool)
    .await?;
    Ok(counts_from(r))
}

kernel::row! {
    /// The figures as both count queries select them.
    struct CountsRow {
        residents: i64,
        households: i64,
        buildings: i64,
        grids: i64,
        elderly: i64,
        living_alone: i64,
        renters: i64,
    }
}

fn counts_from(r: CountsRow) -> Counts {
    Counts {
        residents: r.residents,
        households: r.households,
        buildings: r.buildings,
        grids: r.grids,
        elderly: r.elderly,
        living_alone: r.living_alone,
        renters: r.renters,
    }
}

/// The figures of `counts` over some buildings only (a grid worker's grids): `None` is the whole
/// community.
pub async fn counts_within(state: &AppState, community_id: CommunityId, buildings: Option<&[BuildingId]>) -> AppResult<Counts> {
    let Some(buildings) = buildings else { return counts(state, community_id).await };
    let within = |col: &str| kernel::db::and_in(col, Some(buildings));
    let residents = format!("SELECT r.id FROM residents r JOIN households h ON h.id = r.household_id WHERE r.community_id = $1{}", within("h.building_id"));
    let tagged = |tag: &str| format!("(SELECT COUNT(*) FROM resident_tags t WHERE t.tag = '{tag}' AND t.resident_id IN ({residents}))");
    let r: CountsRow = sqlx::query_as(&format!(
        "SELECT (SELECT COUNT(*) FROM ({residents}) x) AS residents, \
                (SELECT COUNT(*) FROM households h WHERE h.community_id = $1{}) AS households, \
                (SELECT COUNT(*) FROM buildings b WHERE b.community_id = $1{}) AS buildings, \
                (SELECT COUNT(DISTINCT b.grid_id) FROM buildings b WHERE b.community_id = $1{}) AS grids, \
                {} AS elderly, {} AS living_alone, {} AS renters",
        within("h.building_id"),
        within("b.id"),
        within("b.id"),
        tagged("elderly"),
        tagged("living_alone"),
        tagged("renter"),
    ))
    .bind(community_id)
    .fetch_one(&state.db.pool)
    .await?;
    Ok(counts_from(r))
}

/// One stored encrypted ID number, if any: at start the server checks that its secret key
/// still decrypts the data (`kernel::secret_key::check`).
pub async fn any_encrypted_id_number(db: &kernel::db::Db) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id_number_enc FROM residents WHERE id_number_enc IS NOT NULL LIMIT 1").fetch_optional(&db.pool).await?)
}
