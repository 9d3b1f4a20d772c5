//! Case use cases: filing (triaged, clocked, deduplicated by an idempotency key), moving
//! through the workflow, and reading — with anonymity kept: an anonymous case stores no link
//! to its author, who follows it with a private token instead.

use crate::domain::{clock_state_paused, ClockState, Source, State};
use chrono::Datelike;
use crate::photos::{Photo, Ready, Stage};
use kernel::query::{col, contains, raw, Alias, Cond, Expr, Order, Query};
use kernel::auth::{Permission, Principal, Role};
use kernel::crypto::{hash_token, random_token};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::i18n::Locale;
use kernel::state::AppState;
use kernel::web::ClientIp;
use notify::{Channel, Message};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use triage::{Category, Urgency};

/// Handle cases: see the queue, respond, resolve.
pub const CASES_HANDLE: Permission = Permission {
    name: "cases.handle",
    roles: &[Role::Staff, Role::Admin, Role::GridWorker],
};

/// Job kind that checks a case's clock when it is due for a warning or a breach.
pub const CLOCK_JOB: &str = "cases.clock";

/// What someone reports.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    /// What is wrong or needed (required).
    pub text: String,
    /// Where: free text (a building is better).
    #[serde(default)]
    pub place: String,
    /// The building, if known.
    pub building_id: Option<i64>,
    /// The unit (entrance) of the building, if known; implies the building.
    pub unit_id: Option<i64>,
    /// A map point: latitude in degrees (WGS-84).
    pub lat: Option<f64>,
    /// A map point: longitude in degrees.
    pub long: Option<f64>,
    /// Staff and grid workers filing for a resident: the resident's registry id (their account,
    /// if any, then follows the case). Without it a staff-side report is filed as the community's.
    /// Family bound to an elder (a confirmed binding) may name her too: the case is hers, and
    /// they stay its author.
    pub resident_id: Option<i64>,
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
    pub id: i64,
    /// Classified urgency.
    pub urgency: Urgency,
    /// Classified category.
    pub category: Category,
    /// For an anonymous case: the private link to follow it (shown once).
    pub follow_token: Option<String>,
}

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
    pub id: i64,
    /// Community id.
    pub community_id: i64,
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
    pub building_id: Option<i64>,
    /// Building name.
    pub building: Option<String>,
    /// Unit id.
    pub unit_id: Option<i64>,
    /// Unit name.
    pub unit: Option<String>,
    /// Map point (latitude, longitude), if one was given.
    pub point: Option<(f64, f64)>,
    /// For staff: the resident a staff-side report was filed for.
    pub for_resident: Option<String>,
    /// For staff: who entered it (staff or grid worker), by name.
    pub entered_by: Option<String>,
    /// Who is working on it (user id).
    pub assignee_id: Option<i64>,
    /// Their name (staff view).
    pub assignee: Option<String>,
    /// Who it was first assigned to: they stay accountable when it moves on (staff view).
    pub owner: Option<String>,
    /// 0 = with its assignee, 1 = escalated to the staff on duty, 2 = to the community head.
    pub escalation_level: i64,
    /// The case this one was merged into, for a duplicate.
    pub parent_id: Option<i64>,
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

fn parse_urgency(s: &str) -> AppResult<Urgency> {
    Urgency::parse(s).ok_or_else(|| AppError::internal(format!("stored urgency {s}")))
}

/// An idempotency key as stored: scoped to whoever sent it (a user, or anonymous senders), so
/// a key someone else used neither finds their case nor stops this report. An anonymous
/// filing's key names nobody, whoever is logged in.
fn scoped_key(filer: Option<&Principal>, anonymous: bool, key: &str) -> String {
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
fn stored_key(state: &AppState, scoped: &str) -> String {
    state.cipher.blind_index(&format!("case-key:{scoped}"))
}

/// The private link of an anonymous case filed with an idempotency key: derived from the key,
/// so a retry of the same filing gets the same link back (the key is the sender's secret).
fn follow_token_for(state: &AppState, community_id: i64, scoped_key: &str) -> String {
    state
        .cipher
        .blind_index(&format!("case-follow:{community_id}:{scoped_key}"))
}

/// The case already filed by this sender with this idempotency key, if any.
pub async fn filed_with_key(
    state: &AppState,
    filer: Option<&Principal>,
    anonymous: bool,
    community_id: i64,
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
pub async fn anonymous_link(state: &AppState, community_id: i64, key: &str) -> AppResult<Option<String>> {
    let scoped = scoped_key(None, true, key.trim());
    Ok(filed_with_key(state, None, true, community_id, key)
        .await?
        .map(|_| format!("/cases/follow/{}", follow_token_for(state, community_id, &scoped))))
}

/// The answer given to the filing that stored `key`, for a retry of it. The same key with other
/// words is not a retry: it is refused, so the new report is not silently dropped.
async fn earlier_filing(
    state: &AppState,
    community_id: i64,
    key: &str,
    text: &str,
) -> AppResult<Option<Filed>> {
    let existing = sqlx::query("SELECT id, urgency, category, text, anonymous FROM cases WHERE community_id = $1 AND idempotency_key = $2")
        .bind(community_id)
        .bind(stored_key(state, key))
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(r) = existing else { return Ok(None) };
    if r.get::<String, _>(3) != text {
        return Err(AppError::field("idempotency_key", "key_reused"));
    }
    let category = r.get::<String, _>(2);
    Ok(Some(Filed {
        id: r.get(0),
        urgency: parse_urgency(r.get::<String, _>(1).as_str())?,
        category: Category::parse(&category)
            .ok_or_else(|| AppError::internal(format!("stored category {category}")))?,
        follow_token: (r.get::<i64, _>(4) != 0).then(|| follow_token_for(state, community_id, key)),
    }))
}

/// Classifies a text with the shipped models, as `POST /api/v1/triage` does: the triage, and
/// whether it fell back because the classifier failed (then staff must classify it).
pub fn triage(state: &AppState, text: &str) -> (triage::Triage, bool) {
    triage_or_fallback(&state.metrics, text, triage::try_classify)
}

/// Classifies a report as filing in a community does: with the community's own model when it
/// has retrained one (`crate::learning`), else the shipped one.
pub async fn triage_in(state: &AppState, community_id: i64, text: &str) -> AppResult<(triage::Triage, bool)> {
    let classifier = crate::learning::classifier(state, community_id).await?;
    Ok(triage_or_fallback(&state.metrics, text, |t| triage::try_classify_with(&classifier, t)))
}

/// Classifies a report. Filing never depends on the classifier: when it fails, the report is
/// filed urgent and marked for staff to classify, and the failure is logged and counted.
fn triage_or_fallback(
    metrics: &kernel::metrics::Metrics,
    text: &str,
    classify: impl Fn(&str) -> Result<triage::Triage, triage::Failure>,
) -> (triage::Triage, bool) {
    match classify(text) {
        Ok(t) => (t, false),
        Err(failure) => {
            metrics.triage_failures.inc();
            tracing::error!(error = %failure.0, chars = text.chars().count(), "triage failed; the report is filed urgent for staff to classify");
            (triage::unclassified(), true)
        }
    }
}

/// Reports one network address may file without an account, per hour: enough for a household
/// or a community centre's Wi-Fi, not for a script.
pub const VISITOR_REPORTS: kernel::quota::Budget = kernel::quota::Budget {
    name: "visitor_report",
    limit: 20,
    window_ms: 3_600_000,
};

/// Reports with photos one logged-in person may send per hour: photos are decoded and encoded
/// again, which costs seconds of a CPU each, so nobody can take that from everyone else.
pub const REPORTS_WITH_PHOTOS: kernel::quota::Budget = kernel::quota::Budget {
    name: "report_with_photos",
    limit: 30,
    window_ms: 3_600_000,
};

/// Photos one logged-in person may have decoded per hour, with reports or added to a case.
pub const PHOTOS_DECODED: kernel::quota::Budget = kernel::quota::Budget {
    name: "photos_decoded",
    limit: 120,
    window_ms: 3_600_000,
};

/// Admits `photos` photos (of one report, `report` = true, or added by its author to a case)
/// from someone logged in, before they are decoded: spends [`REPORTS_WITH_PHOTOS`] and
/// [`PHOTOS_DECODED`] of their person, or refuses with 429.
pub async fn admit_photos(state: &AppState, filer: &Principal, photos: usize, report: bool) -> AppResult<()> {
    if photos == 0 {
        return Ok(());
    }
    let who = match (filer.user_id, filer.api_key_id) {
        (Some(id), _) => format!("user:{id}"),
        (None, Some(key)) => format!("key:{key}"),
        (None, None) => return Ok(()),
    };
    if report {
        kernel::quota::spend(state, &REPORTS_WITH_PHOTOS, &who).await?;
    }
    kernel::quota::spend_n(state, &PHOTOS_DECODED, &who, photos as i64).await
}

/// Admits a report from a visitor who is not logged in, before any costly work on it (decoding
/// its photos, filing it): their address spends one of [`VISITOR_REPORTS`], unless the report
/// is a retry of one already filed. Everyone logged in is admitted as they are.
pub async fn admit(
    state: &AppState,
    filer: Option<&Principal>,
    from: &ClientIp,
    community_id: i64,
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
    kernel::quota::spend(state, &VISITOR_REPORTS, &from.0).await
}

/// Files a case in community `community_id` with its photos. `filer` is `None` for a visitor
/// who is not logged in (then the case must be anonymous, and [`admit`] must have let it in).
pub async fn file(
    state: &AppState,
    filer: Option<&Principal>,
    community_id: i64,
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
    community_id: i64,
    new: &NewCase,
    photos: &[Ready],
    kept: Vec<crate::photos::Stored>,
) -> AppResult<Filed> {
    // Bidi controls could make what staff read run in another order than what was typed.
    let text = kernel::validate::without_bidi_controls(&new.text);
    let text = kernel::validate::required_multiline("text", &text, 2000)?;
    let place = kernel::validate::without_bidi_controls(&new.place);
    let place = kernel::validate::at_most("place", &place, 100)?;
    let key = match new
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => Some(scoped_key(
            filer,
            new.anonymous,
            kernel::validate::at_most("idempotency_key", k, 100)?,
        )),
        None => None,
    };
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
    if let Some(k) = &key {
        if let Some(filed) = earlier_filing(state, community_id, k, text).await? {
            return Ok(filed);
        }
    }
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
        (Some(lat), Some(long))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long) =>
        {
            Some(((lat * 1e6).round() as i64, (long * 1e6).round() as i64))
        }
        _ => return Err(AppError::field("lat", "out_of_range")),
    };
    // Filed for a resident: their account (if any) follows the case as its author.
    let mut author = if new.anonymous {
        None
    } else {
        filer.and_then(|p| p.user_id)
    };
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
    let (mut t, failed) = triage_in(state, community_id, text).await?;
    // Unsure answers go to staff to classify (待人工分类), as failures do; so does a critical
    // answer not sure enough to alert everyone, which the staff on duty are asked to confirm.
    let triage_pending = failed || t.to_review || (t.urgency == Urgency::Critical && !t.alerts_everyone() && !new.danger_now);
    if new.danger_now && t.urgency != Urgency::Critical {
        // A person who says lives are at risk is believed; staff can correct it afterwards.
        t.urgency = Urgency::Critical;
        t.reasons.insert(
            0,
            triage::Reason {
                phrase: "danger_now".into(),
                supports: "urgency:critical".into(),
            },
        );
    }
    let sla = crate::policy::sla_for(state, community_id, t.urgency, t.category).await?;
    let now = state.now();
    let first_due = crate::policy::due(
        state,
        community_id,
        now,
        sla.first_response_ms,
        sla.working_hours,
    )
    .await?;
    let result_due =
        crate::policy::due(state, community_id, now, sla.result_ms, sla.working_hours).await?;
    let assignee = crate::policy::route(state, community_id, t.category, building_id).await?;
    let follow_token = new.anonymous.then(|| match &key {
        Some(k) => follow_token_for(state, community_id, k),
        None => random_token(24),
    });
    if kept.len() + photos.len() > crate::photos::MAX_PHOTOS {
        return Err(crate::photos::too_many());
    }
    let mut stored: Vec<crate::photos::Stored> = kept
        .into_iter()
        .map(|p| if new.anonymous { p.without_original() } else { p })
        .collect();
    stored.extend(crate::photos::store(state, photos, new.anonymous).await?);
    let photos = stored;
    let mut tx = state.db.begin_write().await?;
    let id: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO cases (community_id, source, author_user_id, anonymous, follow_token_hash, text, place, building_id, urgency, category, \
         triage_reasons, state, first_response_due, result_due, idempotency_key, created_at, updated_at, unit_id, lat_e6, lng_e6, resident_id, \
         entered_by, owner_user_id, assignee_user_id, private, triage_pending, triage_model, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15, $15, $16, $17, $18, $19, $20, $21, $21, $22, $23, $24, $25) RETURNING id",
    )
    .bind(community_id)
    .bind(source.code())
    .bind(author)
    .bind(new.anonymous as i64)
    .bind(follow_token.as_deref().map(hash_token))
    .bind(text)
    .bind(place)
    .bind(building_id)
    .bind(t.urgency.code())
    .bind(t.category.code())
    .bind(serde_json::to_string(&t.reasons).map_err(AppError::internal)?)
    .bind(first_due)
    .bind(result_due)
    .bind(key.as_deref().map(|k| stored_key(state, k)))
    .bind(now)
    .bind(new.unit_id)
    .bind(point.map(|p| p.0))
    .bind(point.map(|p| p.1))
    .bind(new.resident_id)
    .bind(entered_by)
    .bind(assignee)
    // Care for elders and the disabled is about a person: off the public ledger unless staff
    // decide otherwise.
    .bind((t.category == Category::Care) as i64)
    .bind(triage_pending as i64)
    .bind(&t.model)
    .bind(crate::store::search_text(text, place))
    .fetch_one(&mut *tx)
    .await;
    let id = match id {
        Ok(id) => id,
        Err(e) => {
            let e = AppError::from(e).on_conflict("idempotency_key", "taken");
            // A parallel retry of the same filing stored the key first: answer as it was answered.
            if let (Some(k), AppError::Conflict { .. }) = (&key, &e) {
                drop(tx);
                if let Some(filed) = earlier_filing(state, community_id, k, text).await? {
                    return Ok(filed);
                }
            }
            return Err(e);
        }
    };
    event(&mut tx, id, now, None, "filed", Some(State::New), "").await?;
    let filed = crate::events::CaseFiled { case_id: id, urgency: t.urgency, category: t.category, resident_id: new.resident_id.filter(|_| !new.anonymous), author_user_id: author };
    kernel::events::publish(state, &mut tx, now, Some(community_id), &filed).await?;
    if let Some(k) = new.idempotency_key.as_deref().filter(|k| !k.trim().is_empty()) {
        crate::draft::end(&mut tx, state, community_id, k).await?;
    }
    // An anonymous report's photos record no uploader.
    crate::photos::attach(
        state,
        &mut tx,
        id,
        community_id,
        if new.anonymous {
            None
        } else {
            filer.and_then(|p| p.user_id)
        },
        Stage::Before,
        false,
        &photos,
    )
    .await?;
    enqueue_clocks(
        &mut tx,
        now,
        id,
        &[
            ("first_response", now, first_due),
            ("result", now, result_due),
        ],
    )
    .await?;
    if let Some(a) = assignee {
        alert(
            &mut tx,
            now,
            community_id,
            id,
            &[a],
            "case_assigned",
            "filed",
            &[],
            Channel::Inbox,
        )
        .await?;
    }
    if t.urgency == Urgency::Critical {
        // The staff on duty hear at once, by text, wherever they are. When the person said lives
        // are at risk, or the triage is sure, the assignee hears too; an unsure critical triage
        // texts the staff on duty only, asking them to confirm it (it is marked to classify).
        let sure = new.danger_now || t.alerts_everyone();
        let whereabouts = crate::reach::Whereabouts { building: building_id, entered_by, assignee };
        let mut on_duty = crate::policy::on_duty_for(state, &mut tx, community_id, now, whereabouts).await?;
        if sure {
            on_duty.extend(assignee);
        }
        let on_duty = kernel::db::distinct_ids(on_duty);
        let facts = critical_facts(&mut tx, &state.base_url, now, id).await?;
        let template = if sure { "case_critical" } else { "case_critical_unsure" };
        alert(&mut tx, now, community_id, id, &on_duty, template, "filed", &facts, Channel::Sms).await?;
    }
    crate::ledger::forget(&mut tx, community_id);
    tx.commit().await?;
    Ok(Filed {
        id,
        urgency: t.urgency,
        category: t.category,
        follow_token,
    })
}

/// Enqueues the first check of each clock: a warning when a fifth of its time is left. Each check
/// enqueues the next when it runs on a clock still running — the breach (escalation to the staff
/// on duty) at the due time, then a further escalation (to the community head) when half the
/// time again has passed. Each check carries the due time it was made for: when the clock moves
/// (a wait, a new urgency) a new chain starts and the old one ends at its next check (ADR 007).
pub(crate) async fn enqueue_clocks(
    tx: &mut WriteTx,
    now: i64,
    id: i64,
    clocks: &[(&str, i64, i64)],
) -> AppResult<()> {
    for &(clock, start, due) in clocks {
        enqueue_check(tx, now, id, clock, "warn", start, due).await?;
    }
    Ok(())
}

async fn enqueue_check(
    tx: &mut WriteTx,
    now: i64,
    id: i64,
    clock: &str,
    stage: &str,
    start: i64,
    due: i64,
) -> AppResult<()> {
    let span = (due - start).max(1);
    let at = match stage {
        "warn" => due - span / 5,
        "breach" => due + 1,
        _ => due + span / 2,
    };
    let payload = serde_json::json!({"case_id": id, "clock": clock, "stage": stage, "due": due, "start": start});
    kernel::jobs::enqueue(tx, CLOCK_JOB, &payload, at.max(now), now).await?;
    Ok(())
}

async fn event(
    tx: &mut WriteTx,
    case_id: i64,
    at: i64,
    actor: Option<i64>,
    kind: &str,
    state: Option<State>,
    note: &str,
) -> AppResult<i64> {
    Ok(sqlx::query_scalar("INSERT INTO case_events (case_id, at, actor_user_id, kind, state, note) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(case_id)
        .bind(at)
        .bind(actor)
        .bind(kind)
        .bind(state.map(State::code))
        .bind(note)
        .fetch_one(&mut **tx)
        .await?)
}

/// What an emergency alert says, so staff can act from the text alone: the report's words
/// (`text`, and `short` for the SMS), where (`where`: building, unit and the place typed;
/// `point`: the map point), who to call back (`reporter`: name and masked phone, empty when
/// anonymous), the minutes left to respond and the link to the staff case page.
async fn critical_facts(tx: &mut WriteTx, base_url: &str, now: i64, case_id: i64) -> AppResult<Vec<(&'static str, String)>> {
    kernel::row! {
        struct Alerted {
            text: String,
            place: String,
            building_id: Option<i64>,
            unit_id: Option<i64>,
            resident_id: Option<i64>,
            lat_e6: Option<i64>,
            lng_e6: Option<i64>,
            anonymous: i64,
            author_user_id: Option<i64>,
            first_response_due: i64,
        }
    }
    let r: Alerted = sqlx::query_as(
        "SELECT c.text, c.place, c.building_id, c.unit_id, c.resident_id, c.lat_e6, c.lng_e6, c.anonymous, \
         c.author_user_id, c.first_response_due FROM cases c WHERE c.id = $1",
    )
    .bind(case_id)
    .fetch_one(&mut **tx)
    .await?;
    let building = match r.building_id {
        Some(b) => registry::places::building_names(&mut **tx, &[b]).await?.remove(&b),
        None => None,
    };
    let unit = match r.unit_id {
        Some(u) => registry::places::unit_names(&mut **tx, &[u]).await?.remove(&u),
        None => None,
    };
    let resident = match r.resident_id {
        Some(id) => registry::people::contact(&mut **tx, id).await?,
        None => None,
    };
    let author = match r.author_user_id {
        Some(id) => kernel::people::contact(&mut **tx, id).await?,
        None => None,
    };
    let cut = |s: &str, n: usize| -> String {
        let s = s.trim();
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n - 1).collect::<String>())
        } else {
            s.to_string()
        }
    };
    let text = r.text;
    let mut place: Vec<String> = Vec::new();
    let building = [building, unit].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if !building.is_empty() {
        place.push(building);
    }
    if !r.place.trim().is_empty() {
        place.push(cut(&r.place, 30));
    }
    let point = match (r.lat_e6, r.lng_e6) {
        (Some(lat), Some(lng)) => format!("{:.5},{:.5}", lat as f64 / 1e6, lng as f64 / 1e6),
        _ => String::new(),
    };
    // Named reports only: the author, else the resident it was filed for.
    let reporter = if r.anonymous != 0 {
        String::new()
    } else {
        let (name, phone) = match author {
            Some(a) => (a.display_name, a.phone),
            None => resident.map(|c| (c.name, c.phone)).unwrap_or_default(),
        };
        let phone = if phone.is_empty() { phone } else { kernel::crypto::mask_phone(&phone) };
        [name, phone].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
    };
    let due = r.first_response_due;
    Ok(vec![
        ("text", cut(&text, 40)),
        ("short", cut(&text, 20)),
        ("where", place.join(" ")),
        ("point", point),
        ("reporter", reporter),
        ("minutes", ((due - now + 59_999) / 60_000).max(1).to_string()),
        ("link", format!("{base_url}/console/cases/{case_id}")),
    ])
}

/// Messages `users` about a case (in the inbox, and by `channel`). `key` makes the message
/// unique (a retry of the same alert sends nothing new).
#[allow(clippy::too_many_arguments)]
async fn alert(
    tx: &mut WriteTx,
    now: i64,
    community_id: i64,
    case_id: i64,
    users: &[i64],
    template: &'static str,
    key: &str,
    params: &[(&'static str, String)],
    channel: Channel,
) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    for person in kernel::people::contacts(&mut **tx, users).await? {
        let user_id = person.id;
        let locale = person.language();
        // A clock is named in the reader's words (首次响应, 办结), not by its code.
        let mut params: Vec<(&'static str, String)> = params
            .iter()
            .map(|(k, v)| match *k {
                "clock" => (*k, kernel::i18n::t(locale, &format!("clock_name.{v}")).to_string()),
                // An emergency's map point and reporter, in the reader's words.
                "point" if !v.is_empty() => (*k, kernel::i18n::tf(locale, "cases.alert_point", &[("point", v.clone())])),
                "reporter" if v.is_empty() => (*k, kernel::i18n::t(locale, "cases.alert_anonymous").to_string()),
                _ => (*k, v.clone()),
            })
            .collect();
        if params.iter().any(|(k, v)| *k == "where" && v.is_empty()) && params.iter().any(|(k, v)| *k == "point" && v.is_empty()) {
            params.retain(|(k, _)| *k != "where");
            params.push(("where", kernel::i18n::t(locale, "cases.alert_no_place").to_string()));
        }
        params.push(("case", case_id.to_string()));
        let channels: &[Channel] = if channel == Channel::Inbox {
            &[Channel::Inbox]
        } else {
            &[Channel::Inbox, channel]
        };
        for &ch in channels {
            let msg = Message {
                community_id: Some(community_id),
                user_id: Some(user_id),
                channel: ch,
                to: if ch == Channel::Sms { person.phone.clone() } else { String::new() },
                template,
                params: params.clone(),
                secret_params: &[],
                link: Some(format!("/console/cases/{case_id}")),
                locale,
                idempotency_key: format!("{template}:{case_id}:{key}:{user_id}:{}", ch.code()),
            };
            notify::service::send(tx, now, &msg).await?;
        }
    }
    Ok(())
}

/// What moves a case.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Move {
    /// The state to move to.
    pub to: State,
    /// What was done or said: required for the first response (how the resident was
    /// contacted and the initial plan), a referral (the department and its reference) and a
    /// resolution (what was done).
    #[serde(default)]
    pub note: String,
    /// For `duplicate`: the case this one is merged into (its followers move there).
    pub parent_id: Option<i64>,
}

struct CaseRow {
    community_id: i64,
    state: State,
    author: Option<i64>,
    anonymous: bool,
    /// The registry resident a staff-side report was filed for.
    resident: Option<i64>,
    /// Kept off the public ledger.
    private: bool,
    /// Where it stands, for who may handle it.
    whereabouts: crate::reach::Whereabouts,
}

async fn load(state: &AppState, id: i64) -> AppResult<CaseRow> {
    let r = sqlx::query(
        "SELECT community_id, state, author_user_id, anonymous, resident_id, private, building_id, entered_by, assignee_user_id FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let stored_state: String = r.try_get("state")?;
    Ok(CaseRow {
        community_id: r.try_get("community_id")?,
        state: State::parse(&stored_state)
            .ok_or_else(|| AppError::internal(format!("stored state {stored_state}")))?,
        author: r.try_get("author_user_id")?,
        anonymous: r.try_get::<i64, _>("anonymous")? != 0,
        resident: r.try_get("resident_id")?,
        private: r.try_get::<i64, _>("private")? != 0,
        whereabouts: crate::reach::Whereabouts {
            building: r.try_get("building_id")?,
            entered_by: r.try_get("entered_by")?,
            assignee: r.try_get("assignee_user_id")?,
        },
    })
}

/// The login of the resident a named case was filed for, if she has one: the person it is for,
/// who follows and rates it as its author does (whoever filed it for her).
async fn subject_login(state: &AppState, case: &CaseRow) -> AppResult<Option<i64>> {
    let Some(resident) = case.resident.filter(|_| !case.anonymous) else { return Ok(None) };
    Ok(registry::people::contact(&state.db.pool, resident).await?.and_then(|r| r.user_id))
}

/// Whether `p` is the named author of `case` or the resident it was filed for.
async fn speaks_for(state: &AppState, p: &Principal, case: &CaseRow) -> AppResult<bool> {
    let Some(uid) = p.user_id else { return Ok(false) };
    Ok(case.author == Some(uid) || subject_login(state, case).await? == Some(uid))
}

/// Whether `p` may handle `case` (staff of its community; a grid worker within their grids).
async fn within_reach(state: &AppState, p: &Principal, case: &CaseRow) -> AppResult<bool> {
    crate::reach::covers(state, p, case.community_id, case.whereabouts).await
}

/// A case a staff member of its community acts on (a grid worker: one within their grids); to
/// anyone else it does not exist.
async fn load_for_staff(state: &AppState, p: &Principal, id: i64) -> AppResult<CaseRow> {
    let case = load(state, id).await?;
    if !within_reach(state, p, &case).await? {
        return Err(AppError::NotFound);
    }
    Ok(case)
}

/// Who is moving a case.
pub enum Mover<'a> {
    /// A logged-in person (staff, or the named author).
    Person(&'a Principal),
    /// The holder of an anonymous case's private link.
    FollowToken,
}

/// Moves a case, checking who may make the move and what it needs. `photos` are "after" photos
/// sent with a resolution (staff only).
pub async fn move_case(
    state: &AppState,
    mover: Mover<'_>,
    id: i64,
    m: &Move,
    photos: &[Ready],
) -> AppResult<CaseView> {
    move_case_once(state, mover, id, m, photos, None).await
}

/// How long an identical note by the same person on the same case counts as the same
/// submission (a double click, Back and send again, a retry on a poor connection).
const SAME_NOTE_WINDOW_MS: i64 = 5 * kernel::clock::MINUTE;

/// Whether a step with the one-time key `key` was already recorded on case `id` by `actor`.
async fn step_recorded<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: i64,
    actor: Option<i64>,
    key: &str,
) -> AppResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM case_events WHERE case_id = $1 AND actor_user_id = $2 AND request_key = $3 LIMIT 1",
    )
    .bind(id)
    .bind(actor)
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// As [`move_case`], for a staff form that carries a one-time `key`: sent again with the same
/// key, the step is answered as the first was and nothing new is recorded or sent.
pub async fn move_case_once(
    state: &AppState,
    mover: Mover<'_>,
    id: i64,
    m: &Move,
    photos: &[Ready],
    key: Option<&str>,
) -> AppResult<CaseView> {
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| kernel::validate::at_most("key", k, 100))
        .transpose()?;
    let case = load(state, id).await?;
    let note = kernel::validate::at_most_multiline("note", &m.note, 1000)?;
    let staff = match &mover {
        Mover::Person(p) => within_reach(state, p, &case).await?,
        Mover::FollowToken => false,
    };
    let author = match &mover {
        Mover::Person(p) if !staff => speaks_for(state, p, &case).await?,
        _ => false,
    };
    // A report filed for a resident with a login speaks to her first (the rating is hers);
    // whoever filed it for her hears as her family.
    let subject = subject_login(state, &case).await?;
    let (allowed, actor, by_staff) = match &mover {
        Mover::Person(p) if staff => (case.state.staff_moves(), p.user_id, true),
        Mover::Person(_) if author => {
            (case.state.author_moves(), None, false)
        }
        Mover::Person(_) => return Err(AppError::NotFound),
        Mover::FollowToken => (case.state.author_moves(), None, false),
    };
    if let Some(k) = key.filter(|_| by_staff) {
        if step_recorded(&state.db.pool, id, actor, k).await? {
            return view(state, id, true).await;
        }
    }
    if !allowed.contains(&m.to) {
        // The states in the reader's words, never their codes.
        return Err(AppError::Validation(vec![kernel::FieldError::new(
            "to",
            "case_move_not_allowed",
        )
        .word("from", format!("case_state.{}", case.state.code()))
        .word("to", format!("case_state.{}", m.to.code()))]));
    }
    // A step to the state the case is already in adds a note: nothing moves, no clock changes,
    // and the resident (and family) read the note, not another "now in progress".
    if by_staff && m.to == case.state {
        if note.is_empty() {
            return Err(AppError::field("note", "required"));
        }
        if !photos.is_empty() {
            return Err(AppError::field("photos", "invalid_choice"));
        }
        return add_note(state, id, &case, actor, note, key).await;
    }
    if by_staff && matches!(m.to, State::Acknowledged | State::Referred) && note.is_empty() {
        return Err(AppError::field("note", "required"));
    }
    // A result comes with an "after" photo or a note saying what was done.
    if by_staff && m.to == State::Resolved && note.is_empty() && photos.is_empty() {
        return Err(AppError::field("note", "case_result_needs_note_or_photo"));
    }
    if !photos.is_empty() && !(by_staff && m.to == State::Resolved) {
        return Err(AppError::field("photos", "invalid_choice"));
    }
    let parent = match (&mover, m.to) {
        (Mover::Person(p), State::Duplicate) => {
            Some(merge_target(state, p, id, case.community_id, m.parent_id).await?)
        }
        _ => None,
    };
    let photos = crate::photos::store(state, photos, false).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let stamp = match m.to {
        State::Acknowledged => ", first_response_at = $1",
        State::Resolved => ", resolved_at = $1",
        s if s.is_final() => ", closed_at = $1",
        // Reopened: the result clock runs again.
        State::InProgress if case.state.has_result() => ", resolved_at = NULL",
        _ => "",
    };
    // Any move ends a wait on the resident; the pause is settled first so its time is not counted.
    settle_pause(&mut tx, now, id).await?;
    let moved = sqlx::query(&format!(
        "UPDATE cases SET state = $2, updated_at = $1{stamp} WHERE id = $3 AND state = $4"
    ))
    .bind(now)
    .bind(m.to.code())
    .bind(id)
    .bind(case.state.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        drop(tx);
        // The same form, sent twice at once, moved it: answered as the first was.
        if let Some(k) = key.filter(|_| by_staff) {
            if step_recorded(&state.db.pool, id, actor, k).await? {
                return view(state, id, true).await;
            }
        }
        // Someone else moved it in the meantime.
        return Err(AppError::Conflict {
            field: "to".into(),
            code: "case_changed",
        });
    }
    let kind = if by_staff { "moved" } else { "author_moved" };
    let event_id = event(&mut tx, id, now, actor, kind, Some(m.to), note).await?;
    keep_key(&mut tx, event_id, key.filter(|_| by_staff)).await?;
    let moved = crate::events::CaseMoved { case_id: id, from: case.state, to: m.to, by_staff };
    kernel::events::publish(state, &mut tx, now, Some(case.community_id), &moved).await?;
    if m.to == State::InProgress && case.state.has_result() {
        restart_result_clock(state, &mut tx, now, id, case.community_id).await?;
    }
    if !photos.is_empty() {
        crate::photos::attach(
            state,
            &mut tx,
            id,
            case.community_id,
            actor,
            Stage::After,
            false,
            &photos,
        )
        .await?;
    }
    if let Some(parent) = parent {
        merge(&mut tx, now, id, parent, case.author, actor).await?;
    }
    let rating_token = if m.to == State::Resolved {
        Some(crate::rating::issue(&mut tx, now, id).await?)
    } else {
        None
    };
    // The named author hears about every step in the inbox (anonymous authors follow their
    // private link); the first response and the result also go by text, to the author's phone or,
    // for a report filed for a resident without an account, to the resident's phone in the
    // registry: many residents never open an app.
    if by_staff && !case.anonymous {
        let reader: Option<(Option<i64>, String, String)> = match (subject.or(case.author), case.resident) {
            (Some(author), _) => kernel::people::contact(&mut *tx, author).await?.map(|c| (Some(c.id), c.phone, c.locale)),
            (None, Some(resident)) => registry::people::contact(&mut *tx, resident)
                .await?
                .filter(|r| !r.phone.is_empty())
                .map(|r| (None, r.phone, "zh-CN".to_string())),
            (None, None) => None,
        };
        if let Some((user_id, phone, locale)) = reader {
            let locale = Locale::parse(&locale).unwrap_or_default();
            let label = kernel::i18n::t(locale, &format!("case_state.{}", m.to.code())).to_string();
            let mut messages: Vec<(
                Channel,
                &'static str,
                Vec<(&'static str, String)>,
                Option<String>,
            )> = Vec::new();
            let mut update = vec![("case", id.to_string()), ("state", label)];
            if !note.is_empty() {
                update.push(("note", told_note(note)));
            }
            let update_template = if note.is_empty() { "case_update" } else { "case_update_note" };
            if user_id.is_some() {
                messages.push((
                    Channel::Inbox,
                    update_template,
                    update.clone(),
                    Some(format!("/cases/{id}")),
                ));
            }
            if m.to == State::Acknowledged {
                messages.push((Channel::Sms, update_template, update, None));
            }
            if let Some(token) = &rating_token {
                let params = vec![
                    ("case", id.to_string()),
                    ("link", format!("{}/r/{token}", state.base_url)),
                ];
                if user_id.is_some() {
                    messages.push((
                        Channel::Inbox,
                        "case_rate",
                        params.clone(),
                        Some(format!("/r/{token}")),
                    ));
                }
                messages.push((Channel::Sms, "case_rate", params, None));
            }
            for (channel, template, params, link) in messages {
                let msg = Message {
                    community_id: Some(case.community_id),
                    user_id,
                    channel,
                    to: if channel == Channel::Sms {
                        phone.clone()
                    } else {
                        String::new()
                    },
                    template,
                    params,
                    // The rating link's token opens the rating without a login.
                    secret_params: if template == "case_rate" {
                        &["link"]
                    } else {
                        &[]
                    },
                    link,
                    locale,
                    idempotency_key: format!("{template}:{event_id}:{}", channel.code()),
                };
                notify::service::send(&mut tx, now, &msg).await?;
            }
        }
    }
    // Family bound to the resident hear about every step as the author does.
    if by_staff && !case.anonymous {
        let label = kernel::i18n::t(Locale::ZhCn, &format!("case_state.{}", m.to.code())).to_string();
        for reader in crate::family::readers(&mut tx, case.resident, subject.or(case.author)).await? {
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(reader),
                channel: Channel::Inbox,
                to: String::new(),
                template: if note.is_empty() { "family_case_update" } else { "family_case_update_note" },
                params: if note.is_empty() {
                    vec![("case", id.to_string()), ("state", label.clone())]
                } else {
                    vec![("case", id.to_string()), ("state", label.clone()), ("note", told_note(note))]
                },
                secret_params: &[],
                link: Some(format!("/family/cases/{id}")),
                locale: Locale::ZhCn,
                idempotency_key: format!("case_update:{event_id}:family:{reader}"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
        }
    }
    // Followers are members of the public: a private case tells them nothing.
    if by_staff && !case.private {
        let followers: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM case_followers WHERE case_id = $1 ORDER BY user_id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for follower in followers.into_iter().filter(|f| Some(*f) != case.author && Some(*f) != subject) {
            let label =
                kernel::i18n::t(Locale::ZhCn, &format!("case_state.{}", m.to.code())).to_string();
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(follower),
                channel: Channel::Inbox,
                to: String::new(),
                template: "case_update",
                params: vec![("case", id.to_string()), ("state", label)],
                secret_params: &[],
                link: Some(format!("/ledger#case-{id}")),
                locale: Locale::ZhCn,
                idempotency_key: format!("case_update:{event_id}:follower:{follower}"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
        }
    }
    crate::ledger::forget(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, by_staff).await
}

/// How staff reach the person a case is from.
#[derive(Debug, Clone, Default)]
pub struct Reporter {
    /// The phone number with its middle hidden (138****5678); empty when none is known.
    pub masked: String,
    /// The whole number, only once asked for (and recorded on the case's timeline).
    pub phone: Option<String>,
    /// Their registry record, when they are in the registry.
    pub resident_id: Option<i64>,
}

/// How to reach the person case `id` is from: the resident it was filed for, else its author.
/// `None` for an anonymous case. The whole number is shown only on request (`reveal`), as an
/// ID number is, and the request stays on the staff timeline.
pub async fn reporter(state: &AppState, p: &Principal, id: i64, reveal: bool) -> AppResult<Option<Reporter>> {
    let case = load_for_staff(state, p, id).await?;
    if case.anonymous {
        return Ok(None);
    }
    let from_registry: Option<(String, i64)> = match case.resident {
        Some(r) => registry::people::contact(&state.db.pool, r).await?.map(|r| (r.phone, r.id)),
        None => None,
    };
    let from_login: Option<(String, Option<i64>)> = match case.author {
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
    community_id: i64,
    typed: &str,
) -> AppResult<i64> {
    let unknown = || AppError::field("resident_phone", "resident_phone_unknown");
    let phone = kernel::crypto::PhoneNumber::parse(typed)
        .map_err(|code| AppError::field("resident_phone", code))?;
    if !p.can(community_id, &CASES_HANDLE) {
        return Err(unknown());
    }
    let found: Vec<(i64, Option<i64>)> = registry::people::with_phone(&state.db.pool, community_id, phone.as_str())
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

/// The longest part of a step's note a message repeats (the rest is on the case page).
const TOLD_NOTE_CHARS: usize = 60;

/// A step's public note as a message repeats it: on one line, cut at a character (never inside
/// one) with an ellipsis when long.
fn told_note(note: &str) -> String {
    let line = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= TOLD_NOTE_CHARS {
        line
    } else {
        let mut cut: String = line.chars().take(TOLD_NOTE_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// Records the one-time key of the form that sent a step with its event.
async fn keep_key(tx: &mut WriteTx, event_id: i64, key: Option<&str>) -> AppResult<()> {
    if let Some(k) = key {
        sqlx::query("UPDATE case_events SET request_key = $1 WHERE id = $2")
            .bind(k)
            .bind(event_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A note added by staff to a case without moving it: one timeline entry, and the author (in
/// the inbox) and bound family told the note. No text message: nothing changed state.
/// The same note sent again (the same form key, or the same words by the same person within
/// a few minutes) records nothing new.
async fn add_note(
    state: &AppState,
    id: i64,
    case: &CaseRow,
    actor: Option<i64>,
    note: &str,
    key: Option<&str>,
) -> AppResult<CaseView> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // Touching the case first holds its row (on PostgreSQL) until this commits, so that the
    // check below and the note's insert are one step for parallel sends; SQLite has one writer.
    let touched = sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2 AND state = $3")
        .bind(now)
        .bind(id)
        .bind(case.state.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if touched == 0 {
        return Err(AppError::Conflict {
            field: "to".into(),
            code: "case_changed",
        });
    }
    let sent_before: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM case_events WHERE case_id = $1 AND actor_user_id = $2 \
         AND (request_key = $3 OR (kind IN ('noted', 'moved') AND note = $4 AND at >= $5)) LIMIT 1",
    )
    .bind(id)
    .bind(actor)
    .bind(key)
    .bind(note)
    .bind(now - SAME_NOTE_WINDOW_MS)
    .fetch_optional(&mut *tx)
    .await?;
    if sent_before.is_some() {
        drop(tx);
        return view(state, id, true).await;
    }
    let event_id = event(&mut tx, id, now, actor, "noted", None, note).await?;
    keep_key(&mut tx, event_id, key).await?;
    let subject = subject_login(state, case).await?;
    if !case.anonymous {
        let params = vec![("case", id.to_string()), ("note", told_note(note))];
        if let Some(author) = subject.or(case.author) {
            let locale = kernel::people::contact(&mut *tx, author).await?.map(|c| c.locale);
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(author),
                channel: Channel::Inbox,
                to: String::new(),
                template: "case_note",
                params: params.clone(),
                secret_params: &[],
                link: Some(format!("/cases/{id}")),
                locale: locale.as_deref().and_then(Locale::parse).unwrap_or_default(),
                idempotency_key: format!("case_note:{event_id}:inbox"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
        }
        for reader in crate::family::readers(&mut tx, case.resident, subject.or(case.author)).await? {
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(reader),
                channel: Channel::Inbox,
                to: String::new(),
                template: "family_case_note",
                params: params.clone(),
                secret_params: &[],
                link: Some(format!("/family/cases/{id}")),
                locale: Locale::ZhCn,
                idempotency_key: format!("case_note:{event_id}:family:{reader}"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
        }
    }
    tx.commit().await?;
    view(state, id, true).await
}

/// A reopened case ("not solved") gets a new result clock of its service level's length, from now,
/// with its checks.
pub(crate) async fn restart_result_clock(
    state: &AppState,
    tx: &mut WriteTx,
    now: i64,
    id: i64,
    community_id: i64,
) -> AppResult<()> {
    let (u, c): (String, String) =
        sqlx::query_as("SELECT urgency, category FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    let sla = crate::policy::sla_for(
        state,
        community_id,
        parse_urgency(&u)?,
        Category::parse(&c).ok_or_else(|| AppError::internal(format!("stored category {c}")))?,
    )
    .await?;
    let due =
        crate::policy::due(state, community_id, now, sla.result_ms, sla.working_hours).await?;
    sqlx::query("UPDATE cases SET result_due = $1 WHERE id = $2")
        .bind(due)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    enqueue_clocks(tx, now, id, &[("result", now, due)]).await
}

/// The open case a duplicate is merged into: in the same community, not itself, not finished.
/// The case a duplicate is merged into: an open case of the same community that the mover may
/// handle too. Any other answers alike, so it tells nothing of cases out of reach.
async fn merge_target(
    state: &AppState,
    mover: &Principal,
    id: i64,
    community_id: i64,
    parent_id: Option<i64>,
) -> AppResult<i64> {
    let parent = parent_id.ok_or_else(|| AppError::field("parent_id", "required"))?;
    let refused = || AppError::field("parent_id", "case_merge_target");
    if parent == id {
        return Err(AppError::field("parent_id", "case_merge_self"));
    }
    let target = match load(state, parent).await {
        Ok(target) => target,
        Err(AppError::NotFound) => return Err(refused()),
        Err(e) => return Err(e),
    };
    if target.community_id != community_id
        || target.state.is_final()
        || !within_reach(state, mover, &target).await?
    {
        return Err(refused());
    }
    Ok(parent)
}

/// Merges a duplicate into its parent: the duplicate's followers, and its named author, follow
/// the parent from now on; both timelines say so.
async fn merge(
    tx: &mut WriteTx,
    now: i64,
    id: i64,
    parent: i64,
    author: Option<i64>,
    actor: Option<i64>,
) -> AppResult<()> {
    sqlx::query("UPDATE cases SET parent_case_id = $1 WHERE id = $2")
        .bind(parent)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let mut movers: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM case_followers WHERE case_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    movers.extend(author);
    for user in movers {
        sqlx::query("INSERT INTO case_followers (case_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (case_id, user_id) DO NOTHING")
            .bind(parent)
            .bind(user)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("DELETE FROM case_followers WHERE case_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    event(tx, parent, now, actor, "merged_in", None, &format!("#{id}")).await?;
    Ok(())
}

/// Ends a pause, if any: the running clocks move on by the time spent waiting, with new checks.
async fn settle_pause(tx: &mut WriteTx, now: i64, id: i64) -> AppResult<()> {
    let row: Option<(Option<i64>, i64, i64, Option<i64>, i64, String)> = sqlx::query_as(
        "SELECT paused_at, first_response_due, result_due, first_response_at, created_at, state FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((Some(paused_at), first_due, result_due, first_at, created, st)) = row else {
        return Ok(());
    };
    let waited = (now - paused_at).max(0);
    let first_due_new = if first_at.is_none() {
        first_due + waited
    } else {
        first_due
    };
    sqlx::query("UPDATE cases SET paused_at = NULL, paused_ms = paused_ms + $1, first_response_due = $2, result_due = $3 WHERE id = $4")
        .bind(waited)
        .bind(first_due_new)
        .bind(result_due + waited)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let mut clocks = Vec::new();
    if first_at.is_none() {
        clocks.push(("first_response", created, first_due_new));
    }
    if !State::parse(&st).is_some_and(State::has_result) {
        clocks.push(("result", created, result_due + waited));
    }
    enqueue_clocks(tx, now, id, &clocks).await
}

/// What staff say when they stop the clocks to wait on the resident (a visit they must be home
/// for, a document to bring), or start them again.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Wait {
    /// `true` to start waiting, `false` to stop.
    pub waiting: bool,
    /// What is awaited (required to start waiting).
    #[serde(default)]
    pub note: String,
}

/// Starts or ends a wait on the resident. While waiting, the clocks stand still.
pub async fn wait(state: &AppState, p: &Principal, id: i64, w: &Wait) -> AppResult<CaseView> {
    let case = load_for_staff(state, p, id).await?;
    let note = kernel::validate::at_most_multiline("note", &w.note, 1000)?;
    if case.state.has_result() {
        return Err(AppError::field("waiting", "case_move_not_allowed"));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if w.waiting {
        if note.is_empty() {
            return Err(AppError::field("note", "required"));
        }
        let n = sqlx::query(
            "UPDATE cases SET paused_at = $1, updated_at = $1 WHERE id = $2 AND paused_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(AppError::Conflict {
                field: "waiting".into(),
                code: "case_changed",
            });
        }
        event(&mut tx, id, now, p.user_id, "waiting", None, note).await?;
    } else {
        settle_pause(&mut tx, now, id).await?;
        event(&mut tx, id, now, p.user_id, "resumed", None, note).await?;
    }
    crate::ledger::forget(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, true).await
}

/// Whether a case is kept off the public ledger.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Visibility {
    /// `true` keeps it off the ledger and Open311.
    pub private: bool,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// Keeps a case off the public ledger, or puts it back (staff). On the timeline.
pub async fn set_visibility(
    state: &AppState,
    p: &Principal,
    id: i64,
    v: &Visibility,
) -> AppResult<CaseView> {
    let case = load_for_staff(state, p, id).await?;
    let note = kernel::validate::at_most_multiline("note", &v.note, 500)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE cases SET private = $1, updated_at = $2 WHERE id = $3")
        .bind(v.private as i64)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    event(
        &mut tx,
        id,
        now,
        p.user_id,
        if v.private {
            "made_private"
        } else {
            "made_public"
        },
        None,
        note,
    )
    .await?;
    crate::ledger::forget(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, true).await
}

/// Reassigning a case.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Assign {
    /// The staff member or grid worker who takes it over.
    pub user_id: i64,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// Reassigns a case. The first owner stays on record as accountable.
pub async fn assign(state: &AppState, p: &Principal, id: i64, a: &Assign) -> AppResult<CaseView> {
    let case = load_for_staff(state, p, id).await?;
    let note = kernel::validate::at_most_multiline("note", &a.note, 1000)?;
    let handlers = kernel::people::with_roles(&state.db.pool, case.community_id, crate::policy::HANDLERS).await?;
    if !handlers.iter().any(|(id, _)| *id == a.user_id) {
        return Err(AppError::field("user_id", "not_found_ref"));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // Handing a case to who already has it changes nothing: refused, so the timeline never says
    // it was handed over.
    let moved = sqlx::query("UPDATE cases SET assignee_user_id = $1, owner_user_id = COALESCE(owner_user_id, $1), updated_at = $2 WHERE id = $3 AND (assignee_user_id IS NULL OR assignee_user_id <> $1)")
        .bind(a.user_id)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved == 0 {
        let name = kernel::people::contact(&mut *tx, a.user_id).await?.map(|c| c.display_name).unwrap_or_default();
        return Err(AppError::Validation(vec![
            kernel::FieldError::new("user_id", "case_already_assigned").arg("name", name),
        ]));
    }
    let event_id = event(&mut tx, id, now, p.user_id, "assigned", None, note).await?;
    alert(
        &mut tx,
        now,
        case.community_id,
        id,
        &[a.user_id],
        "case_assigned",
        &format!("e{event_id}"),
        &[],
        Channel::Inbox,
    )
    .await?;
    tx.commit().await?;
    view(state, id, true).await
}

/// A staff correction of the automatic triage.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Reclassify {
    /// The right urgency.
    pub urgency: Urgency,
    /// The right category.
    pub category: Category,
    /// Why (required: kept on the timeline with who made it).
    pub reason: String,
}

/// Overrides the triage. A new urgency sets new due times from the filing time under the
/// matching service level; the override stays on the timeline with who and why.
pub async fn reclassify(
    state: &AppState,
    p: &Principal,
    id: i64,
    r: &Reclassify,
) -> AppResult<CaseView> {
    let case = load_for_staff(state, p, id).await?;
    // A finished case's clocks are history: the published rates must not be rewritten.
    if case.state.has_result() {
        return Err(AppError::field("urgency", "case_move_not_allowed"));
    }
    let reason = kernel::validate::required_multiline("reason", &r.reason, 500)?;
    let (old_u, old_c, created, first_at, paused_ms, old_first_due, old_result_due): (String, String, i64, Option<i64>, i64, i64, i64) = sqlx::query_as(
        "SELECT urgency, category, created_at, first_response_at, paused_ms, first_response_due, result_due FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&state.db.pool)
    .await?;
    let sla = crate::policy::sla_for(state, case.community_id, r.urgency, r.category).await?;
    // Running clocks are measured again from the filing, plus the time already spent waiting on
    // the resident; a met first response keeps its due time.
    let first_due = match first_at {
        Some(_) => old_first_due,
        None => {
            crate::policy::due(
                state,
                case.community_id,
                created,
                sla.first_response_ms,
                sla.working_hours,
            )
            .await?
                + paused_ms
        }
    };
    let result_due = crate::policy::due(
        state,
        case.community_id,
        created,
        sla.result_ms,
        sla.working_hours,
    )
    .await?
        + paused_ms;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // Care is about a person: a case that becomes care leaves the public ledger.
    let to_care = r.category == Category::Care && old_c != "care";
    sqlx::query(&format!(
        "UPDATE cases SET urgency = $1, category = $2, first_response_due = $3, result_due = $4, updated_at = $5, triage_pending = 0{} WHERE id = $6",
        if to_care { ", private = 1" } else { "" }
    ))
    .bind(r.urgency.code())
    .bind(r.category.code())
    .bind(first_due)
    .bind(result_due)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let note = format!(
        "{old_u}/{old_c} → {}/{}: {reason}",
        r.urgency.code(),
        r.category.code()
    );
    event(&mut tx, id, now, p.user_id, "reclassified", None, &note).await?;
    let text: String = sqlx::query_scalar("SELECT text FROM cases WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    crate::learning::record_correction(&mut tx, case.community_id, id, &text, r.urgency, r.category, p.user_id, now).await?;
    // New checks only for clocks whose due time moved; the old chains end at their next check.
    let mut clocks = Vec::new();
    if first_at.is_none() && first_due != old_first_due {
        clocks.push(("first_response", created, first_due));
    }
    if result_due != old_result_due {
        clocks.push(("result", created, result_due));
    }
    enqueue_clocks(&mut tx, now, id, &clocks).await?;
    if r.urgency == Urgency::Critical && old_u != "critical" {
        let on_duty = crate::policy::on_duty_for(state, &mut tx, case.community_id, now, case.whereabouts).await?;
        let facts = critical_facts(&mut tx, &state.base_url, now, id).await?;
        alert(&mut tx, now, case.community_id, id, &on_duty, "case_critical", "reclassified", &facts, Channel::Sms).await?;
    }
    crate::ledger::forget(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, true).await
}

/// The case as staff (`staff = true`) or its author sees it.
pub async fn view(state: &AppState, id: i64, staff: bool) -> AppResult<CaseView> {
    views(state, &[id], staff)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The timeline entries a filer sees.
const RESIDENT_EVENTS: &[&str] = &[
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
pub async fn views(state: &AppState, ids: &[i64], staff: bool) -> AppResult<Vec<CaseView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    kernel::row! {
        struct ViewRow {
            id: i64,
            community_id: i64,
            source: String,
            anonymous: i64,
            author_user_id: Option<i64>,
            text: String,
            place: String,
            building_id: Option<i64>,
            unit_id: Option<i64>,
            resident_id: Option<i64>,
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
            entered_by: Option<i64>,
            assignee_user_id: Option<i64>,
            owner_user_id: Option<i64>,
            escalation_level: i64,
            parent_case_id: Option<i64>,
            paused_at: Option<i64>,
            private: i64,
            triage_pending: i64,
            triage_model: Option<String>,
        }
    }
    kernel::row! {
        struct EventRow {
            case_id: i64,
            at: i64,
            kind: String,
            state: Option<String>,
            note: String,
            actor_user_id: Option<i64>,
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
    let wanted = |f: fn(&ViewRow) -> Option<i64>| kernel::db::distinct_ids(rows.iter().filter_map(f));
    let buildings = registry::places::building_names(&state.db.pool, &wanted(|r| r.building_id)).await?;
    let units = registry::places::unit_names(&state.db.pool, &wanted(|r| r.unit_id)).await?;
    let residents = registry::people::contacts(&state.db.pool, &wanted(|r| r.resident_id)).await?;
    let people = kernel::db::distinct_ids(rows.iter().flat_map(|r| [r.author_user_id, r.entered_by, r.assignee_user_id, r.owner_user_id]).flatten());
    let names = kernel::people::names(&state.db.pool, &people).await?;
    let name_of = |id: Option<i64>| id.and_then(|u| names.get(&u).cloned());
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
pub async fn ensure_within_reach(state: &AppState, p: &Principal, id: i64) -> AppResult<()> {
    load_for_staff(state, p, id).await.map(|_| ())
}

/// A case as staff see it, for someone who may handle it; to anyone else it does not exist.
pub async fn read_as_staff(state: &AppState, p: &Principal, id: i64) -> AppResult<CaseView> {
    load_for_staff(state, p, id).await?;
    view(state, id, true).await
}

/// A case for a logged-in reader: staff of its community, or its named author.
pub async fn read(state: &AppState, p: &Principal, id: i64) -> AppResult<CaseView> {
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
pub async fn is_author(state: &AppState, p: &Principal, id: i64) -> AppResult<bool> {
    let case = load(state, id).await?;
    speaks_for(state, p, &case).await
}

/// The case behind an anonymous author's private link.
pub async fn by_follow_token(state: &AppState, token: &str) -> AppResult<i64> {
    if token.len() > 64 {
        return Err(AppError::NotFound);
    }
    sqlx::query_scalar("SELECT id FROM cases WHERE follow_token_hash = $1")
        .bind(hash_token(token))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)
}

/// What the staff queue can be narrowed to; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// One state.
    pub state: Option<State>,
    /// One category.
    pub category: Option<Category>,
    /// The cases of one grid's buildings.
    pub grid_id: Option<i64>,
    /// Only cases tied to no building (their place is not known).
    pub no_building: bool,
    /// The cases of one person.
    pub assignee: Option<i64>,
    /// Only cases with a clock past due.
    pub overdue: bool,
    /// Only cases whose running clock falls due later today (as the overview's 今天到期 counts).
    pub due_today: bool,
    /// Finished cases (closed, merged, not ours, withdrawn) too.
    pub finished: bool,
    /// A case number (`12` or `#12`), or words from the report or its place.
    pub text: String,
}

/// States a case is finished in.
const FINISHED: [&str; 4] = ["closed", "duplicate", "not_ours", "withdrawn"];

impl QueueFilter {
    /// The filter as a condition on `cases c`; `grid_buildings` are the buildings of the
    /// filter's grid, as the registry has them.
    fn condition(&self, now: i64, grid_buildings: &[i64]) -> Cond {
        let mut all = Cond::all();
        match self.state {
            Some(st) => all = all.add(col("c", "state").eq(st.code())),
            None if !self.finished => all = all.add(col("c", "state").is_not_in(FINISHED)),
            None => {}
        }
        if let Some(c) = self.category {
            all = all.add(col("c", "category").eq(c.code()));
        }
        if self.grid_id.is_some() {
            all = all.add(col("c", "building_id").is_in(grid_buildings.iter().copied()));
        }
        if self.no_building {
            all = all.add(col("c", "building_id").is_null());
        }
        if let Some(a) = self.assignee {
            all = all.add(col("c", "assignee_user_id").eq(a));
        }
        // A clock runs while the case is neither paused nor resolved; the one running is the
        // first response's until it is given, then the result's.
        let running = || {
            Cond::all()
                .add(col("c", "paused_at").is_null())
                .add(col("c", "state").is_not_in(["resolved", "verified", "closed", "duplicate", "not_ours", "withdrawn"]))
        };
        if self.overdue {
            all = all.add(running()).add(
                Cond::any()
                    .add(col("c", "first_response_at").is_null().and(col("c", "first_response_due").lt(now)))
                    .add(col("c", "resolved_at").is_null().and(col("c", "result_due").lt(now))),
            );
        }
        if self.due_today {
            let due = || raw("CASE WHEN c.first_response_at IS NULL THEN c.first_response_due ELSE c.result_due END");
            all = all.add(running()).add(Expr::expr(due()).gte(now)).add(Expr::expr(due()).lt(local_midnight_after(now)));
        }
        let text = self.text.trim();
        if !text.is_empty() {
            let number = text.trim_start_matches(['#', '＃']).trim().parse::<i64>().ok().filter(|n| *n > 0);
            let mut any = Cond::any().add(contains(col("c", "search_text"), text));
            if let Some(n) = number {
                any = any.add(col("c", "id").eq(n));
            }
            all = all.add(any);
        }
        all
    }
}

/// The staff queue: open cases (finished ones too on request), critical first, then those
/// still being worked on before those waiting for the on-site check or closing, each by the
/// nearest due time; only what the person may handle (`crate::reach`), narrowed by `filter`.
pub async fn queue(
    state: &AppState,
    p: &Principal,
    community_id: i64,
    filter: &QueueFilter,
    after_rank: Option<i64>,
    limit: i64,
) -> AppResult<Vec<CaseView>> {
    p.require(community_id, &CASES_HANDLE)?;
    let reach = crate::reach::of(state, p, community_id).await?.ok_or(AppError::Forbidden)?;
    let grid_buildings = match filter.grid_id {
        Some(g) => registry::places::buildings_of_grid(&state.db.pool, g).await?,
        None => Vec::new(),
    };
    let mut q = Query::select();
    q.column((Alias::new("c"), Alias::new("id")))
        .from_as(Alias::new("cases"), Alias::new("c"))
        .cond_where(filter.condition(state.now(), &grid_buildings).add(col("c", "community_id").eq(community_id)));
    if let Some(within) = reach.condition("c") {
        q.and_where(raw(within));
    }
    // Open before finished; critical first; then reports the classifier could not read, which
    // need a person to classify them; those still being worked on before those waiting for the
    // check or closing; then by the nearest due time.
    q.order_by_expr(raw("CASE WHEN c.state IN ('closed', 'duplicate', 'not_ours', 'withdrawn') THEN 1 ELSE 0 END"), Order::Asc)
        .order_by_expr(raw("CASE WHEN c.urgency = 'critical' THEN 0 ELSE 1 END"), Order::Asc)
        .order_by((Alias::new("c"), Alias::new("triage_pending")), Order::Desc)
        .order_by_expr(raw("CASE WHEN c.state IN ('resolved', 'verified') THEN 1 ELSE 0 END"), Order::Asc)
        .order_by_expr(raw("CASE WHEN c.state = 'new' THEN c.first_response_due ELSE c.result_due END"), Order::Asc)
        .order_by((Alias::new("c"), Alias::new("id")), Order::Asc)
        .limit(u64::try_from(limit + 1).unwrap_or(1))
        .offset(u64::try_from(after_rank.unwrap_or(0)).unwrap_or(0));
    let (sql, values) = state.db.build(&q);
    let ids: Vec<i64> = sqlx::query_scalar_with(&sql, values).fetch_all(&state.db.pool).await?;
    views(state, &ids, true).await
}

/// The next local (Asia/Shanghai) midnight after `now`.
fn local_midnight_after(now: i64) -> i64 {
    let day = crate::domain::local_date(now);
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default() - crate::domain::LOCAL_OFFSET
}

/// The figures at the top of the console: open cases, those past due, those due today and
/// this month's satisfaction, over the cases the person may handle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Open cases: every case not finished, as the queue lists them (those resolved or checked
    /// on site still wait on staff for the check or the closing).
    pub open: i64,
    /// Open cases with a clock past due.
    pub overdue: i64,
    /// Open cases with a clock due before local midnight (and not yet past due).
    pub due_today: i64,
    /// Satisfied or basically satisfied ÷ rated, over the cases filed this local month (as the
    /// ledger's month row counts them); none when nothing of them is rated.
    pub satisfaction_this_month: Option<f64>,
}

/// The console's figures for `p` in `community_id` (none for someone who handles no cases).
pub async fn workload(state: &AppState, p: &Principal, community_id: i64) -> AppResult<Option<Workload>> {
    let Some(reach) = crate::reach::of(state, p, community_id).await? else {
        return Ok(None);
    };
    let reach = reach.sql("c");
    let now = state.now();
    let day = crate::domain::local_date(now);
    let midnight = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default()
            - crate::domain::LOCAL_OFFSET
    };
    let tomorrow = local_midnight_after(now);
    let month_start = midnight(day.with_day(1).unwrap_or(day));
    let rows = sqlx::query(&format!(
        "SELECT c.state, c.first_response_at, c.first_response_due, c.resolved_at, c.result_due, c.paused_at \
         FROM cases c WHERE c.community_id = $1 AND c.state NOT IN ('closed', 'duplicate', 'not_ours', 'withdrawn'){reach}"
    ))
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut w = Workload {
        open: rows.len() as i64,
        ..Workload::default()
    };
    for r in &rows {
        // A paused case runs no clock; a resolved one has met its result clock.
        let resolved = matches!(r.get::<String, _>(0).as_str(), "resolved" | "verified");
        if r.get::<Option<i64>, _>(5).is_some() || resolved {
            continue;
        }
        // The clock that runs: the first response until given, then the result.
        let due = if r.get::<Option<i64>, _>(1).is_none() {
            r.get::<i64, _>(2)
        } else {
            r.get::<i64, _>(4)
        };
        if due < now {
            w.overdue += 1;
        } else if due < tomorrow {
            w.due_today += 1;
        }
    }
    let rated: Vec<Option<String>> = sqlx::query_scalar(&format!(
        "SELECT r.satisfaction FROM case_ratings r JOIN cases c ON c.id = r.case_id \
         WHERE c.community_id = $1 AND r.used_at IS NOT NULL AND c.created_at >= $2{reach}"
    ))
    .bind(community_id)
    .bind(month_start)
    .fetch_all(&state.db.pool)
    .await?;
    let satisfied = rated
        .iter()
        .filter(|s| matches!(s.as_deref(), Some("satisfied" | "basic")))
        .count();
    w.satisfaction_this_month = crate::ledger::ratio(satisfied as i64, rated.len() as i64);
    Ok(Some(w))
}

/// The service level a report of `urgency` is promised before it is classified: the
/// community's policy for that urgency whatever the category, else the default.
pub async fn promised(state: &AppState, community_id: i64, urgency: Urgency) -> AppResult<crate::domain::Sla> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT first_response_minutes, result_minutes, working_hours FROM sla_policies WHERE community_id = $1 AND urgency = $2 AND category = ''",
    )
    .bind(community_id)
    .bind(urgency.code())
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(match row {
        Some((first, result, working)) => crate::domain::Sla {
            first_response_ms: first * kernel::clock::MINUTE,
            result_ms: result * kernel::clock::MINUTE,
            working_hours: working != 0,
        },
        None => crate::domain::default_sla(urgency),
    })
}

/// The cases a person filed under their name or that were filed for them (by family, say),
/// each once, newest first.
pub async fn mine(state: &AppState, user_id: i64) -> AppResult<Vec<CaseView>> {
    let residents: Vec<i64> = registry::people::of_login(&state.db.pool, user_id).await?.into_iter().map(|r| r.id).collect();
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT c.id FROM cases c WHERE c.author_user_id = $1 OR (c.anonymous = 0 AND {}) ORDER BY c.id DESC LIMIT 100",
        kernel::db::in_list("c.resident_id", &residents)
    ))
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?;
    views(state, &ids, false).await
}

/// Runs a clock check. A warning goes to the assignee (or the staff on duty when nobody is
/// assigned) when a fifth of the time is left; at a breach the case escalates to the staff on
/// duty, and if it is still unmet when half its time again has passed, to the community head —
/// by text as well as in the inbox, on the timeline. A met, paused or moved clock does nothing.
pub async fn check_clock(
    state: &AppState,
    case_id: i64,
    clock: &str,
    stage: &str,
    due: Option<i64>,
    start: Option<i64>,
) -> AppResult<()> {
    let Some(r) = sqlx::query(
        "SELECT community_id, first_response_at, resolved_at, state, first_response_due, result_due, paused_at, assignee_user_id, escalation_level, \
         building_id, entered_by FROM cases WHERE id = $1",
    )
    .bind(case_id)
    .fetch_optional(&state.db.pool)
    .await?
    else {
        return Ok(());
    };
    let stored: String = r.get(3);
    let st = State::parse(&stored).ok_or_else(|| AppError::internal(format!("stored state {stored}")))?;
    let (stopped, current_due) = match clock {
        "first_response" => (
            r.get::<Option<i64>, _>(1).is_some() || st.is_final(),
            r.get::<i64, _>(4),
        ),
        _ => (st.has_result(), r.get::<i64, _>(5)),
    };
    if stopped || r.get::<Option<i64>, _>(6).is_some() || due.is_some_and(|d| d != current_due) {
        return Ok(());
    }
    let community_id: i64 = r.get(0);
    let assignee: Option<i64> = r.get(7);
    let level: i64 = r.get(8);
    let whereabouts = crate::reach::Whereabouts { building: r.get(9), entered_by: r.get(10), assignee };
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if stage == "warn" {
        event(&mut tx, case_id, now, None, "clock_warning", None, clock).await?;
        let to = match assignee {
            Some(a) => vec![a],
            None => crate::policy::on_duty_for(state, &mut tx, community_id, now, whereabouts).await?,
        };
        alert(
            &mut tx,
            now,
            community_id,
            case_id,
            &to,
            "case_at_risk",
            &format!("{clock}:{current_due}"),
            &[("clock", clock.to_string())],
            Channel::Inbox,
        )
        .await?;
        if let Some(start) = start {
            enqueue_check(&mut tx, now, case_id, clock, "breach", start, current_due).await?;
        }
        return tx.commit().await;
    }
    if stage == "breach" {
        event(&mut tx, case_id, now, None, "clock_breached", None, clock).await?;
        if let Some(start) = start {
            enqueue_check(&mut tx, now, case_id, clock, "escalate", start, current_due).await?;
        }
    }
    // The stage decides the step of the chain: a breach goes to the staff on duty, the later check
    // to the community head (the case's level is the highest step any of its clocks reached).
    let step = if stage == "breach" { 1 } else { 2 };
    if step > level {
        sqlx::query(
            "UPDATE cases SET escalation_level = $1 WHERE id = $2 AND escalation_level < $1",
        )
        .bind(step)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            case_id,
            now,
            None,
            "escalated",
            None,
            &format!("{clock}:{step}"),
        )
        .await?;
    }
    let mut to = if step >= 2 {
        crate::policy::heads(&mut tx, community_id).await?
    } else {
        crate::policy::on_duty_for(state, &mut tx, community_id, now, whereabouts).await?
    };
    to.extend(assignee);
    let to = kernel::db::distinct_ids(to);
    let template = if step >= 2 {
        "case_escalated_head"
    } else {
        "case_breached"
    };
    alert(
        &mut tx,
        now,
        community_id,
        case_id,
        &to,
        template,
        &format!("{clock}:{stage}:{current_due}"),
        &[("clock", clock.to_string())],
        Channel::Sms,
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_the_classifier_fails_on_is_filed_urgent_for_staff_to_classify_and_counted() {
        let metrics = kernel::metrics::Metrics::default();
        let (t, pending) =
            triage_or_fallback(&metrics, "楼道里有很浓的臭鸡蛋味", |_| {
                Err(triage::Failure(
                    "byte index 3 is not a char boundary".into(),
                ))
            });
        assert!(pending);
        assert!(t.urgency >= Urgency::Urgent);
        assert_eq!(metrics.triage_failures.get(), 1);
        assert!(metrics
            .render(&[])
            .contains("linli_triage_failures_total 1"));
        let (t, pending) =
            triage_or_fallback(&metrics, "楼道里有很浓的臭鸡蛋味", triage::try_classify);
        assert!(!pending && t.urgency >= Urgency::Urgent);
        assert_eq!(metrics.triage_failures.get(), 1);
    }
}
