//! Case use cases: filing (triaged, clocked, deduplicated by an idempotency key), moving
//! through the workflow, and reading — with anonymity kept: an anonymous case stores no link
//! to its author, who follows it with a private token instead.

use crate::domain::{clock_state, default_sla, ClockState, Source, State};
use kernel::auth::{Permission, Principal, Role};
use kernel::crypto::{hash_token, random_token};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::i18n::Locale;
use kernel::state::AppState;
use notify::{Channel, Message};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use triage::{Category, Urgency};

/// Handle cases: see the queue, respond, resolve.
pub const CASES_HANDLE: Permission = Permission { name: "cases.handle", roles: &[Role::Staff, Role::Admin, Role::GridWorker] };

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
    /// File without a name: staff never see who filed it.
    #[serde(default)]
    pub anonymous: bool,
    /// Channel; residents file as `resident`, staff may record other channels.
    pub source: Option<Source>,
    /// A resubmitted form with the same key files nothing new.
    pub idempotency_key: Option<String>,
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

/// The case already filed with this idempotency key, if any.
pub async fn filed_with_key(state: &AppState, community_id: i64, key: &str) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM cases WHERE community_id = $1 AND idempotency_key = $2")
        .bind(community_id)
        .bind(key.trim())
        .fetch_optional(&state.db.pool)
        .await?)
}

/// Files a case in community `community_id`. `filer` is `None` for a visitor who is not logged in
/// (then the case must be anonymous).
pub async fn file(state: &AppState, filer: Option<&Principal>, community_id: i64, new: &NewCase) -> AppResult<Filed> {
    let text = kernel::validate::required("text", &new.text, 2000)?;
    let place = kernel::validate::at_most("place", &new.place, 100)?;
    let key = match new.idempotency_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => Some(kernel::validate::at_most("idempotency_key", k, 100)?.to_string()),
        None => None,
    };
    let source = new.source.unwrap_or(Source::Resident);
    let staff_side = filer.is_some_and(|p| p.can(community_id, &CASES_HANDLE));
    if source != Source::Resident && !staff_side {
        return Err(AppError::field("source", "invalid_choice"));
    }
    if filer.is_none() && !new.anonymous {
        return Err(AppError::Unauthorized);
    }
    if let Some(k) = &key {
        let existing = sqlx::query("SELECT id, urgency, category FROM cases WHERE community_id = $1 AND idempotency_key = $2")
            .bind(community_id)
            .bind(k)
            .fetch_optional(&state.db.pool)
            .await?;
        if let Some(r) = existing {
            return Ok(Filed {
                id: r.get(0),
                urgency: parse_urgency(r.get::<String, _>(1).as_str())?,
                category: Category::parse(r.get::<String, _>(2).as_str()).unwrap_or(Category::Suggestion),
                follow_token: None,
            });
        }
    }
    if let Some(b) = new.building_id {
        let ok: Option<i64> = sqlx::query_scalar("SELECT id FROM buildings WHERE id = $1 AND community_id = $2")
            .bind(b)
            .bind(community_id)
            .fetch_optional(&state.db.pool)
            .await?;
        ok.ok_or_else(|| AppError::field("building_id", "not_found_ref"))?;
    }
    let t = triage::classify(text);
    let sla = default_sla(t.urgency);
    let now = state.now();
    let follow_token = new.anonymous.then(|| random_token(24));
    let author = if new.anonymous { None } else { filer.and_then(|p| p.user_id) };
    let mut tx = state.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (community_id, source, author_user_id, anonymous, follow_token_hash, text, place, building_id, urgency, category, \
         triage_reasons, state, first_response_due, result_due, idempotency_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(community_id)
    .bind(source.code())
    .bind(author)
    .bind(new.anonymous as i64)
    .bind(follow_token.as_deref().map(hash_token))
    .bind(text)
    .bind(place)
    .bind(new.building_id)
    .bind(t.urgency.code())
    .bind(t.category.code())
    .bind(serde_json::to_string(&t.reasons).map_err(AppError::internal)?)
    .bind(now + sla.first_response_ms)
    .bind(now + sla.result_ms)
    .bind(&key)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| AppError::from(e).on_conflict("idempotency_key", "taken"))?;
    event(&mut tx, id, now, None, "filed", Some(State::New), "").await?;
    // The clocks: a warning when a fifth of the time is left, an escalation at the due time.
    for (clock, due, span) in [("first_response", now + sla.first_response_ms, sla.first_response_ms), ("result", now + sla.result_ms, sla.result_ms)] {
        for (stage, at) in [("warn", due - span / 5), ("breach", due + 1)] {
            kernel::jobs::enqueue(&mut tx, CLOCK_JOB, &serde_json::json!({"case_id": id, "clock": clock, "stage": stage}), at, now).await?;
        }
    }
    if t.urgency == Urgency::Critical {
        alert_staff(&mut tx, now, community_id, id, "case_critical", "filed", &[("text", text.chars().take(40).collect())], Channel::Sms).await?;
    }
    tx.commit().await?;
    Ok(Filed { id, urgency: t.urgency, category: t.category, follow_token })
}

async fn event(tx: &mut WriteTx, case_id: i64, at: i64, actor: Option<i64>, kind: &str, state: Option<State>, note: &str) -> AppResult<i64> {
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

/// Messages every staff member and admin of the community (in the inbox, and by `channel`).
/// `key` makes the message unique (a retry of the same alert sends nothing new).
async fn alert_staff(tx: &mut WriteTx, now: i64, community_id: i64, case_id: i64, template: &'static str, key: &str, params: &[(&'static str, String)], channel: Channel) -> AppResult<()> {
    let staff = sqlx::query(
        "SELECT DISTINCT u.id, u.phone, u.locale FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role IN ('staff', 'admin') ORDER BY u.id",
    )
    .bind(community_id)
    .fetch_all(&mut **tx)
    .await?;
    for s in staff {
        let user_id: i64 = s.get(0);
        let locale = Locale::parse(s.get::<String, _>(2).as_str()).unwrap_or_default();
        let mut params: Vec<(&'static str, String)> = params.to_vec();
        params.push(("case", case_id.to_string()));
        let channels: &[Channel] = if channel == Channel::Inbox { &[Channel::Inbox] } else { &[Channel::Inbox, channel] };
        for &ch in channels {
            let msg = Message {
                community_id: Some(community_id),
                user_id: Some(user_id),
                channel: ch,
                to: if ch == Channel::Sms { s.get(1) } else { String::new() },
                template,
                params: params.clone(),
                link: Some(format!("/api/v1/cases/{case_id}")),
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
}

struct CaseRow {
    community_id: i64,
    state: State,
    author: Option<i64>,
    anonymous: bool,
}

async fn load(state: &AppState, id: i64) -> AppResult<CaseRow> {
    let r = sqlx::query("SELECT community_id, state, author_user_id, anonymous FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(CaseRow {
        community_id: r.get(0),
        state: State::parse(r.get::<String, _>(1).as_str()).ok_or_else(|| AppError::internal("stored state"))?,
        author: r.get(2),
        anonymous: r.get::<i64, _>(3) != 0,
    })
}

/// Who is moving a case.
pub enum Mover<'a> {
    /// A logged-in person (staff, or the named author).
    Person(&'a Principal),
    /// The holder of an anonymous case's private link.
    FollowToken,
}

/// Moves a case, checking who may make the move and what it needs.
pub async fn move_case(state: &AppState, mover: Mover<'_>, id: i64, m: &Move) -> AppResult<CaseView> {
    let case = load(state, id).await?;
    let note = kernel::validate::at_most("note", &m.note, 1000)?;
    let (allowed, actor, by_staff) = match &mover {
        Mover::Person(p) if p.can(case.community_id, &CASES_HANDLE) => (case.state.staff_moves(), p.user_id, true),
        Mover::Person(p) if p.user_id.is_some() && p.user_id == case.author => (case.state.author_moves(), None, false),
        Mover::Person(_) => return Err(AppError::NotFound),
        Mover::FollowToken => (case.state.author_moves(), None, false),
    };
    if !allowed.contains(&m.to) {
        return Err(AppError::Validation(vec![kernel::FieldError::new("to", "case_move_not_allowed")
            .arg("from", case.state.code())
            .arg("to", m.to.code())]));
    }
    if by_staff && matches!(m.to, State::Acknowledged | State::Referred | State::Resolved) && note.is_empty() {
        return Err(AppError::field("note", "required"));
    }
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
    let moved = sqlx::query(&format!("UPDATE cases SET state = $2, updated_at = $1{stamp} WHERE id = $3 AND state = $4"))
        .bind(now)
        .bind(m.to.code())
        .bind(id)
        .bind(case.state.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if moved == 0 {
        // Someone else moved it in the meantime.
        return Err(AppError::Conflict { field: "to".into(), code: "case_changed" });
    }
    let kind = if by_staff { "moved" } else { "author_moved" };
    let event_id = event(&mut tx, id, now, actor, kind, Some(m.to), note).await?;
    let rating_token = if m.to == State::Resolved { Some(crate::rating::issue(&mut tx, now, id).await?) } else { None };
    // The named author hears about every step (anonymous authors follow their private link).
    if let (Some(author), false) = (case.author, case.anonymous) {
        if by_staff {
            let locale: String = sqlx::query_scalar("SELECT locale FROM users WHERE id = $1").bind(author).fetch_one(&mut *tx).await?;
            let locale = Locale::parse(&locale).unwrap_or_default();
            let label = kernel::i18n::t(locale, &format!("case_state.{}", m.to.code())).to_string();
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(author),
                channel: Channel::Inbox,
                to: String::new(),
                template: "case_update",
                params: vec![("case", id.to_string()), ("state", label)],
                link: Some(format!("/api/v1/cases/{id}")),
                locale,
                idempotency_key: format!("case_update:{event_id}"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
            // The result and the rating link also go by text: many residents never open an app.
            if let Some(token) = &rating_token {
                let phone: String = sqlx::query_scalar("SELECT phone FROM users WHERE id = $1").bind(author).fetch_one(&mut *tx).await?;
                let link = format!("{}/r/{token}", state.base_url);
                for (channel, to) in [(Channel::Inbox, String::new()), (Channel::Sms, phone)] {
                    let msg = Message {
                        community_id: Some(case.community_id),
                        user_id: Some(author),
                        channel,
                        to,
                        template: "case_rate",
                        params: vec![("case", id.to_string()), ("link", link.clone())],
                        link: Some(format!("/r/{token}")),
                        locale,
                        idempotency_key: format!("case_rate:{event_id}:{}", channel.code()),
                    };
                    notify::service::send(&mut tx, now, &msg).await?;
                }
            }
        }
    }
    if by_staff {
        let followers: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM case_followers WHERE case_id = $1 ORDER BY user_id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        for follower in followers.into_iter().filter(|f| Some(*f) != case.author) {
            let label = kernel::i18n::t(Locale::ZhCn, &format!("case_state.{}", m.to.code())).to_string();
            let msg = Message {
                community_id: Some(case.community_id),
                user_id: Some(follower),
                channel: Channel::Inbox,
                to: String::new(),
                template: "case_update",
                params: vec![("case", id.to_string()), ("state", label)],
                link: Some(format!("/ledger#case-{id}")),
                locale: Locale::ZhCn,
                idempotency_key: format!("case_update:{event_id}:follower:{follower}"),
            };
            notify::service::send(&mut tx, now, &msg).await?;
        }
    }
    tx.commit().await?;
    view(state, id, by_staff).await
}

/// The case as staff (`staff = true`) or its author sees it.
pub async fn view(state: &AppState, id: i64, staff: bool) -> AppResult<CaseView> {
    let r = sqlx::query(
        "SELECT c.id, c.community_id, c.source, c.anonymous, u.display_name, c.text, c.place, c.building_id, c.urgency, c.category, \
         c.triage_reasons, c.state, c.first_response_due, c.result_due, c.first_response_at, c.resolved_at, c.created_at \
         FROM cases c LEFT JOIN users u ON u.id = c.author_user_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let now = state.now();
    let created: i64 = r.get(16);
    let anonymous = r.get::<i64, _>(3) != 0;
    let events = sqlx::query("SELECT e.at, e.kind, e.state, e.note, e.actor_user_id FROM case_events e WHERE e.case_id = $1 ORDER BY e.id")
        .bind(id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        .map(|e| Event {
            at: e.get(0),
            kind: e.get(1),
            state: e.get::<Option<String>, _>(2).and_then(|s| State::parse(&s)),
            note: e.get(3),
            by: if e.get::<Option<i64>, _>(4).is_some() { "staff".into() } else { "filer_or_system".into() },
        })
        .collect();
    Ok(CaseView {
        id: r.get(0),
        community_id: r.get(1),
        source: r.get(2),
        anonymous,
        author: if staff && !anonymous { r.get(4) } else { None },
        text: r.get(5),
        place: r.get(6),
        building_id: r.get(7),
        urgency: parse_urgency(r.get::<String, _>(8).as_str())?,
        category: Category::parse(r.get::<String, _>(9).as_str()).unwrap_or(Category::Suggestion),
        reasons: serde_json::from_str(r.get::<String, _>(10).as_str()).unwrap_or_default(),
        state: State::parse(r.get::<String, _>(11).as_str()).ok_or_else(|| AppError::internal("stored state"))?,
        first_response_due: r.get(12),
        result_due: r.get(13),
        first_response_clock: clock_state(created, r.get(12), r.get(14), now),
        result_clock: clock_state(created, r.get(13), r.get(15), now),
        created_at: created,
        events,
    })
}

/// A case for a logged-in reader: staff of its community, or its named author.
pub async fn read(state: &AppState, p: &Principal, id: i64) -> AppResult<CaseView> {
    let case = load(state, id).await?;
    if p.can(case.community_id, &CASES_HANDLE) {
        return view(state, id, true).await;
    }
    if p.user_id.is_some() && p.user_id == case.author {
        return view(state, id, false).await;
    }
    Err(AppError::NotFound)
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

/// The staff queue: open cases, critical first, then by the nearest due time.
pub async fn queue(state: &AppState, p: &Principal, community_id: i64, after_rank: Option<i64>, limit: i64) -> AppResult<Vec<CaseView>> {
    p.require(community_id, &CASES_HANDLE)?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM cases WHERE community_id = $1 AND state NOT IN ('closed', 'duplicate', 'not_ours', 'withdrawn') \
         ORDER BY CASE WHEN urgency = 'critical' THEN 0 ELSE 1 END, \
         CASE WHEN state = 'new' THEN first_response_due ELSE result_due END, id LIMIT $2 OFFSET $3",
    )
    .bind(community_id)
    .bind(limit + 1)
    .bind(after_rank.unwrap_or(0))
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(view(state, id, true).await?);
    }
    Ok(out)
}

/// The cases a person filed under their name, newest first.
pub async fn mine(state: &AppState, user_id: i64) -> AppResult<Vec<CaseView>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE author_user_id = $1 ORDER BY id DESC LIMIT 100")
        .bind(user_id)
        .fetch_all(&state.db.pool)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(view(state, id, false).await?);
    }
    Ok(out)
}

/// Runs a clock check: a warning to staff when a fifth of the time is left, an escalation on
/// the timeline and to staff when the clock is breached. A met clock does nothing.
pub async fn check_clock(state: &AppState, case_id: i64, clock: &str, stage: &str) -> AppResult<()> {
    let Some(r) = sqlx::query("SELECT community_id, first_response_at, resolved_at, state FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&state.db.pool)
        .await?
    else {
        return Ok(());
    };
    let st = State::parse(r.get::<String, _>(3).as_str()).unwrap_or(State::Closed);
    let stopped = match clock {
        "first_response" => r.get::<Option<i64>, _>(1).is_some() || st.is_final(),
        _ => st.has_result(),
    };
    if stopped {
        return Ok(());
    }
    let community_id: i64 = r.get(0);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let (kind, template) = if stage == "breach" { ("clock_breached", "case_breached") } else { ("clock_warning", "case_at_risk") };
    event(&mut tx, case_id, now, None, kind, None, clock).await?;
    alert_staff(&mut tx, now, community_id, case_id, template, clock, &[("clock", clock.to_string())], Channel::Inbox).await?;
    tx.commit().await
}
