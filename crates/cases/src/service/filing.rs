//! Filing a case: checked words, who files for whom, where, triage, clocks and routing, photos,
//! then one transaction — deduplicated by an idempotency key; an anonymous case stores no link
//! to its author, who follows it with a private token.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::{BuildingId, ResidentId, UnitId};
use crate::domain::{CASES_HANDLE, CaseId, Source, State};
use crate::clocks::{enqueue_clocks, Clock};
use crate::classify::triage_in;
use crate::photos::{Ready, Stage};
use kernel::crypto::{hash_token, random_token};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use kernel::web::ClientIp;
use notify::Channel;
use serde::{Deserialize, Serialize};
use triage::{Category, Urgency};
use super::record::{alert, critical_facts, event, parse_urgency};

/// What someone reports.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    /// What is wrong or needed (required).
    pub text: String,
    /// Where: free text (a building is better).
    #[serde(default)]
    pub place: String,
    /// The building, if known.
    pub building_id: Option<BuildingId>,
    /// The unit (entrance) of the building, if known; implies the building.
    pub unit_id: Option<UnitId>,
    /// A map point: latitude in degrees (WGS-84).
    pub lat: Option<f64>,
    /// A map point: longitude in degrees.
    pub long: Option<f64>,
    /// Staff and grid workers filing for a resident: the resident's registry id (their account,
    /// if any, then follows the case). Without it a staff-side report is filed as the community's.
    /// Family bound to an elder (a confirmed binding) may name her too: the case is hers, and
    /// they stay its author.
    pub resident_id: Option<ResidentId>,
    /// File without a name: staff never see who filed it.
    #[serde(default)]
    pub anonymous: bool,
    /// Channel; residents file as `resident`, staff may record other channels.
    pub source: Option<Source>,
    /// A resubmitted form with the same key files nothing new.
    pub idempotency_key: Option<String>,
    /// The filer says someone's life or safety is in danger right now: the case is critical
    /// whatever the triage reads.
    #[serde(default)]
    pub danger_now: bool,
}

/// The answer to a filing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Filed {
    /// Case id.
    pub id: CaseId,
    /// Classified urgency.
    pub urgency: Urgency,
    /// Classified category.
    pub category: Category,
    /// For an anonymous case: the private link to follow it (shown once).
    pub follow_token: Option<String>,
}

/// An idempotency key as stored: scoped to whoever sent it (a user, or anonymous senders), so
/// a key someone else used neither finds their case nor stops this report. An anonymous
/// filing's key names nobody, whoever is logged in.
pub(crate) fn scoped_key(filer: Option<&Principal>, anonymous: bool, key: &str) -> String {
    match (
        filer.and_then(|p| p.user_id).filter(|_| !anonymous),
        filer.and_then(|p| p.api_key_id),
    ) {
        (Some(uid), _) => format!("u{uid}:{key}"),
        (None, Some(api_key)) => format!("k{api_key}:{key}"),
        (None, None) => format!("a:{key}"),
    }
}

/// How a scoped key is kept: a keyed hash, so that the database (even with the secret key)
/// does not hold what would rebuild an anonymous case's private link.
pub(crate) fn stored_key(state: &AppState, scoped: &str) -> String {
    state.cipher.blind_index(&format!("case-key:{scoped}"))
}

/// The private link of an anonymous case filed with an idempotency key: derived from the key,
/// so a retry of the same filing gets the same link back (the key is the sender's secret).
pub(crate) fn follow_token_for(state: &AppState, community_id: CommunityId, scoped_key: &str) -> String {
    state
        .cipher
        .blind_index(&format!("case-follow:{community_id}:{scoped_key}"))
}

/// The case already filed by this sender with this idempotency key, if any.
pub async fn filed_with_key(
    state: &AppState,
    filer: Option<&Principal>,
    anonymous: bool,
    community_id: CommunityId,
    key: &str,
) -> AppResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM cases WHERE community_id = $1 AND idempotency_key = $2")
            .bind(community_id)
            .bind(stored_key(state, &scoped_key(filer, anonymous, key.trim())))
            .fetch_optional(&state.db.pool)
            .await?,
    )
}

/// The private link of the anonymous report filed with `key`, if there is one: the key is the
/// sender's secret, from which the link was derived.
pub async fn anonymous_link(state: &AppState, community_id: CommunityId, key: &str) -> AppResult<Option<String>> {
    let scoped = scoped_key(None, true, key.trim());
    Ok(filed_with_key(state, None, true, community_id, key)
        .await?
        .map(|_| format!("/cases/follow/{}", follow_token_for(state, community_id, &scoped))))
}

/// The answer given to the filing that stored `key`, for a retry of it. The same key with other
/// words is not a retry: it is refused, so the new report is not silently dropped.
pub(crate) async fn earlier_filing(
    state: &AppState,
    community_id: CommunityId,
    key: &str,
    text: &str,
) -> AppResult<Option<Filed>> {
    kernel::row! {
        /// The case filed with a key.
        struct Earlier {
            id: CaseId,
            urgency: String,
            category: String,
            text: String,
            anonymous: i64,
        }
    }
    let existing: Option<Earlier> = sqlx::query_as("SELECT id, urgency, category, text, anonymous FROM cases WHERE community_id = $1 AND idempotency_key = $2")
        .bind(community_id)
        .bind(stored_key(state, key))
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(r) = existing else { return Ok(None) };
    if r.text != text {
        return Err(AppError::field("idempotency_key", "key_reused"));
    }
    let category = r.category;
    Ok(Some(Filed {
        id: r.id,
        urgency: parse_urgency(&r.urgency)?,
        category: Category::parse(&category)
            .ok_or_else(|| AppError::internal(format!("stored category {category}")))?,
        follow_token: (r.anonymous != 0).then(|| follow_token_for(state, community_id, key)),
    }))
}

/// Reports one network address may file without an account, per hour: enough for a household
/// or a community centre's Wi-Fi, not for a script.
pub const VISITOR_REPORTS: kernel::quota::Budget = kernel::quota::Budget {
    name: "visitor_report",
    limit: 20,
    window_ms: 3_600_000,
};

/// Admits a report from a visitor who is not logged in, before any costly work on it (decoding
/// its photos, filing it): their address spends one of [`VISITOR_REPORTS`], unless the report
/// is a retry of one already filed. Everyone logged in is admitted as they are.
pub async fn admit(
    state: &AppState,
    filer: Option<&Principal>,
    from: &ClientIp,
    community_id: CommunityId,
    new: &NewCase,
) -> AppResult<()> {
    if filer.is_some() {
        return Ok(());
    }
    if let Some(key) = new
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        if filed_with_key(state, None, true, community_id, key)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    match kernel::quota::spend(state, &VISITOR_REPORTS, &from.0).await {
        // A report of someone in danger is not turned away because others at the same address
        // (a mobile network's shared address, a building's Wi-Fi) used the hour's budget: it
        // has a larger budget of its own, so that only a flood is refused.
        Err(AppError::TooManyRequests { .. }) if new.danger_now => kernel::quota::spend(state, &VISITOR_DANGER_REPORTS, &from.0).await,
        spent => spent,
    }
}

/// Reports of someone in danger one network address may file without an account per hour,
/// once its [`VISITOR_REPORTS`] are spent.
pub const VISITOR_DANGER_REPORTS: kernel::quota::Budget = kernel::quota::Budget {
    name: "visitor_danger_report",
    limit: 200,
    window_ms: 3_600_000,
};

/// Files a case in community `community_id` with its photos. `filer` is `None` for a visitor
/// who is not logged in (then the case must be anonymous, and [`admit`] must have let it in).
pub async fn file(
    state: &AppState,
    filer: Option<&Principal>,
    community_id: CommunityId,
    new: &NewCase,
    photos: &[Ready],
) -> AppResult<Filed> {
    file_with_kept(state, filer, community_id, new, photos, Vec::new()).await
}

/// Files a case as [`file`] does, with `kept` photos (already stored with the report's draft,
/// see [`crate::draft`]) before the new ones; the draft of the report's key ends with it.
pub async fn file_with_kept(
    state: &AppState,
    filer: Option<&Principal>,
    community_id: CommunityId,
    new: &NewCase,
    photos: &[Ready],
    kept: Vec<crate::photos::Stored>,
) -> AppResult<Filed> {
    let words = Words::checked(filer, new)?;
    let who = Reporting::of(state, filer, community_id, new).await?;
    if let Some(k) = &words.key {
        if let Some(filed) = earlier_filing(state, community_id, k, &words.text).await? {
            return Ok(filed);
        }
    }
    let place = Whereabouts::checked(state, community_id, new).await?;
    let t = triaged(state, community_id, &words.text, new.danger_now).await?;
    let now = state.now();
    let plan = Plan::for_case(state, community_id, now, &t.triage, place.building_id).await?;
    let follow_token = new.anonymous.then(|| match &words.key {
        Some(k) => follow_token_for(state, community_id, k),
        None => random_token(24),
    });
    // Photos are stored before the write transaction: no network in it (ADR 002).
    if kept.len() + photos.len() > crate::photos::MAX_PHOTOS {
        return Err(crate::photos::too_many());
    }
    let mut stored: Vec<crate::photos::Stored> = kept.into_iter().map(|p| if new.anonymous { p.without_original() } else { p }).collect();
    stored.extend(crate::photos::store(state, photos, new.anonymous).await?);
    let building_words = crate::store::building_words(&state.db, place.building_id, new.unit_id).await?;
    let mut tx = state.db.begin_write().await?;
    let row = crate::store::NewCaseRow {
        community_id,
        source: who.source,
        author_user_id: who.author,
        anonymous: new.anonymous,
        follow_token_hash: follow_token.as_deref().map(hash_token),
        text: &words.text,
        place: &words.place,
        building_id: place.building_id,
        unit_id: new.unit_id,
        building_words: &building_words,
        point: place.point,
        triage: &t.triage,
        triage_pending: t.pending,
        first_response_due: plan.first_due,
        result_due: plan.result_due,
        idempotency_key: words.key.as_deref().map(|k| stored_key(state, k)),
        resident_id: new.resident_id,
        entered_by: who.entered_by,
        assignee_user_id: plan.assignee,
        created_at: now,
    };
    let id = match crate::store::insert_case(&mut tx, &row).await {
        Ok(id) => id,
        Err(e) => {
            let e = AppError::from(e).on_conflict("idempotency_key", "taken");
            // A parallel retry of the same filing stored the key first: answer as it was answered.
            if let (Some(k), AppError::Conflict { .. }) = (&words.key, &e) {
                drop(tx);
                if let Some(filed) = earlier_filing(state, community_id, k, &words.text).await? {
                    return Ok(filed);
                }
            }
            return Err(e);
        }
    };
    event(&mut tx, id, now, None, "filed", Some(State::New), "").await?;
    let filed = crate::events::CaseFiled {
        case_id: id,
        urgency: t.triage.urgency,
        category: t.triage.category,
        resident_id: new.resident_id.filter(|_| !new.anonymous),
        author_user_id: who.author,
    };
    kernel::events::publish(state, &mut tx, now, Some(community_id), &filed).await?;
    if let Some(k) = new.idempotency_key.as_deref().filter(|k| !k.trim().is_empty()) {
        crate::draft::end(&mut tx, state, community_id, k).await?;
    }
    // An anonymous report's photos record no uploader.
    let uploader = if new.anonymous { None } else { filer.and_then(|p| p.user_id) };
    crate::photos::attach(state, &mut tx, id, community_id, uploader, Stage::Before, false, &stored).await?;
    let clocks = [(Clock::FirstResponse, now, plan.first_due), (Clock::Result, now, plan.result_due)];
    enqueue_clocks(&mut tx, now, id, &clocks).await?;
    alert_on_filing(state, &mut tx, now, community_id, id, &t.triage, new.danger_now, &place, &who, plan.assignee).await?;
    crate::store::forget_ledger(&mut tx, community_id);
    tx.commit().await?;
    Ok(Filed { id, urgency: t.triage.urgency, category: t.triage.category, follow_token })
}

/// A report's words, checked: its text and place (bidi controls removed, lengths held) and its
/// idempotency key scoped to who sends it.
struct Words {
    text: String,
    place: String,
    key: Option<String>,
}

impl Words {
    fn checked(filer: Option<&Principal>, new: &NewCase) -> AppResult<Words> {
        // Bidi controls could make what staff read run in another order than what was typed.
        let text = kernel::validate::without_bidi_controls(&new.text);
        let text = kernel::validate::required_multiline("text", &text, 2000)?.to_string();
        let place = kernel::validate::without_bidi_controls(&new.place);
        let place = kernel::validate::at_most("place", &place, 100)?.to_string();
        let key = match new.idempotency_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Some(scoped_key(filer, new.anonymous, kernel::validate::at_most("idempotency_key", k, 100)?)),
            None => None,
        };
        Ok(Words { text, place, key })
    }
}

/// Who files and for whom: the source (a resident's own report, or staff entering one from the
/// phone or a visit), its author and who entered it.
struct Reporting {
    source: Source,
    /// The account the case follows as its author (none when anonymous or staff-entered
    /// without a resident).
    author: Option<UserId>,
    /// The staff member who entered it for someone.
    entered_by: Option<UserId>,
}

impl Reporting {
    async fn of(state: &AppState, filer: Option<&Principal>, community_id: CommunityId, new: &NewCase) -> AppResult<Reporting> {
        let source = new.source.unwrap_or(Source::Resident);
        let staff_side = filer.is_some_and(|p| p.can(community_id, &CASES_HANDLE));
        if source != Source::Resident && !staff_side {
            return Err(AppError::field("source", "invalid_choice"));
        }
        // Family bound to an elder (a confirmed binding) may report for her too.
        let for_family = match new.resident_id {
            Some(r) if !staff_side => crate::family::may_file_for(state, filer, community_id, r).await?,
            _ => false,
        };
        if new.resident_id.is_some() && ((!staff_side && !for_family) || new.anonymous) {
            // Filing for a named resident and keeping them anonymous cannot both hold.
            return Err(AppError::field("resident_id", "invalid_choice"));
        }
        if filer.is_none() && !new.anonymous {
            return Err(AppError::Unauthorized);
        }
        let mut author = if new.anonymous { None } else { filer.and_then(|p| p.user_id) };
        let mut entered_by = None;
        if staff_side && source != Source::Resident {
            entered_by = filer.and_then(|p| p.user_id);
            author = None;
        }
        if let Some(r) = new.resident_id {
            let found = registry::people::contact(&state.db.pool, r).await?.filter(|c| c.community_id == community_id);
            let user = found.ok_or_else(|| AppError::field("resident_id", "not_found_ref"))?.user_id;
            // Family reporting for an elder stay its author; staff hand it to the resident's account.
            if !for_family {
                entered_by = filer.and_then(|p| p.user_id);
                author = if new.anonymous { None } else { user };
            }
        }
        Ok(Reporting { source, author, entered_by })
    }
}

/// Where the problem is: a building of the community (from the unit when one is given) and a
/// map point, each checked.
struct Whereabouts {
    building_id: Option<BuildingId>,
    /// Latitude and longitude × 10⁶.
    point: Option<(i64, i64)>,
}

impl Whereabouts {
    async fn checked(state: &AppState, community_id: CommunityId, new: &NewCase) -> AppResult<Whereabouts> {
        let mut building_id = new.building_id;
        if let Some(u) = new.unit_id {
            let b = registry::places::building_of_unit(&state.db.pool, community_id, u).await?;
            let b = b.ok_or_else(|| AppError::field("unit_id", "not_found_ref"))?;
            if building_id.is_some_and(|given| given != b) {
                return Err(AppError::field("unit_id", "not_found_ref"));
            }
            building_id = Some(b);
        }
        if let Some(b) = building_id {
            if !registry::places::is_building_of(&state.db.pool, community_id, b).await? {
                return Err(AppError::field("building_id", "not_found_ref"));
            }
        }
        let point = match (new.lat, new.long) {
            (None, None) => None,
            (Some(lat), Some(long)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long) => {
                Some(((lat * 1e6).round() as i64, (long * 1e6).round() as i64))
            }
            _ => return Err(AppError::field("lat", "out_of_range")),
        };
        Ok(Whereabouts { building_id, point })
    }
}

/// A report's triage as it is filed, and whether staff must classify it (待人工分类).
struct Triaged {
    triage: triage::Triage,
    pending: bool,
}

/// Classifies a report for filing. Unsure answers go to staff to classify, as failures do; so
/// does a critical answer not sure enough to alert everyone, which the staff on duty are asked
/// to confirm. A person who says lives are at risk is believed (staff can correct it later).
async fn triaged(state: &AppState, community_id: CommunityId, text: &str, danger_now: bool) -> AppResult<Triaged> {
    let (mut t, failed) = triage_in(state, community_id, text).await?;
    let pending = failed || t.to_review || (t.urgency == Urgency::Critical && !t.alerts_everyone() && !danger_now);
    if danger_now && t.urgency != Urgency::Critical {
        t.urgency = Urgency::Critical;
        t.reasons.insert(0, triage::Reason { phrase: "danger_now".into(), supports: "urgency:critical".into() });
    }
    Ok(Triaged { triage: t, pending })
}

/// When a case is due and who works on it: its service level's clocks (in working hours when
/// the level says so) and the routed assignee.
struct Plan {
    first_due: i64,
    result_due: i64,
    assignee: Option<UserId>,
}

impl Plan {
    async fn for_case(state: &AppState, community_id: CommunityId, now: i64, t: &triage::Triage, building_id: Option<BuildingId>) -> AppResult<Plan> {
        let sla = crate::policy::sla_for(state, community_id, t.urgency, t.category).await?;
        let first_due = crate::policy::due(state, community_id, now, sla.first_response_ms, sla.working_hours).await?;
        let result_due = crate::policy::due(state, community_id, now, sla.result_ms, sla.working_hours).await?;
        let assignee = crate::policy::route(state, community_id, t.category, building_id).await?;
        Ok(Plan { first_due, result_due, assignee })
    }
}

/// Who hears of a new case at once: its assignee in the inbox; for a critical one the staff on
/// duty by text, wherever they are. When the person said lives are at risk, or the triage is
/// sure, the assignee is texted too; an unsure critical triage texts the staff on duty only,
/// asking them to confirm it.
#[allow(clippy::too_many_arguments)]
async fn alert_on_filing(
    state: &AppState,
    tx: &mut WriteTx,
    now: i64,
    community_id: CommunityId,
    id: CaseId,
    t: &triage::Triage,
    danger_now: bool,
    place: &Whereabouts,
    who: &Reporting,
    assignee: Option<UserId>,
) -> AppResult<()> {
    if let Some(a) = assignee {
        alert(tx, now, community_id, id, &[a], "case_assigned", "filed", &[], Channel::Inbox).await?;
    }
    if t.urgency != Urgency::Critical {
        return Ok(());
    }
    let sure = danger_now || t.alerts_everyone();
    let whereabouts = crate::reach::Whereabouts { building: place.building_id, entered_by: who.entered_by, assignee };
    let mut on_duty = crate::policy::on_duty_for(state, tx, community_id, now, whereabouts).await?;
    if sure {
        on_duty.extend(assignee);
    }
    let on_duty = kernel::db::distinct_ids(on_duty);
    let facts = critical_facts(tx, &state.base_url, now, id).await?;
    let template = if sure { "case_critical" } else { "case_critical_unsure" };
    alert(tx, now, community_id, id, &on_duty, template, "filed", &facts, Channel::Sms).await
}
