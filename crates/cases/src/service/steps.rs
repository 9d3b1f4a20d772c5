//! Moving a case through the workflow, and the other steps staff take on it: waiting,
//! visibility, assignment, reclassification.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use crate::domain::{CaseId, State};
use crate::clocks::{enqueue_clocks, restart_result_clock};
use crate::photos::{Ready, Stage};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::i18n::Locale;
use kernel::state::AppState;
use notify::{Channel, Message};
use serde::Deserialize;
use triage::{Category, Urgency};
use super::reading::{CaseView, view};
use super::record::{CaseRow, alert, critical_facts, event, keep_key, load, load_for_staff, speaks_for, subject_login, told_note, within_reach};

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
    pub parent_id: Option<CaseId>,
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
    id: CaseId,
    m: &Move,
    photos: &[Ready],
) -> AppResult<CaseView> {
    move_case_once(state, mover, id, m, photos, None).await
}

/// How long an identical note by the same person on the same case counts as the same
/// submission (a double click, Back and send again, a retry on a poor connection).
pub(crate) const SAME_NOTE_WINDOW_MS: i64 = 5 * kernel::clock::MINUTE;

/// Whether a step with the one-time key `key` was already recorded on case `id` by `actor`.
pub(crate) async fn step_recorded<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    db: E,
    id: CaseId,
    actor: Option<UserId>,
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
    id: CaseId,
    m: &Move,
    photos: &[Ready],
    key: Option<&str>,
) -> AppResult<CaseView> {
    let key = key.map(str::trim).filter(|k| !k.is_empty()).map(|k| kernel::validate::at_most("key", k, 100)).transpose()?;
    let case = load(state, id).await?;
    let note = kernel::validate::at_most_multiline("note", &m.note, 1000)?;
    let role = MoverRole::of(state, &mover, &case).await?;
    let key = key.filter(|_| role.by_staff);
    if let Some(k) = key {
        if step_recorded(&state.db.pool, id, role.actor, k).await? {
            return view(state, id, true).await;
        }
    }
    check_step(&case, &role, m.to, note, photos)?;
    // A step to the state the case is already in adds a note: nothing moves, no clock changes,
    // and the resident (and family) read the note, not another "now in progress".
    if role.by_staff && m.to == case.state {
        return add_note(state, id, &case, role.actor, note, key).await;
    }
    let parent = match (&mover, m.to) {
        (Mover::Person(p), State::Duplicate) => Some(merge_target(state, p, id, case.community_id, m.parent_id).await?),
        _ => None,
    };
    // Photos are stored before the write transaction: no network in it (ADR 002).
    let photos = crate::photos::store(state, photos, false).await?;
    let subject = subject_login(state, &case).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    // Two cases merged into each other at once would leave both closed as duplicates of the
    // other. The parent is held open in this transaction, its row and the case's own taken in
    // id order, so the second of two crossing merges finds its parent a duplicate already.
    let parent_first = parent.is_some_and(|p| p < id);
    if let Some(p) = parent.filter(|_| parent_first) {
        hold_open_parent(&mut tx, p).await?;
    }
    let Some(event_id) = record_move(state, &mut tx, now, id, &case, &role, m.to, note, key).await? else {
        drop(tx);
        // The same form, sent twice at once, moved it: answered as the first was.
        if let Some(k) = key {
            if step_recorded(&state.db.pool, id, role.actor, k).await? {
                return view(state, id, true).await;
            }
        }
        // Someone else moved it in the meantime.
        return Err(AppError::Conflict { field: "to".into(), code: "case_changed" });
    };
    if !photos.is_empty() {
        crate::photos::attach(state, &mut tx, id, case.community_id, role.actor, Stage::After, false, &photos).await?;
    }
    if let Some(parent) = parent {
        if !parent_first {
            hold_open_parent(&mut tx, parent).await?;
        }
        merge(&mut tx, now, id, parent, case.author, role.actor).await?;
    }
    let rating_token = if m.to == State::Resolved { Some(crate::rating::issue(&mut tx, now, id).await?) } else { None };
    if role.by_staff && !case.anonymous {
        let told = Told { id, event_id, to: m.to, note, community_id: case.community_id };
        tell_reporter(state, &mut tx, now, &case, subject, &told, rating_token.as_deref()).await?;
        tell_family(&mut tx, now, &case, subject, &told).await?;
    }
    if role.by_staff && !case.private {
        tell_followers(&mut tx, now, &case, subject, id, event_id, m.to).await?;
    }
    crate::store::forget_ledger(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, role.by_staff).await
}

/// What a mover may do with a case: staff within reach move it as staff, its author (or the
/// family who speak for her, or the holder of its private link) as its author; anyone else
/// does not see it.
struct MoverRole {
    /// The states the mover may move it to from where it stands.
    allowed: &'static [State],
    /// Who is recorded as moving it (staff; an author's steps name nobody).
    actor: Option<UserId>,
    /// Whether the mover acts as staff.
    by_staff: bool,
}

impl MoverRole {
    async fn of(state: &AppState, mover: &Mover<'_>, case: &CaseRow) -> AppResult<MoverRole> {
        let p = match mover {
            Mover::FollowToken => return Ok(MoverRole { allowed: case.state.author_moves(), actor: None, by_staff: false }),
            Mover::Person(p) => p,
        };
        if within_reach(state, p, case).await? {
            Ok(MoverRole { allowed: case.state.staff_moves(), actor: p.user_id, by_staff: true })
        } else if speaks_for(state, p, case).await? {
            Ok(MoverRole { allowed: case.state.author_moves(), actor: None, by_staff: false })
        } else {
            Err(AppError::NotFound)
        }
    }
}

/// What a step needs: a move the mover may make; a note for a staff note, a first response, a
/// referral; a note or an "after" photo for a result; photos only with a staff's result.
fn check_step(case: &CaseRow, role: &MoverRole, to: State, note: &str, photos: &[Ready]) -> AppResult<()> {
    if !role.allowed.contains(&to) {
        // The states in the reader's words, never their codes.
        return Err(AppError::Validation(vec![kernel::FieldError::new("to", "case_move_not_allowed")
            .word("from", format!("case_state.{}", case.state.code()))
            .word("to", format!("case_state.{}", to.code()))]));
    }
    if role.by_staff && to == case.state {
        // A note without a move.
        if note.is_empty() {
            return Err(AppError::field("note", "required"));
        }
        if !photos.is_empty() {
            return Err(AppError::field("photos", "invalid_choice"));
        }
        return Ok(());
    }
    if role.by_staff && matches!(to, State::Acknowledged | State::Referred) && note.is_empty() {
        return Err(AppError::field("note", "required"));
    }
    if role.by_staff && to == State::Resolved && note.is_empty() && photos.is_empty() {
        return Err(AppError::field("note", "case_result_needs_note_or_photo"));
    }
    if !photos.is_empty() && !(role.by_staff && to == State::Resolved) {
        return Err(AppError::field("photos", "invalid_choice"));
    }
    Ok(())
}

/// Moves the case from where it was loaded to `to` in `tx`: its stamps, the end of a wait, the
/// timeline entry (with the form's key), the domain event and, reopened, a new result clock.
/// `None` when it was no longer where it was loaded (someone moved it meanwhile).
#[allow(clippy::too_many_arguments)]
async fn record_move(
    state: &AppState,
    tx: &mut WriteTx,
    now: i64,
    id: CaseId,
    case: &CaseRow,
    role: &MoverRole,
    to: State,
    note: &str,
    key: Option<&str>,
) -> AppResult<Option<i64>> {
    let stamp = match to {
        State::Acknowledged => ", first_response_at = $1",
        State::Resolved => ", resolved_at = $1",
        s if s.is_final() => ", closed_at = $1",
        // Reopened: the result clock runs again.
        State::InProgress if case.state.has_result() => ", resolved_at = NULL",
        _ => "",
    };
    // Any move ends a wait on the resident; the pause is settled first so its time is not counted.
    settle_pause(tx, now, id).await?;
    let moved = sqlx::query(&format!("UPDATE cases SET state = $2, updated_at = $1{stamp} WHERE id = $3 AND state = $4"))
        .bind(now)
        .bind(to.code())
        .bind(id)
        .bind(case.state.code())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if moved == 0 {
        return Ok(None);
    }
    let kind = if role.by_staff { "moved" } else { "author_moved" };
    let event_id = event(tx, id, now, role.actor, kind, Some(to), note).await?;
    keep_key(tx, event_id, key).await?;
    let moved = crate::events::CaseMoved { case_id: id, from: case.state, to, by_staff: role.by_staff };
    kernel::events::publish(state, tx, now, Some(case.community_id), &moved).await?;
    if to == State::InProgress && case.state.has_result() {
        restart_result_clock(state, tx, now, id, case.community_id).await?;
    }
    Ok(Some(event_id))
}

/// A staff step as those who hear of it are told it.
struct Told<'a> {
    id: CaseId,
    event_id: i64,
    to: State,
    note: &'a str,
    community_id: CommunityId,
}

impl Told<'_> {
    /// The new state in `locale`'s words.
    fn state_in(&self, locale: Locale) -> String {
        kernel::i18n::t(locale, &format!("case_state.{}", self.to.code())).to_string()
    }
    /// `case`, `state` and, when there is one, the `note` as told.
    fn params(&self, locale: Locale) -> Vec<(&'static str, String)> {
        let mut params = vec![("case", self.id.to_string()), ("state", self.state_in(locale))];
        if !self.note.is_empty() {
            params.push(("note", told_note(self.note)));
        }
        params
    }
}

/// The named reporter hears about every step in the inbox (anonymous ones follow their
/// private link); the first response and the result also go by text, to the author's phone
/// or, for a report filed for a resident without an account, to the resident's phone in the
/// registry: many residents never open an app. A result brings the rating link.
async fn tell_reporter(
    state: &AppState,
    tx: &mut WriteTx,
    now: i64,
    case: &CaseRow,
    subject: Option<UserId>,
    told: &Told<'_>,
    rating_token: Option<&str>,
) -> AppResult<()> {
    let reader: Option<(Option<UserId>, String, String)> = match (subject.or(case.author), case.resident) {
        (Some(author), _) => kernel::people::contact(&mut **tx, author).await?.map(|c| (Some(c.id), c.phone, c.locale)),
        (None, Some(resident)) => registry::people::contact(&mut **tx, resident)
            .await?
            .filter(|r| !r.phone.is_empty())
            .map(|r| (None, r.phone, "zh-CN".to_string())),
        (None, None) => None,
    };
    let Some((user_id, phone, locale)) = reader else { return Ok(()) };
    let locale = Locale::parse(&locale).unwrap_or_default();
    let id = told.id;
    let update = told.params(locale);
    let update_template = if told.note.is_empty() { "case_update" } else { "case_update_note" };
    let mut messages: Vec<(Channel, &'static str, Vec<(&'static str, String)>, Option<String>)> = Vec::new();
    if user_id.is_some() {
        messages.push((Channel::Inbox, update_template, update.clone(), Some(format!("/cases/{id}"))));
    }
    if told.to == State::Acknowledged {
        messages.push((Channel::Sms, update_template, update, None));
    }
    if let Some(token) = rating_token {
        let params = vec![("case", id.to_string()), ("link", format!("{}/r/{token}", state.base_url))];
        if user_id.is_some() {
            messages.push((Channel::Inbox, "case_rate", params.clone(), Some(format!("/r/{token}"))));
        }
        messages.push((Channel::Sms, "case_rate", params, None));
    }
    for (channel, template, params, link) in messages {
        let msg = Message {
            community_id: Some(told.community_id),
            user_id,
            channel,
            to: if channel == Channel::Sms { phone.clone() } else { String::new() },
            template,
            params,
            // The rating link's token opens the rating without a login.
            secret_params: if template == "case_rate" { &["link"] } else { &[] },
            link,
            locale,
            idempotency_key: format!("{template}:{}:{}", told.event_id, channel.code()),
        };
        notify::service::send(tx, now, &msg).await?;
    }
    Ok(())
}

/// Family bound to the resident hear about every step as the reporter does, in the inbox.
async fn tell_family(tx: &mut WriteTx, now: i64, case: &CaseRow, subject: Option<UserId>, told: &Told<'_>) -> AppResult<()> {
    for reader in crate::family::readers(tx, case.resident, subject.or(case.author)).await? {
        let msg = Message {
            community_id: Some(told.community_id),
            user_id: Some(reader),
            channel: Channel::Inbox,
            to: String::new(),
            template: if told.note.is_empty() { "family_case_update" } else { "family_case_update_note" },
            params: told.params(Locale::ZhCn),
            secret_params: &[],
            link: Some(format!("/family/cases/{}", told.id)),
            locale: Locale::ZhCn,
            idempotency_key: format!("case_update:{}:family:{reader}", told.event_id),
        };
        notify::service::send(tx, now, &msg).await?;
    }
    Ok(())
}

/// Followers (members of the public; never told of a private case) hear of each step in the
/// inbox, without staff's words.
async fn tell_followers(tx: &mut WriteTx, now: i64, case: &CaseRow, subject: Option<UserId>, id: CaseId, event_id: i64, to: State) -> AppResult<()> {
    let followers: Vec<UserId> = sqlx::query_scalar("SELECT user_id FROM case_followers WHERE case_id = $1 ORDER BY user_id").bind(id).fetch_all(&mut **tx).await?;
    let label = kernel::i18n::t(Locale::ZhCn, &format!("case_state.{}", to.code())).to_string();
    for follower in followers.into_iter().filter(|f| Some(*f) != case.author && Some(*f) != subject) {
        let msg = Message {
            community_id: Some(case.community_id),
            user_id: Some(follower),
            channel: Channel::Inbox,
            to: String::new(),
            // A follower did not report it: the words say it is a case they follow, and the link
            // opens its public page.
            template: "followed_case_update",
            params: vec![("case", id.to_string()), ("state", label.clone())],
            secret_params: &[],
            link: Some(format!("/ledger/cases/{id}")),
            locale: Locale::ZhCn,
            idempotency_key: format!("case_update:{event_id}:follower:{follower}"),
        };
        notify::service::send(tx, now, &msg).await?;
    }
    Ok(())
}

/// A note added by staff to a case without moving it: one timeline entry, and the author (in
/// the inbox) and bound family told the note. No text message: nothing changed state.
/// The same note sent again (the same form key, or the same words by the same person within
/// a few minutes) records nothing new.
pub(crate) async fn add_note(
    state: &AppState,
    id: CaseId,
    case: &CaseRow,
    actor: Option<UserId>,
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

/// The open case a duplicate is merged into: in the same community, not itself, not finished.
/// The case a duplicate is merged into: an open case of the same community that the mover may
/// handle too. Any other answers alike, so it tells nothing of cases out of reach.
pub(crate) async fn merge_target(
    state: &AppState,
    mover: &Principal,
    id: CaseId,
    community_id: CommunityId,
    parent_id: Option<CaseId>,
) -> AppResult<CaseId> {
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

/// Takes the row of the case a duplicate is merged into, refusing the merge when that case has
/// been finished (merged elsewhere, closed) since it was checked.
async fn hold_open_parent(tx: &mut WriteTx, parent: CaseId) -> AppResult<()> {
    let finished: Vec<String> = super::queue::FINISHED.iter().map(|s| format!("'{s}'")).collect();
    let held = sqlx::query(&format!("UPDATE cases SET updated_at = updated_at WHERE id = $1 AND state NOT IN ({})", finished.join(", ")))
        .bind(parent)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if held == 0 {
        return Err(AppError::field("parent_id", "case_merge_target"));
    }
    Ok(())
}

/// Merges a duplicate into its parent: the duplicate's followers, and its named author, follow
/// the parent from now on; both timelines say so.
pub(crate) async fn merge(
    tx: &mut WriteTx,
    now: i64,
    id: CaseId,
    parent: CaseId,
    author: Option<UserId>,
    actor: Option<UserId>,
) -> AppResult<()> {
    sqlx::query("UPDATE cases SET parent_case_id = $1 WHERE id = $2")
        .bind(parent)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let mut movers: Vec<UserId> =
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
pub(crate) async fn settle_pause(tx: &mut WriteTx, now: i64, id: CaseId) -> AppResult<()> {
    kernel::row! {
        /// A case's pause and the clocks it holds.
        struct Paused {
            paused_at: Option<i64>,
            first_response_due: i64,
            result_due: i64,
            first_response_at: Option<i64>,
            created_at: i64,
            state: String,
        }
    }
    let row: Option<Paused> = sqlx::query_as(
        "SELECT paused_at, first_response_due, result_due, first_response_at, created_at, state FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(Paused {
        paused_at: Some(paused_at),
        first_response_due: first_due,
        result_due,
        first_response_at: first_at,
        created_at: created,
        state: st,
    }) = row
    else {
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
        clocks.push((crate::clocks::Clock::FirstResponse, created, first_due_new));
    }
    let st = State::parse(&st).ok_or_else(|| AppError::internal(format!("stored state {st}")))?;
    if !st.has_result() {
        clocks.push((crate::clocks::Clock::Result, created, result_due + waited));
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
pub async fn wait(state: &AppState, p: &Principal, id: CaseId, w: &Wait) -> AppResult<CaseView> {
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
    crate::store::forget_ledger(&mut tx, case.community_id);
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
    id: CaseId,
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
    crate::store::forget_ledger(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, true).await
}

/// Reassigning a case.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Assign {
    /// The staff member or grid worker who takes it over.
    pub user_id: UserId,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// Reassigns a case. The first owner stays on record as accountable.
pub async fn assign(state: &AppState, p: &Principal, id: CaseId, a: &Assign) -> AppResult<CaseView> {
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
    id: CaseId,
    r: &Reclassify,
) -> AppResult<CaseView> {
    let case = load_for_staff(state, p, id).await?;
    // A finished case's clocks are history: the published rates must not be rewritten.
    if case.state.has_result() {
        return Err(AppError::field("urgency", "case_move_not_allowed"));
    }
    let reason = kernel::validate::required_multiline("reason", &r.reason, 500)?;
    kernel::row! {
        /// A case's class and clocks before it is reclassified.
        struct Before {
            urgency: String,
            category: String,
            created_at: i64,
            first_response_at: Option<i64>,
            paused_ms: i64,
            first_response_due: i64,
            result_due: i64,
        }
    }
    let Before {
        urgency: old_u,
        category: old_c,
        created_at: created,
        first_response_at: first_at,
        paused_ms,
        first_response_due: old_first_due,
        result_due: old_result_due,
    } = sqlx::query_as(
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
        clocks.push((crate::clocks::Clock::FirstResponse, created, first_due));
    }
    if result_due != old_result_due {
        clocks.push((crate::clocks::Clock::Result, created, result_due));
    }
    enqueue_clocks(&mut tx, now, id, &clocks).await?;
    if r.urgency == Urgency::Critical && old_u != "critical" {
        let on_duty = crate::policy::on_duty_for(state, &mut tx, case.community_id, now, case.whereabouts).await?;
        let facts = critical_facts(&mut tx, &state.base_url, now, id).await?;
        alert(&mut tx, now, case.community_id, id, &on_duty, "case_critical", "reclassified", &facts, Channel::Sms).await?;
    }
    crate::store::forget_ledger(&mut tx, case.community_id);
    tx.commit().await?;
    view(state, id, true).await
}
