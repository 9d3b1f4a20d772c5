//! Reading cases: one or many as staff or as the resident see them, the reporter behind a case,
//! a resident's and a family's cases.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::{BuildingId, ResidentId, UnitId};
use crate::domain::{CASES_HANDLE, CaseId, ClockState, State, clock_state_paused};
use crate::photos::Photo;
use kernel::crypto::hash_token;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::Serialize;
use triage::{Category, Urgency};
use super::record::{event, load, load_for_staff, parse_urgency, speaks_for, within_reach};

/// One step on a case's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// When (epoch ms).
    pub at: i64,
    /// `filed`, `moved`, `clock_warning`, `clock_breached`.
    pub kind: String,
    /// State after the step.
    pub state: Option<State>,
    /// What was said.
    pub note: String,
    /// Who, by role (names of residents are never shown on the timeline).
    pub by: String,
}

/// A case as its reader may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// Id.
    pub id: CaseId,
    /// Community id.
    pub community_id: CommunityId,
    /// Channel.
    pub source: String,
    /// Filed without a name.
    pub anonymous: bool,
    /// The filer's name: only for staff, and never for an anonymous case.
    pub author: Option<String>,
    /// The report.
    pub text: String,
    /// Where.
    pub place: String,
    /// Building id.
    pub building_id: Option<BuildingId>,
    /// Building name.
    pub building: Option<String>,
    /// Unit id.
    pub unit_id: Option<UnitId>,
    /// Unit name.
    pub unit: Option<String>,
    /// Map point (latitude, longitude), if one was given.
    pub point: Option<(f64, f64)>,
    /// For staff: the resident a staff-side report was filed for.
    pub for_resident: Option<String>,
    /// For staff: who entered it (staff or grid worker), by name.
    pub entered_by: Option<String>,
    /// Who is working on it (user id).
    pub assignee_id: Option<UserId>,
    /// Their name (staff view).
    pub assignee: Option<String>,
    /// Who it was first assigned to: they stay accountable when it moves on (staff view).
    pub owner: Option<String>,
    /// 0 = with its assignee, 1 = escalated to the staff on duty, 2 = to the community head.
    pub escalation_level: i64,
    /// The case this one was merged into, for a duplicate.
    pub parent_id: Option<CaseId>,
    /// Waiting on the resident since (epoch ms): the clocks are stopped.
    pub paused_since: Option<i64>,
    /// Kept off the public ledger and Open311.
    pub private: bool,
    /// For staff: the classifier could not read the report; a person must classify it.
    pub triage_pending: bool,
    /// For staff: the version of the model that classified it (none when it was entered by hand
    /// or filed before models were versioned).
    pub triage_model: Option<String>,
    /// Photos, before and after.
    pub photos: Vec<Photo>,
    /// Urgency.
    pub urgency: Urgency,
    /// Category.
    pub category: Category,
    /// The words that decided the triage.
    #[schema(value_type = Vec<Object>)]
    pub reasons: serde_json::Value,
    /// State.
    pub state: State,
    /// First response due (epoch ms).
    pub first_response_due: i64,
    /// Result due (epoch ms).
    pub result_due: i64,
    /// Where the first-response clock stands.
    pub first_response_clock: ClockState,
    /// Where the result clock stands.
    pub result_clock: ClockState,
    /// Filed at (epoch ms).
    pub created_at: i64,
    /// Timeline, oldest first.
    pub events: Vec<Event>,
}

/// How staff reach the person a case is from.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    /// The phone number with its middle hidden (138****5678); empty when none is known.
    pub masked: String,
    /// The whole number, only once asked for (and recorded on the case's timeline).
    pub phone: Option<String>,
    /// Their registry record, when they are in the registry.
    pub resident_id: Option<ResidentId>,
}

/// How to reach the person case `id` is from: the resident it was filed for, else its author.
/// `None` for an anonymous case. The whole number is shown only on request (`reveal`), as an
/// ID number is, and the request stays on the staff timeline.
pub async fn reporter(state: &AppState, p: &Principal, id: CaseId, reveal: bool) -> AppResult<Option<Reporter>> {
    let case = load_for_staff(state, p, id).await?;
    if case.anonymous {
        return Ok(None);
    }
    let from_registry: Option<(String, ResidentId)> = match case.resident {
        Some(r) => registry::people::contact(&state.db.pool, r).await?.map(|r| (r.phone, r.id)),
        None => None,
    };
    let from_login: Option<(String, Option<ResidentId>)> = match case.author {
        Some(a) => {
            let phone = kernel::people::contact(&state.db.pool, a).await?.map(|c| c.phone);
            let resident = registry::people::of_login(&state.db.pool, a).await?.into_iter().find(|r| r.community_id == case.community_id).map(|r| r.id);
            phone.map(|p| (p, resident))
        }
        None => None,
    };
    let resident_id = from_registry.as_ref().map(|r| r.1).or(from_login.as_ref().and_then(|l| l.1));
    let phone = from_registry
        .map(|r| r.0)
        .filter(|p| !p.is_empty())
        .or(from_login.map(|l| l.0))
        .unwrap_or_default();
    let shown = reveal && !phone.is_empty();
    if shown {
        let mut tx = state.db.begin_write().await?;
        event(&mut tx, id, state.now(), p.user_id, "phone_shown", None, "").await?;
        tx.commit().await?;
    }
    Ok(Some(Reporter {
        masked: if phone.is_empty() { String::new() } else { kernel::crypto::mask_phone(&phone) },
        phone: shown.then_some(phone),
        resident_id,
    }))
}

/// The registry resident of `community_id` with the phone number typed on the staff side's
/// quick report (spaces, dashes and wide digits allowed). A grid worker finds only the residents
/// of the buildings in their grids: anyone else is answered as an unknown number is.
pub async fn resident_by_phone(
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    typed: &str,
) -> AppResult<ResidentId> {
    let unknown = || AppError::field("resident_phone", "resident_phone_unknown");
    let phone = kernel::crypto::PhoneNumber::parse(typed)
        .map_err(|code| AppError::field("resident_phone", code))?;
    if !p.can(community_id, &CASES_HANDLE) {
        return Err(unknown());
    }
    let found: Vec<(ResidentId, Option<BuildingId>)> = registry::people::with_phone(&state.db.pool, community_id, phone.as_str())
        .await?
        .into_iter()
        .map(|r| (r.id, r.building_id))
        .collect();
    let reach = registry::places::buildings_in_reach(state, p, community_id).await?;
    found
        .into_iter()
        .find(|(_, building)| match &reach {
            None => true,
            Some(buildings) => building.is_some_and(|b| buildings.contains(&b)),
        })
        .map(|(id, _)| id)
        .ok_or_else(unknown)
}

/// The case as staff (`staff = true`) or its author sees it.
pub async fn view(state: &AppState, id: CaseId, staff: bool) -> AppResult<CaseView> {
    views(state, &[id], staff)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The timeline entries a filer sees.
pub(crate) const RESIDENT_EVENTS: &[&str] = &[
    "filed",
    "moved",
    "author_moved",
    "noted",
    "waiting",
    "resumed",
    "rated",
    "merged_in",
];

/// Several cases, in the order of `ids`, in three queries whatever their number.
pub async fn views(state: &AppState, ids: &[CaseId], staff: bool) -> AppResult<Vec<CaseView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    kernel::row! {
        struct ViewRow {
            id: CaseId,
            community_id: CommunityId,
            source: String,
            anonymous: i64,
            author_user_id: Option<UserId>,
            text: String,
            place: String,
            building_id: Option<BuildingId>,
            unit_id: Option<UnitId>,
            resident_id: Option<ResidentId>,
            urgency: String,
            category: String,
            triage_reasons: String,
            state: String,
            first_response_due: i64,
            result_due: i64,
            first_response_at: Option<i64>,
            resolved_at: Option<i64>,
            created_at: i64,
            lat_e6: Option<i64>,
            lng_e6: Option<i64>,
            entered_by: Option<UserId>,
            assignee_user_id: Option<UserId>,
            owner_user_id: Option<UserId>,
            escalation_level: i64,
            parent_case_id: Option<CaseId>,
            paused_at: Option<i64>,
            private: i64,
            triage_pending: i64,
            triage_model: Option<String>,
        }
    }
    kernel::row! {
        struct EventRow {
            case_id: CaseId,
            at: i64,
            kind: String,
            state: Option<String>,
            note: String,
            actor_user_id: Option<UserId>,
        }
    }
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "SELECT c.id, c.community_id, c.source, c.anonymous, c.author_user_id, c.text, c.place, \
         c.building_id, c.unit_id, c.resident_id, c.urgency, c.category, c.triage_reasons, c.state, c.first_response_due, c.result_due, \
         c.first_response_at, c.resolved_at, c.created_at, c.lat_e6, c.lng_e6, c.entered_by, c.assignee_user_id, c.owner_user_id, \
         c.escalation_level, c.parent_case_id, c.paused_at, c.private, c.triage_pending, c.triage_model \
         FROM cases c WHERE {}",
        kernel::db::in_list("c.id", ids)
    ))
    .fetch_all(&state.db.pool)
    .await?;
    let events: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT e.case_id, e.at, e.kind, e.state, e.note, e.actor_user_id FROM case_events e WHERE {} ORDER BY e.id",
        kernel::db::in_list("e.case_id", ids)
    ))
    .fetch_all(&state.db.pool)
    .await?;
    let photos = crate::photos::of_cases(state, ids, false).await?;
    let buildings = registry::places::building_names(&state.db.pool, &kernel::db::distinct_ids(rows.iter().filter_map(|r| r.building_id))).await?;
    let units = registry::places::unit_names(&state.db.pool, &kernel::db::distinct_ids(rows.iter().filter_map(|r| r.unit_id))).await?;
    let residents = registry::people::contacts(&state.db.pool, &kernel::db::distinct_ids(rows.iter().filter_map(|r| r.resident_id))).await?;
    let people = kernel::db::distinct_ids(rows.iter().flat_map(|r| [r.author_user_id, r.entered_by, r.assignee_user_id, r.owner_user_id]).flatten());
    let names = kernel::people::names(&state.db.pool, &people).await?;
    let name_of = |id: Option<UserId>| id.and_then(|u| names.get(&u).cloned());
    let now = state.now();
    let mut out = Vec::with_capacity(rows.len());
    for &id in ids {
        let Some(r) = rows.iter().find(|r| r.id == id) else {
            continue;
        };
        let anonymous = r.anonymous != 0;
        let staff_only = |v: &Option<String>| if staff { v.clone() } else { None };
        let state = State::parse(&r.state).ok_or_else(|| AppError::internal(format!("stored state {}", r.state)))?;
        let resident = r.resident_id.and_then(|id| residents.get(&id));
        let mut case_events = Vec::new();
        for e in events.iter().filter(|e| e.case_id == id) {
            // The filer sees the steps and what staff told them, not the office's own
            // workings (assignment, escalation, corrections, redactions).
            if !staff && !RESIDENT_EVENTS.contains(&e.kind.as_str()) {
                continue;
            }
            let state = match &e.state {
                Some(s) => Some(State::parse(s).ok_or_else(|| AppError::internal(format!("stored event state {s}")))?),
                None => None,
            };
            case_events.push(Event {
                at: e.at,
                kind: e.kind.clone(),
                state,
                note: e.note.clone(),
                by: if e.actor_user_id.is_some() { "staff".into() } else { "filer_or_system".into() },
            });
        }
        out.push(CaseView {
            id,
            community_id: r.community_id,
            source: r.source.clone(),
            anonymous,
            author: if staff && !anonymous { name_of(r.author_user_id) } else { None },
            text: r.text.clone(),
            place: r.place.clone(),
            building_id: r.building_id,
            building: r.building_id.and_then(|b| buildings.get(&b).cloned()),
            unit_id: r.unit_id,
            unit: r.unit_id.and_then(|u| units.get(&u).cloned()),
            point: match (r.lat_e6, r.lng_e6) {
                (Some(a), Some(b)) => Some((a as f64 / 1e6, b as f64 / 1e6)),
                _ => None,
            },
            // Someone who reports for themself is not shown as reporting "for" or "entering"
            // it for themself.
            for_resident: match resident {
                Some(res) if !anonymous && !(res.user_id.is_some() && res.user_id == r.entered_by) => staff_only(&Some(res.name.clone())),
                _ => None,
            },
            entered_by: if r.entered_by.is_some() && r.entered_by == r.author_user_id { None } else { staff_only(&name_of(r.entered_by)) },
            assignee_id: if staff { r.assignee_user_id } else { None },
            assignee: staff_only(&name_of(r.assignee_user_id)),
            owner: staff_only(&name_of(r.owner_user_id)),
            escalation_level: if staff { r.escalation_level } else { 0 },
            parent_id: r.parent_case_id,
            paused_since: r.paused_at,
            private: r.private != 0,
            triage_pending: staff && r.triage_pending != 0,
            triage_model: staff_only(&r.triage_model),
            photos: photos.iter().filter(|(c, _)| *c == id).map(|(_, p)| p.clone()).collect(),
            urgency: parse_urgency(&r.urgency)?,
            category: Category::parse(&r.category).ok_or_else(|| AppError::internal(format!("stored category {}", r.category)))?,
            reasons: serde_json::from_str(&r.triage_reasons).map_err(|e| AppError::internal(format!("stored triage reasons: {e}")))?,
            state,
            first_response_due: r.first_response_due,
            result_due: r.result_due,
            first_response_clock: clock_state_paused(r.created_at, r.first_response_due, r.first_response_at, r.paused_at, now).for_case(state),
            result_clock: clock_state_paused(r.created_at, r.result_due, r.resolved_at, r.paused_at, now).for_case(state),
            created_at: r.created_at,
            events: case_events,
        });
    }
    Ok(out)
}

/// Checks that `p` may handle case `id`; to anyone else it does not exist.
pub async fn ensure_within_reach(state: &AppState, p: &Principal, id: CaseId) -> AppResult<()> {
    load_for_staff(state, p, id).await.map(|_| ())
}

/// A case as staff see it, for someone who may handle it; to anyone else it does not exist.
pub async fn read_as_staff(state: &AppState, p: &Principal, id: CaseId) -> AppResult<CaseView> {
    load_for_staff(state, p, id).await?;
    view(state, id, true).await
}

/// A case for a logged-in reader: staff of its community, or its named author.
pub async fn read(state: &AppState, p: &Principal, id: CaseId) -> AppResult<CaseView> {
    let case = load(state, id).await?;
    if within_reach(state, p, &case).await? {
        return view(state, id, true).await;
    }
    if speaks_for(state, p, &case).await? {
        return view(state, id, false).await;
    }
    Err(AppError::NotFound)
}

/// Whether `p` filed case `id` under their name, or it was filed for them (and so may rate it
/// and move it as its author).
pub async fn is_author(state: &AppState, p: &Principal, id: CaseId) -> AppResult<bool> {
    let case = load(state, id).await?;
    speaks_for(state, p, &case).await
}

/// The case behind an anonymous author's private link.
pub async fn by_follow_token(state: &AppState, token: &str) -> AppResult<CaseId> {
    if token.len() > 64 {
        return Err(AppError::NotFound);
    }
    sqlx::query_scalar("SELECT id FROM cases WHERE follow_token_hash = $1")
        .bind(hash_token(token))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// The service level a report of `urgency` is promised before it is classified: the
/// community's policy for that urgency whatever the category, else the default.
pub async fn promised(state: &AppState, community_id: CommunityId, urgency: Urgency) -> AppResult<crate::domain::Sla> {
    kernel::row! {
        /// A community's service level for an urgency, as stored.
        struct Level {
            first_response_minutes: i64,
            result_minutes: i64,
            working_hours: i64,
        }
    }
    let row: Option<Level> = sqlx::query_as(
        "SELECT first_response_minutes, result_minutes, working_hours FROM sla_policies WHERE community_id = $1 AND urgency = $2 AND category = ''",
    )
    .bind(community_id)
    .bind(urgency.code())
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(match row {
        Some(level) => crate::domain::Sla {
            first_response_ms: level.first_response_minutes * kernel::clock::MINUTE,
            result_ms: level.result_minutes * kernel::clock::MINUTE,
            working_hours: level.working_hours != 0,
        },
        None => crate::domain::default_sla(urgency),
    })
}

/// The cases a person filed under their name or that were filed for them (by family, say),
/// each once, newest first.
pub async fn mine(state: &AppState, user_id: UserId) -> AppResult<Vec<CaseView>> {
    let residents: Vec<ResidentId> = registry::people::of_login(&state.db.pool, user_id).await?.into_iter().map(|r| r.id).collect();
    let ids: Vec<CaseId> = sqlx::query_scalar(&format!(
        "SELECT c.id FROM cases c WHERE c.author_user_id = $1 OR (c.anonymous = 0 AND {}) ORDER BY c.id DESC LIMIT 100",
        kernel::db::in_list("c.resident_id", &residents)
    ))
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?;
    views(state, &ids, false).await
}

/// Every elder `p` is bound to, each with her cases as she sees them.
pub async fn elders_with_cases(state: &AppState, p: &Principal) -> AppResult<Vec<(registry::family::Elder, Vec<CaseView>)>> {
    let uid = p.person()?;
    let mut out = Vec::new();
    for elder in registry::family::elders_of(state, uid).await? {
        let ids = crate::family::case_ids(state, &elder).await?;
        out.push((elder, views(state, &ids, false).await?));
    }
    Ok(out)
}

/// One case of an elder `p` is bound to, as she sees it; any other case does not exist.
pub async fn elder_case(state: &AppState, p: &Principal, case_id: CaseId) -> AppResult<(registry::family::Elder, CaseView)> {
    let uid = p.person()?;
    for elder in registry::family::elders_of(state, uid).await? {
        if crate::family::case_ids(state, &elder).await?.contains(&case_id) {
            return Ok((elder, view(state, case_id, false).await?));
        }
    }
    Err(AppError::NotFound)
}
