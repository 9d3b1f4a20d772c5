//! The cases capability's queries: what is read and written in its tables, in one place.

use kernel::community::CommunityId;
use kernel::auth::UserId;
use registry::{BuildingId, ResidentId, UnitId};
use crate::domain::{CaseId, State};
use triage::Category;
use kernel::db::Db;
use kernel::query::{col, Alias, Cond, Order, Query};
use kernel::{AppError, AppResult};

/// What search looks in for a case: its report, its place as typed and its building's and
/// unit's names as the registry has them, folded.
pub fn search_text(text: &str, place: &str, building: &str) -> String {
    kernel::query::fold(&format!("{text} {place} {building}"))
}

/// The names of a building and unit, as one text (`翠微新村 3栋 2单元`), for search.
pub async fn building_words(db: &Db, building_id: Option<BuildingId>, unit_id: Option<UnitId>) -> AppResult<String> {
    let buildings = registry::places::building_names(&db.pool, &building_id.into_iter().collect::<Vec<_>>()).await?;
    let units = registry::places::unit_names(&db.pool, &unit_id.into_iter().collect::<Vec<_>>()).await?;
    let words: Vec<&str> = building_id.and_then(|b| buildings.get(&b)).into_iter().chain(unit_id.and_then(|u| units.get(&u))).map(String::as_str).collect();
    Ok(words.join(" "))
}

kernel::row! {
    struct Unfolded {
        id: i64,
        text: String,
        place: String,
        building_id: Option<BuildingId>,
        unit_id: Option<UnitId>,
    }
}

/// Fills `search_text` for cases filed before it was kept (or folded as it is now), 500 at a time.
pub async fn fill_search_text(db: &Db) -> AppResult<u64> {
    let mut done = 0;
    loop {
        let rows: Vec<Unfolded> = sqlx::query_as("SELECT id, text, place, building_id, unit_id FROM cases WHERE search_text IS NULL ORDER BY id LIMIT 500")
            .fetch_all(&db.pool)
            .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        let buildings = registry::places::building_names(&db.pool, &kernel::db::distinct_ids(rows.iter().filter_map(|r| r.building_id))).await?;
        let units = registry::places::unit_names(&db.pool, &kernel::db::distinct_ids(rows.iter().filter_map(|r| r.unit_id))).await?;
        let mut tx = db.begin_write().await?;
        for r in rows {
            let names: Vec<&str> = r.building_id.and_then(|b| buildings.get(&b)).into_iter().chain(r.unit_id.and_then(|u| units.get(&u))).map(String::as_str).collect();
            let folded = search_text(&r.text, &r.place, &names.join(" "));
            sqlx::query("UPDATE cases SET search_text = $1 WHERE id = $2").bind(folded).bind(r.id).execute(&mut *tx).await?;
            done += 1;
        }
        tx.commit().await?;
    }
}

/// Which public cases an Open311 client asks for; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct PublicRequests {
    /// These cases only (none: any).
    pub ids: Vec<i64>,
    /// Filed at or after (epoch ms).
    pub from: Option<i64>,
    /// Filed at or before (epoch ms).
    pub until: Option<i64>,
    /// One category.
    pub category: Option<Category>,
    /// Closed (with a result) or still open.
    pub closed: Option<bool>,
}

kernel::row! {
    struct PublicRequestRow {
        id: CaseId,
        state: String,
        category: String,
        created_at: i64,
        updated_at: i64,
        result_due: i64,
        building_id: Option<BuildingId>,
        lat_e6: Option<i64>,
        lng_e6: Option<i64>,
        first_response_at: Option<i64>,
    }
}

/// A public case as Open311 shows it.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    /// Case id.
    pub id: CaseId,
    /// Where it stands.
    pub state: State,
    /// What it is about.
    pub category: Category,
    /// Filed (epoch ms).
    pub created_at: i64,
    /// Last changed (epoch ms).
    pub updated_at: i64,
    /// When its result is due (epoch ms).
    pub result_due: i64,
    /// Its building.
    pub building_id: Option<BuildingId>,
    /// Latitude × 10⁶ as the phone gave it.
    pub lat_e6: Option<i64>,
    /// Longitude × 10⁶.
    pub lng_e6: Option<i64>,
    /// When staff first responded.
    pub first_response_at: Option<i64>,
}

/// The public cases of a community matching `filter` (never private or withdrawn ones), newest
/// first, at most 1,000.
pub async fn public_requests(db: &Db, community_id: CommunityId, filter: &PublicRequests) -> AppResult<Vec<PublicRequest>> {
    let mut only = Cond::all()
        .add(col("c", "community_id").eq(community_id))
        .add(col("c", "state").ne(State::Withdrawn.code()))
        .add(col("c", "private").eq(0));
    if !filter.ids.is_empty() {
        only = only.add(col("c", "id").is_in(filter.ids.iter().copied()));
    }
    if let Some(from) = filter.from {
        only = only.add(col("c", "created_at").gte(from));
    }
    if let Some(until) = filter.until {
        only = only.add(col("c", "created_at").lte(until));
    }
    if let Some(c) = filter.category {
        only = only.add(col("c", "category").eq(c.code()));
    }
    if let Some(closed) = filter.closed {
        let with_result: Vec<&str> = State::ALL.iter().filter(|st| st.has_result()).map(|st| st.code()).collect();
        only = only.add(if closed { col("c", "state").is_in(with_result) } else { col("c", "state").is_not_in(with_result) });
    }
    let mut q = Query::select();
    for column in ["id", "state", "category", "created_at", "updated_at", "result_due", "building_id", "lat_e6", "lng_e6", "first_response_at"] {
        q.column((Alias::new("c"), Alias::new(column)));
    }
    q.from_as(Alias::new("cases"), Alias::new("c")).cond_where(only).order_by((Alias::new("c"), Alias::new("id")), Order::Desc).limit(1000);
    let (sql, values) = db.build(&q);
    let rows: Vec<PublicRequestRow> = sqlx::query_as_with(&sql, values).fetch_all(&db.pool).await?;
    rows.into_iter()
        .map(|r| {
            Ok(PublicRequest {
                state: State::parse(&r.state).ok_or_else(|| AppError::internal(format!("stored state {}", r.state)))?,
                category: Category::parse(&r.category).ok_or_else(|| AppError::internal(format!("stored category {}", r.category)))?,
                id: r.id,
                created_at: r.created_at,
                updated_at: r.updated_at,
                result_due: r.result_due,
                building_id: r.building_id,
                lat_e6: r.lat_e6,
                lng_e6: r.lng_e6,
                first_response_at: r.first_response_at,
            })
        })
        .collect()
}

/// Cached ledger reads (figures and plan), per community: kept for the read cache's TTL,
/// forgotten at once by any case change in this process (ADR 005).
pub(crate) const FACTS: &str = "cases.ledger_facts";
pub(crate) const PLAN: &str = "cases.ledger_plan";
pub(crate) const FIRST_PAGE: &str = "cases.ledger_first_page";

/// Forgets a community's cached ledger when the transaction that changes its cases commits.
pub fn forget_ledger(tx: &mut kernel::db::WriteTx, community_id: CommunityId) {
    tx.forget_after_commit(FACTS, Some(community_id.get()));
    tx.forget_after_commit(PLAN, Some(community_id.get()));
    // Keyed by community and page size: forget them all.
    tx.forget_after_commit(FIRST_PAGE, None);
}

/// A new case's row, as filing writes it.
pub struct NewCaseRow<'a> {
    /// Its community.
    pub community_id: CommunityId,
    /// How it came in.
    pub source: crate::domain::Source,
    /// The account it follows as its author.
    pub author_user_id: Option<UserId>,
    /// Whether it names nobody.
    pub anonymous: bool,
    /// The hash of an anonymous case's private link.
    pub follow_token_hash: Option<String>,
    /// The report.
    pub text: &'a str,
    /// The place as typed.
    pub place: &'a str,
    /// Its building.
    pub building_id: Option<BuildingId>,
    /// Its unit.
    pub unit_id: Option<UnitId>,
    /// The building's and unit's names, for search.
    pub building_words: &'a str,
    /// Latitude and longitude × 10⁶.
    pub point: Option<(i64, i64)>,
    /// How it was classified.
    pub triage: &'a triage::Triage,
    /// Whether staff must classify it.
    pub triage_pending: bool,
    /// When its first response is due.
    pub first_response_due: i64,
    /// When its result is due.
    pub result_due: i64,
    /// Its idempotency key as stored.
    pub idempotency_key: Option<String>,
    /// The registry resident it was filed for.
    pub resident_id: Option<ResidentId>,
    /// The staff member who entered it.
    pub entered_by: Option<UserId>,
    /// Its assignee (also its owner).
    pub assignee_user_id: Option<UserId>,
    /// Filed at.
    pub created_at: i64,
}

/// Inserts a new case (state `new`) and returns its id; a used idempotency key is the
/// database's unique violation, for the caller to answer.
pub async fn insert_case(tx: &mut kernel::db::WriteTx, c: &NewCaseRow<'_>) -> Result<CaseId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cases (community_id, source, author_user_id, anonymous, follow_token_hash, text, place, building_id, urgency, category, \
         triage_reasons, state, first_response_due, result_due, idempotency_key, created_at, updated_at, unit_id, lat_e6, lng_e6, resident_id, \
         entered_by, owner_user_id, assignee_user_id, private, triage_pending, triage_model, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15, $15, $16, $17, $18, $19, $20, $21, $21, $22, $23, $24, $25) RETURNING id",
    )
    .bind(c.community_id)
    .bind(c.source.code())
    .bind(c.author_user_id)
    .bind(c.anonymous as i64)
    .bind(c.follow_token_hash.as_deref())
    .bind(c.text)
    .bind(c.place)
    .bind(c.building_id)
    .bind(c.triage.urgency.code())
    .bind(c.triage.category.code())
    .bind(serde_json::to_string(&c.triage.reasons).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
    .bind(c.first_response_due)
    .bind(c.result_due)
    .bind(c.idempotency_key.as_deref())
    .bind(c.created_at)
    .bind(c.unit_id)
    .bind(c.point.map(|p| p.0))
    .bind(c.point.map(|p| p.1))
    .bind(c.resident_id)
    .bind(c.entered_by)
    .bind(c.assignee_user_id)
    // Care for elders and the disabled is about a person: off the public ledger unless staff
    // decide otherwise.
    .bind((c.triage.category == Category::Care) as i64)
    .bind(c.triage_pending as i64)
    .bind(&c.triage.model)
    .bind(search_text(c.text, c.place, c.building_words))
    .fetch_one(&mut **tx)
    .await
}
