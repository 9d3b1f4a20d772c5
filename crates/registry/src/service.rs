//! Registry use cases: every read and write checks the caller's permission here, and grid
//! workers only ever see the buildings of their own grids.

use kernel::community::CommunityId;
use kernel::auth::{Principal, Role, UserId};
use crate::{BuildingId, GridId, HouseholdId, ResidentId, UnitId};
use crate::domain::{Clearing, IdStanding, ResidentDraft, ResidentInput, Tag, ID_REVEAL, RESIDENTS_READ, RESIDENTS_WRITE, STRUCTURE_WRITE};
use crate::store::{self, Community, Resident};
use kernel::audit;
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;


/// Whole phone numbers one person may look up per hour. A search by a whole number tells
/// whether it is a resident's; the list shows it masked to those who may not see it, and the
/// budget keeps anyone from recovering the hidden digits by trying them all.
pub const PHONE_SEARCHES: kernel::quota::Budget = kernel::quota::Budget { name: "resident_phone_search", limit: 60, window_ms: 3_600_000 };

/// Residents of a community `p` may read (within their grids for a grid worker), matching
/// `filter`, a page after the cursor.
pub async fn find_residents(
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    filter: &store::ResidentFilter,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Resident>> {
    p.require(community_id, &RESIDENTS_READ)?;
    if filter.q.as_deref().and_then(store::as_phone).is_some() {
        let who = p.quota_key().unwrap_or_else(|| "operator".to_string());
        kernel::quota::spend(state, &PHONE_SEARCHES, &who).await?;
    }
    let scope = scope(state, p, community_id).await?;
    store::residents(state, community_id, filter, scope.as_deref(), after, limit).await
}

/// The community behind `slug`, or 404. Communities the caller has no role in are also 404.
pub async fn community(state: &AppState, p: &Principal, slug: &str) -> AppResult<Community> {
    let c = kernel::community::by_slug(state, slug).await?.ok_or(AppError::NotFound)?;
    if p.superadmin || p.community_ids().contains(&c.id) {
        Ok(c)
    } else {
        Err(AppError::NotFound)
    }
}

/// The grids a caller is limited to: the assigned grids for a grid worker without a wider
/// role, `None` (no limit beyond the permission check) for everyone else.
pub async fn scope(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Option<Vec<GridId>>> {
    let wide = p.superadmin || p.has_role(community_id, Role::Staff) || p.has_role(community_id, Role::Admin);
    if wide || !p.has_role(community_id, Role::GridWorker) {
        return Ok(None);
    }
    // An API key acting as a grid worker has no grids assigned, so it sees none.
    match p.user_id {
        Some(uid) => Ok(Some(store::grids_of(state, uid).await?)),
        None => Ok(Some(Vec::new())),
    }
}

/// A resident, checked against permission and grid scope.
pub async fn resident(state: &AppState, p: &Principal, c: &Community, id: ResidentId) -> AppResult<Resident> {
    p.require(c.id, &RESIDENTS_READ)?;
    let (r, grid) = store::resident(state, c.id, id).await?.ok_or(AppError::NotFound)?;
    if let Some(grids) = scope(state, p, c.id).await? {
        if !grid.is_some_and(|g| grids.contains(&g)) {
            return Err(AppError::NotFound);
        }
    }
    Ok(r)
}

/// The full ID number of a resident; the view is written to the access log.
pub async fn reveal_id_number(state: &AppState, p: &Principal, c: &Community, id: ResidentId, purpose: &str) -> AppResult<Option<String>> {
    p.require(c.id, &ID_REVEAL)?;
    resident(state, p, c, id).await?;
    let purpose = kernel::validate::required("purpose", purpose, 100)?;
    let enc: Option<String> = sqlx::query_scalar("SELECT id_number_enc FROM residents WHERE id = $1")
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?;
    let Some(enc) = enc else { return Ok(None) };
    let plain = state.cipher.decrypt(&enc)?;
    let mut tx = state.db.begin_write().await?;
    audit::record_access(&mut tx, state.now(), p, c.id, "resident", id, "id_number", purpose).await?;
    tx.commit().await?;
    Ok(Some(plain))
}

/// Where a new resident lives.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct Placement {
    /// Building name, e.g. `翠微新村 3栋` (created when missing).
    pub building: String,
    /// Unit, e.g. `2单元` (may be empty).
    #[serde(default)]
    pub unit: String,
    /// Room, e.g. `301`.
    pub room: String,
}

impl Placement {
    /// The placement trimmed and checked as every text input is: building and room required.
    pub fn parse(&self) -> Result<Placement, Vec<kernel::FieldError>> {
        use kernel::validate::{at_most, required};
        let (building, unit, room) = (required("building", &self.building, 40), at_most("unit", &self.unit, 20), required("room", &self.room, 20));
        match (building, unit, room) {
            (Ok(b), Ok(u), Ok(r)) => Ok(Placement { building: b.to_string(), unit: u.to_string(), room: r.to_string() }),
            (b, u, r) => Err([b.err(), u.err(), r.err()].into_iter().flatten().collect()),
        }
    }
}

/// Finds or creates the building, unit and household for a placement, inside `tx`.
/// Returns `(household_id, building_created)`.
pub async fn place(tx: &mut WriteTx, now: i64, community_id: CommunityId, at: &Placement, grid_name: Option<&str>) -> AppResult<(HouseholdId, bool)> {
    // Written as typed on any keyboard: 翠微新村３栋, 翠微新村 3栋 and 翠微新村3栋 are one building.
    let (building, unit, room) = (kernel::query::normal(&at.building), kernel::query::normal(&at.unit), kernel::query::normal(&at.room));
    let (building, room) = (building.as_str(), room.as_str());
    if building.is_empty() {
        return Err(AppError::field("building", "required"));
    }
    if room.is_empty() {
        return Err(AppError::field("room", "required"));
    }
    let mut created = false;
    let building_id: BuildingId = match same_place(tx, "buildings", "community_id", "name", community_id.get(), building).await?.map(BuildingId::new) {
        Some(id) => id,
        None => {
            created = true;
            let grid_id = match grid_name.map(str::trim).filter(|g| !g.is_empty()) {
                Some(g) => Some(ensure_grid(tx, now, community_id, g).await?),
                None => None,
            };
            let estate = building.split_whitespace().next().unwrap_or("").to_string();
            sqlx::query_scalar(
                "INSERT INTO buildings (community_id, grid_id, name, estate, floors, has_elevator, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 0, 0, $5, $5) RETURNING id",
            )
            .bind(community_id)
            .bind(grid_id)
            .bind(building)
            .bind(if estate == building { String::new() } else { estate })
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    let unit = unit.as_str();
    let unit_id: UnitId = match same_place(tx, "units", "building_id", "name", building_id.get(), unit).await?.map(UnitId::new) {
        Some(id) => id,
        None => sqlx::query_scalar("INSERT INTO units (building_id, name) VALUES ($1, $2) RETURNING id")
            .bind(building_id)
            .bind(unit)
            .fetch_one(&mut **tx)
            .await?,
    };
    let household: HouseholdId = match same_place(tx, "households", "unit_id", "room", unit_id.get(), room).await?.map(HouseholdId::new) {
        Some(id) => id,
        None => sqlx::query_scalar(
            "INSERT INTO households (community_id, building_id, unit_id, room, created_at, updated_at, search_address) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id",
        )
        .bind(community_id)
        .bind(building_id)
        .bind(unit_id)
        .bind(room)
        .bind(now)
        .bind(crate::store::search_address(building, unit, room))
        .fetch_one(&mut **tx)
        .await?,
    };
    Ok((household, created))
}

/// The id of the place in `table` under `parent` (its `parent_column`) whose `name_column` is
/// `name` written any way: the same after folding, spaces ignored. The name as written is looked
/// up first, by the index, so an import row that names a place as it is stored reads one row;
/// only a name written otherwise reads the parent's places to compare. Table and column names
/// are this module's literals.
async fn same_place(tx: &mut WriteTx, table: &str, parent_column: &str, name_column: &str, parent: i64, name: &str) -> AppResult<Option<i64>> {
    let exact: Option<i64> = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE {parent_column} = $1 AND {name_column} = $2"))
        .bind(parent)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    if exact.is_some() {
        return Ok(exact);
    }
    kernel::row! {
        /// A place's id and name.
        struct Named {
            id: i64,
            name: String,
        }
    }
    let key = |s: &str| kernel::query::fold(s).replace(' ', "");
    let wanted = key(name);
    let rows: Vec<Named> = sqlx::query_as(&format!("SELECT id, {name_column} AS name FROM {table} WHERE {parent_column} = $1")).bind(parent).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().find(|r| key(&r.name) == wanted).map(|r| r.id))
}

/// Finds or creates a grid by name.
pub async fn ensure_grid(tx: &mut WriteTx, now: i64, community_id: CommunityId, name: &str) -> AppResult<GridId> {
    if let Some(id) = sqlx::query_scalar::<_, GridId>("SELECT id FROM grids WHERE community_id = $1 AND name = $2")
        .bind(community_id)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(id);
    }
    Ok(sqlx::query_scalar("INSERT INTO grids (community_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(community_id)
        .bind(name)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}


/// The resident's stored fields derived from checked input.
fn stored_fields(state: &AppState, input: &ResidentInput, standing: IdStanding) -> (String, Option<i64>, Option<String>, Option<String>, Option<String>) {
    let gender = input.id_number.as_ref().map(|n| n.gender().to_string()).unwrap_or_default();
    let birth_year = input.id_number.as_ref().map(|n| n.birth_year() as i64);
    let enc = input.id_number.as_ref().map(|n| state.cipher.encrypt(n.as_str()));
    let idx = input.id_number.as_ref().filter(|_| standing == IdStanding::Registered).map(|n| state.cipher.blind_index(n.as_str()));
    let masked = input.id_number.as_ref().map(|n| n.masked());
    (gender, birth_year, enc, idx, masked)
}

/// Adds the `elderly` tag for anyone 60 or older today.
pub fn with_age_tags(state: &AppState, input: &mut ResidentInput) {
    let Some(today) = chrono::DateTime::from_timestamp_millis(state.now()).map(|t| t.with_timezone(&kernel::clock::shanghai()).date_naive()) else {
        return;
    };
    if let Some(n) = &input.id_number {
        let born = chrono::NaiveDate::parse_from_str(&n.birth_date(), "%Y-%m-%d").ok();
        if born.is_some_and(|b| crate::domain::age_on(today, b) >= 60) && !input.tags.contains(&Tag::Elderly) {
            input.tags.push(Tag::Elderly);
        }
    }
}

async fn write_tags(tx: &mut WriteTx, resident_id: ResidentId, tags: &[Tag]) -> AppResult<()> {
    sqlx::query("DELETE FROM resident_tags WHERE resident_id = $1").bind(resident_id).execute(&mut **tx).await?;
    for t in tags {
        sqlx::query("INSERT INTO resident_tags (resident_id, tag) VALUES ($1, $2)").bind(resident_id).bind(t.code()).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Links the resident to a login on their phone number, creating a password-less account
/// (SMS-code login) when none exists, and grants the resident role.
async fn link_account(tx: &mut WriteTx, now: i64, community_id: CommunityId, resident_id: ResidentId, input: &ResidentInput) -> AppResult<()> {
    let Some(phone) = &input.phone else { return Ok(()) };
    let user_id = match accounts::service::user_by_phone(tx, phone).await? {
        Some(id) => id,
        None => {
            let new = accounts::service::NewUser { phone, display_name: &input.name, password: None, superadmin: false };
            accounts::service::create_user(tx, now, &new).await?
        }
    };
    let already: Option<i64> = sqlx::query_scalar("SELECT id FROM residents WHERE user_id = $1 AND community_id = $2")
        .bind(user_id)
        .bind(community_id)
        .fetch_optional(&mut **tx)
        .await?;
    if already.is_none() {
        sqlx::query("UPDATE residents SET user_id = $1 WHERE id = $2").bind(user_id).bind(resident_id).execute(&mut **tx).await?;
    }
    accounts::service::grant(tx, now, user_id, community_id, Role::Resident).await
}

/// Inserts a resident inside `tx` (no permission check: callers check).
pub async fn insert_resident(tx: &mut WriteTx, state: &AppState, actor: Option<&Principal>, community_id: CommunityId, household_id: HouseholdId, input: ResidentInput) -> AppResult<ResidentId> {
    insert_held(tx, state, actor, community_id, household_id, input, IdStanding::Registered).await
}

async fn insert_held(
    tx: &mut WriteTx,
    state: &AppState,
    actor: Option<&Principal>,
    community_id: CommunityId,
    household_id: HouseholdId,
    mut input: ResidentInput,
    standing: IdStanding,
) -> AppResult<ResidentId> {
    with_age_tags(state, &mut input);
    let now = state.now();
    let (gender, birth_year, enc, idx, masked) = stored_fields(state, &input, standing);
    let id: ResidentId = sqlx::query_scalar(
        "INSERT INTO residents (community_id, household_id, name, gender, birth_year, phone, id_number_enc, id_number_idx, id_number_masked, relation, notes, created_at, updated_at, phone_last4, search_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14) RETURNING id",
    )
    .bind(community_id)
    .bind(household_id)
    .bind(&input.name)
    .bind(gender)
    .bind(birth_year)
    .bind(input.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default())
    .bind(enc)
    .bind(idx)
    .bind(masked)
    .bind(&input.relation)
    .bind(&input.notes)
    .bind(now)
    .bind(phone_last4(&input))
    .bind(crate::store::name_key(&input.name))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| AppError::from(e).on_conflict("id_number", "id_number_taken"))?;
    write_tags(tx, id, &input.tags).await?;
    link_account(tx, now, community_id, id, &input).await?;
    tx.forget_after_commit(HOUSEHOLD, None);
    audit::record_change(tx, now, actor, Some(community_id), "resident", id, "create", &resident_json(&input, Some(household_id))).await?;
    Ok(id)
}

/// The last four digits of the mobile number, kept beside it so staff can find a resident by
/// what people say on the phone ("尾号 5678") through an index.
fn phone_last4(input: &ResidentInput) -> String {
    input.phone.as_ref().map(|p| p.as_str()).map(|p| p[p.len().saturating_sub(4)..].to_string()).unwrap_or_default()
}

/// What the audit log keeps of a resident: never the ID number itself.
fn resident_json(input: &ResidentInput, household_id: Option<HouseholdId>) -> serde_json::Value {
    // In display order, as `resident_snapshot` reads them, so an unchanged set is no change.
    let mut tags = input.tags.clone();
    tags.sort_by_key(|t| Tag::ALL.iter().position(|x| x == t));
    serde_json::json!({
        "name": input.name,
        "phone": input.phone.as_ref().map(|p| p.masked()),
        "id_number": input.id_number.as_ref().map(|n| n.masked()),
        "relation": input.relation,
        "tags": tags.iter().map(|t| t.code()).collect::<Vec<_>>(),
        "notes": input.notes,
        "household_id": household_id,
    })
}

/// Updates a resident inside `tx`, recording the difference in the audit log.
#[allow(clippy::too_many_arguments)]
/// Empty phone and ID numbers keep the stored ones.
pub async fn update_resident(tx: &mut WriteTx, state: &AppState, actor: Option<&Principal>, community_id: CommunityId, id: ResidentId, household_id: Option<HouseholdId>, before: &serde_json::Value, input: ResidentInput) -> AppResult<()> {
    update_held(tx, state, actor, community_id, id, household_id, before, input, IdStanding::Registered, Clearing::default()).await
}

#[allow(clippy::too_many_arguments)]
async fn update_held(
    tx: &mut WriteTx,
    state: &AppState,
    actor: Option<&Principal>,
    community_id: CommunityId,
    id: ResidentId,
    household_id: Option<HouseholdId>,
    before: &serde_json::Value,
    mut input: ResidentInput,
    standing: IdStanding,
    clear: Clearing,
) -> AppResult<()> {
    if input.phone.is_none() && !clear.phone {
        // Forms show the number masked, never filled in: sent empty, it stays as stored.
        let stored: String = sqlx::query_scalar("SELECT phone FROM residents WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
        input.phone = kernel::crypto::PhoneNumber::parse(&stored).ok();
    }
    let keep_stored = input.id_number.is_none() && !clear.id_number;
    if keep_stored {
        // An update without an ID number keeps the stored one as it is held, and with it the
        // age tags and an audit entry that does not claim the number was removed.
        let enc: Option<String> = sqlx::query_scalar("SELECT id_number_enc FROM residents WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
        input.id_number = enc.map(|e| state.cipher.decrypt(&e)).transpose()?.and_then(|n| kernel::crypto::IdCardNumber::parse(&n).ok());
    }
    with_age_tags(state, &mut input);
    let now = state.now();
    sqlx::query(
        "UPDATE residents SET household_id = $1, name = $2, phone = $3, relation = $4, notes = $5, updated_at = $6, phone_last4 = $9, search_name = $10 WHERE id = $7 AND community_id = $8",
    )
    .bind(household_id)
    .bind(&input.name)
    .bind(input.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default())
    .bind(&input.relation)
    .bind(&input.notes)
    .bind(now)
    .bind(id)
    .bind(community_id)
    .bind(phone_last4(&input))
    .bind(crate::store::name_key(&input.name))
    .execute(&mut **tx)
    .await?;
    if !keep_stored {
        let (gender, birth_year, enc, idx, masked) = stored_fields(state, &input, standing);
        sqlx::query(
            "UPDATE residents SET gender = $1, birth_year = $2, id_number_enc = $3, id_number_idx = $4, id_number_masked = $5 WHERE id = $6 AND community_id = $7",
        )
        .bind(gender)
        .bind(birth_year)
        .bind(enc)
        .bind(idx)
        .bind(masked)
        .bind(id)
        .bind(community_id)
        .execute(&mut **tx)
        .await?;
    }
    write_tags(tx, id, &input.tags).await?;
    link_account(tx, now, community_id, id, &input).await?;
    tx.forget_after_commit(HOUSEHOLD, None);
    let after = resident_json(&input, household_id);
    let changes = audit::diff(before, &after);
    if changes.as_object().is_some_and(|m| !m.is_empty()) {
        audit::record_change(tx, now, actor, Some(community_id), "resident", id, "update", &changes).await?;
    }
    Ok(())
}

/// The stored state of a resident in the audit log's terms.
/// A resident's household (none once it was removed) and fields as the trail records them.
pub async fn resident_snapshot(tx: &mut WriteTx, id: ResidentId) -> AppResult<(Option<HouseholdId>, serde_json::Value)> {
    kernel::row! {
        /// A resident's audited fields as stored.
        struct Snapshot {
            household_id: Option<HouseholdId>,
            name: String,
            phone: String,
            id_number_masked: Option<String>,
            relation: String,
            notes: String,
        }
    }
    let r: Snapshot = sqlx::query_as("SELECT household_id, name, phone, id_number_masked, relation, notes FROM residents WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM resident_tags WHERE resident_id = $1").bind(id).fetch_all(&mut **tx).await?;
    let mut tags: Vec<Tag> = tags.iter().map(|t| Tag::stored(t)).collect::<AppResult<_>>()?;
    tags.sort_by_key(|t| Tag::ALL.iter().position(|x| x == t));
    let household = r.household_id;
    let phone = r.phone;
    Ok((
        household,
        serde_json::json!({
            "name": r.name,
            "phone": (!phone.is_empty()).then(|| kernel::crypto::mask_phone(&phone)),
            "id_number": r.id_number_masked,
            "relation": r.relation,
            "tags": tags.iter().map(|t| t.code()).collect::<Vec<_>>(),
            "notes": r.notes,
            "household_id": household,
        }),
    ))
}

/// Resident creations and edits allowed per person in ten minutes to those who may not see ID
/// numbers: plenty for a round of door-to-door visits, too few to try thousands of candidate
/// ID numbers.
pub const RESIDENT_WRITES: kernel::quota::Budget = kernel::quota::Budget { name: "resident_write", limit: 60, window_ms: 10 * kernel::clock::MINUTE };

/// Counts one resident write by `p`, or refuses it (429) when the window's quota is used up.
/// Those who may see ID numbers have nothing to gain from many writes and are not counted.
async fn count_resident_write(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<()> {
    if p.can(community_id, &ID_REVEAL) {
        return Ok(());
    }
    let Some(actor) = p.quota_key() else { return Ok(()) };
    kernel::quota::spend(state, &RESIDENT_WRITES, &actor).await
}

/// Runs a resident write a second time when it lost a race on a uniqueness constraint (an ID
/// number registered by another request between the check and the write) and the writer may
/// not learn of clashes: the second run sees the number registered and holds it for review,
/// so the answer is the usual one, not a 409.
async fn retried<T, F, Fut>(p: &Principal, community_id: CommunityId, mut write: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    match write().await {
        Err(AppError::Conflict { .. }) if !p.can(community_id, &ID_REVEAL) => write().await,
        other => other,
    }
}

/// Creates a resident from a draft and a placement (staff, admins, or a grid worker in their grid).
pub async fn create_resident(state: &AppState, p: &Principal, c: &Community, draft: ResidentDraft, at: &Placement) -> AppResult<Resident> {
    p.require(c.id, &RESIDENTS_WRITE)?;
    count_resident_write(state, p, c.id).await?;
    let (input, at) = match (draft.parse(), at.parse()) {
        (Ok(input), Ok(at)) => (input, at),
        (a, b) => return Err(AppError::Validation(a.err().into_iter().chain(b.err()).flatten().collect())),
    };
    let scope = scope(state, p, c.id).await?;
    let id = retried(p, c.id, || insert_checked(state, p, c, &input, &at, scope.as_deref())).await?;
    resident(state, p, c, id).await
}

async fn insert_checked(state: &AppState, p: &Principal, c: &Community, input: &ResidentInput, at: &Placement, scope: Option<&[GridId]>) -> AppResult<ResidentId> {
    let mut tx = state.db.begin_write().await?;
    let (household, created) = place(&mut tx, state.now(), c.id, at, None).await?;
    if let Some(grids) = scope {
        let grid: Option<GridId> = sqlx::query_scalar("SELECT b.grid_id FROM households h JOIN buildings b ON b.id = h.building_id WHERE h.id = $1")
            .bind(household)
            .fetch_one(&mut *tx)
            .await?;
        if created || !grid.is_some_and(|g| grids.contains(&g)) {
            return Err(AppError::field("building", "building_out_of_scope"));
        }
    }
    let (mut tx, held) = crate::id_reviews::standing(tx, state, p, c, input.id_number.as_ref(), None).await?;
    let id = insert_held(&mut tx, state, Some(p), c.id, household, input.clone(), held).await?;
    crate::id_reviews::queue(&mut tx, state, p, c.id, id, held, input.id_number.as_ref()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a resident's details (the household stays).
pub async fn edit_resident(state: &AppState, p: &Principal, c: &Community, id: ResidentId, draft: ResidentDraft) -> AppResult<Resident> {
    p.require(c.id, &RESIDENTS_WRITE)?;
    resident(state, p, c, id).await?;
    count_resident_write(state, p, c.id).await?;
    let clear = draft.clearing();
    let input = draft.parse().map_err(AppError::Validation)?;
    retried(p, c.id, || update_checked(state, p, c, id, &input, clear)).await?;
    resident(state, p, c, id).await
}

async fn update_checked(state: &AppState, p: &Principal, c: &Community, id: ResidentId, input: &ResidentInput, clear: Clearing) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let (household, before) = resident_snapshot(&mut tx, id).await?;
    let (mut tx, held) = crate::id_reviews::standing(tx, state, p, c, input.id_number.as_ref(), Some(id)).await?;
    update_held(&mut tx, state, Some(p), c.id, id, household, &before, input.clone(), held, clear)
        .await
        .map_err(|e| e.on_conflict("id_number", "id_number_taken"))?;
    crate::id_reviews::queue(&mut tx, state, p, c.id, id, held, input.id_number.as_ref()).await?;
    tx.commit().await
}

/// A change in the audit trail.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// When (epoch ms).
    pub at: i64,
    /// Who (display name), or the API key's name.
    pub actor: String,
    /// `create`, `update` …
    pub action: String,
    /// What changed: `{field: [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// The audit trail of one resident.
pub async fn resident_history(state: &AppState, p: &Principal, c: &Community, id: ResidentId) -> AppResult<Vec<AuditEntry>> {
    resident(state, p, c, id).await?;
    kernel::row! {
        /// An audit log entry with who made it.
        struct Logged {
            at: i64,
            actor: String,
            action: String,
            changes: String,
        }
    }
    let rows: Vec<Logged> = sqlx::query_as(
        "SELECT a.at, COALESCE(u.display_name, k.name, '') AS actor, a.action, a.changes FROM audit_log a \
         LEFT JOIN users u ON u.id = a.actor_user_id LEFT JOIN api_keys k ON k.id = a.actor_api_key_id \
         WHERE a.entity = 'resident' AND a.entity_id = $1 ORDER BY a.id DESC LIMIT 100",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            // A trail entry that does not read is an error, never shown as "nothing changed".
            let changes = serde_json::from_str(r.changes.as_str()).map_err(|e| AppError::internal(format!("audit entry changes: {e}")))?;
            Ok(AuditEntry { at: r.at, actor: r.actor, action: r.action, changes })
        })
        .collect()
}

/// Creates a building (staff, admins).
pub async fn create_building(state: &AppState, p: &Principal, c: &Community, name: &str, grid_id: Option<GridId>, floors: i64, has_elevator: bool) -> AppResult<BuildingId> {
    p.require(c.id, &STRUCTURE_WRITE)?;
    let name = kernel::validate::required("name", name, 40)?;
    if !(0..=200).contains(&floors) {
        return Err(AppError::field("floors", "floors_range"));
    }
    if let Some(g) = grid_id {
        let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM grids WHERE id = $1 AND community_id = $2").bind(g).bind(c.id).fetch_optional(&state.db.pool).await?;
        ok.ok_or_else(|| AppError::field("grid_id", "not_found_ref"))?;
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let estate = name.split_whitespace().next().filter(|e| *e != name).unwrap_or("").to_string();
    let id: BuildingId = sqlx::query_scalar(
        "INSERT INTO buildings (community_id, grid_id, name, estate, floors, has_elevator, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(c.id)
    .bind(grid_id)
    .bind(name)
    .bind(estate)
    .bind(floors)
    .bind(has_elevator as i64)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| AppError::from(e).on_conflict("name", "taken"))?;
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "building", id, "create", &serde_json::json!({"name": name, "grid_id": grid_id, "floors": floors})).await?;
    tx.commit().await?;
    Ok(id)
}

/// What a resident sees about themselves: their record and their household's members.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MyHousehold {
    /// Community.
    pub community: Community,
    /// My record.
    pub me: Resident,
    /// Everyone in my household, me included.
    pub members: Vec<Resident>,
}

/// Read-cache namespace of [`my_household`]; every resident write forgets all of it.
const HOUSEHOLD: &str = "registry.household";

/// The logged-in person's own record and household, if the community has registered them.
pub async fn my_household(state: &AppState, user_id: UserId) -> AppResult<Option<std::sync::Arc<MyHousehold>>> {
    if let Some(cached) = state.db.reads.get::<MyHousehold>(HOUSEHOLD, user_id) {
        return Ok(Some(cached));
    }
    let Some((id, household, community)) = store::resident_of_user(state, user_id).await? else { return Ok(None) };
    let members = match household {
        Some(h) => {
            let filter = store::ResidentFilter { household_id: Some(h), ..Default::default() };
            store::residents(state, community.id, &filter, None, None, 50).await?
        }
        None => store::resident(state, community.id, id).await?.map(|(r, _)| vec![r]).unwrap_or_default(),
    };
    let me = members.iter().find(|m| m.id == id).cloned().ok_or(AppError::NotFound)?;
    let view = std::sync::Arc::new(MyHousehold { community, me, members });
    state.db.reads.put(HOUSEHOLD, user_id, view.clone());
    Ok(Some(view))
}
