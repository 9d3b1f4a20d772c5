//! Filing a case: checked words, who files for whom, where, triage, clocks and routing, photos,
//! then one transaction — deduplicated by an idempotency key; an anonymous case stores no link
//! to its author, who follows it with a private token.

use crate::clocks::enqueue_clocks;
use crate::classify::triage_in;
use crate::domain::{Source, State, CASES_HANDLE};
use crate::photos::{Ready, Stage};
use kernel::auth::Principal;
use kernel::crypto::{hash_token, random_token};
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use kernel::web::ClientIp;
use notify::Channel;
use serde::{Deserialize, Serialize};
use sqlx::Row;
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
pub(crate) fn follow_token_for(state: &AppState, community_id: i64, scoped_key: &str) -> String {
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
pub(crate) async fn earlier_filing(
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
            (crate::clocks::Clock::FirstResponse, now, first_due),
            (crate::clocks::Clock::Result, now, result_due),
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
    crate::store::forget_ledger(&mut tx, community_id);
    tx.commit().await?;
    Ok(Filed {
        id,
        urgency: t.urgency,
        category: t.category,
        follow_token,
    })
}
