//! What the use cases share: loading a case as the workflow needs it, recording what happened
//! on its timeline, and alerting people.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::{BuildingId, ResidentId, UnitId};
use crate::domain::{CaseId, State};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use notify::{Channel, Message};
use sqlx::Row;
use triage::Urgency;

pub(crate) fn parse_urgency(s: &str) -> AppResult<Urgency> {
    Urgency::parse(s).ok_or_else(|| AppError::internal(format!("stored urgency {s}")))
}

pub(crate) async fn event(
    tx: &mut WriteTx,
    case_id: CaseId,
    at: i64,
    actor: Option<UserId>,
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
pub(crate) async fn critical_facts(tx: &mut WriteTx, base_url: &str, now: i64, case_id: CaseId) -> AppResult<Vec<(&'static str, String)>> {
    kernel::row! {
        struct Alerted {
            text: String,
            place: String,
            building_id: Option<BuildingId>,
            unit_id: Option<UnitId>,
            resident_id: Option<ResidentId>,
            lat_e6: Option<i64>,
            lng_e6: Option<i64>,
            anonymous: i64,
            author_user_id: Option<UserId>,
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
pub(crate) async fn alert(
    tx: &mut WriteTx,
    now: i64,
    community_id: CommunityId,
    case_id: CaseId,
    users: &[UserId],
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

pub(crate) struct CaseRow {
    pub(crate) community_id: CommunityId,
    pub(crate) state: State,
    pub(crate) author: Option<UserId>,
    pub(crate) anonymous: bool,
    /// The registry resident a staff-side report was filed for.
    pub(crate) resident: Option<ResidentId>,
    /// Kept off the public ledger.
    pub(crate) private: bool,
    /// Where it stands, for who may handle it.
    pub(crate) whereabouts: crate::reach::Whereabouts,
}

pub(crate) async fn load(state: &AppState, id: CaseId) -> AppResult<CaseRow> {
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
pub(crate) async fn subject_login(state: &AppState, case: &CaseRow) -> AppResult<Option<UserId>> {
    let Some(resident) = case.resident.filter(|_| !case.anonymous) else { return Ok(None) };
    Ok(registry::people::contact(&state.db.pool, resident).await?.and_then(|r| r.user_id))
}

/// Whether `p` is the named author of `case` or the resident it was filed for.
pub(crate) async fn speaks_for(state: &AppState, p: &Principal, case: &CaseRow) -> AppResult<bool> {
    let Some(uid) = p.user_id else { return Ok(false) };
    Ok(case.author == Some(uid) || subject_login(state, case).await? == Some(uid))
}

/// Whether `p` may handle `case` (staff of its community; a grid worker within their grids).
pub(crate) async fn within_reach(state: &AppState, p: &Principal, case: &CaseRow) -> AppResult<bool> {
    crate::reach::covers(state, p, case.community_id, case.whereabouts).await
}

/// A case a staff member of its community acts on (a grid worker: one within their grids); to
/// anyone else it does not exist.
pub(crate) async fn load_for_staff(state: &AppState, p: &Principal, id: CaseId) -> AppResult<CaseRow> {
    let case = load(state, id).await?;
    if !within_reach(state, p, &case).await? {
        return Err(AppError::NotFound);
    }
    Ok(case)
}

/// The longest part of a step's note a message repeats (the rest is on the case page).
pub(crate) const TOLD_NOTE_CHARS: usize = 60;

/// A step's public note as a message repeats it: on one line, cut at a character (never inside
/// one) with an ellipsis when long.
pub(crate) fn told_note(note: &str) -> String {
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
pub(crate) async fn keep_key(tx: &mut WriteTx, event_id: i64, key: Option<&str>) -> AppResult<()> {
    if let Some(k) = key {
        sqlx::query("UPDATE case_events SET request_key = $1 WHERE id = $2")
            .bind(k)
            .bind(event_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
