//! Staff pages: the queue, a case with its actions, service levels and the roster.

use kernel::community::CommunityId;
use kernel::auth::UserId;
use crate::domain::CaseId;
use super::*;

#[derive(Template)]
#[template(path = "cases/queue.html")]
pub(super) struct QueuePage {
    ctx: PageCtx,
    community: String,
    slug: String,
    cases: Vec<CaseView>,
    next_cursor: Option<String>,
    /// The filters as sent, to show them again and carry them to the next page.
    q: QueueQuery,
    /// The query string of the filters (without the cursor), `&`-separated.
    filter_query: String,
    /// Whether anything narrows the queue.
    filtered: bool,
    grids: Vec<(GridId, String)>,
    people: Vec<(UserId, String)>,
    me: Option<UserId>,
}

impl QueuePage {
    fn clock(&self, c: &CaseView) -> (String, &'static str) {
        let clock = if c.state == State::New {
            c.first_response_clock
        } else {
            c.result_clock
        };
        clock_badge(&self.ctx, clock)
    }
    fn states(&self) -> Vec<&'static str> {
        State::ALL.iter().map(|s| s.code()).collect()
    }
    fn categories(&self) -> Vec<&'static str> {
        triage::Category::ALL.iter().map(|c| c.code()).collect()
    }
    fn mine(&self) -> bool {
        self.q.assignee == "me" || self.me.is_some_and(|me| self.q.assignee == me.to_string())
    }
    fn is(&self, field: &str, v: &str) -> bool {
        let got = match field {
            "state" => &self.q.state,
            "category" => &self.q.category,
            "grid" => &self.q.grid,
            _ => &self.q.assignee,
        };
        got == v
    }
    fn is_id(&self, field: &str, v: &impl std::fmt::Display) -> bool {
        self.is(field, &v.to_string())
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct QueueQuery {
    c: Option<String>,
    cursor: Option<String>,
    /// The old "mine" tab: the same as `assignee=me`.
    mine: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    category: String,
    /// A grid id, or `none` for cases tied to no building.
    #[serde(default)]
    grid: String,
    /// A user id, or `me`.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    overdue: String,
    /// `today`: only cases due later today.
    #[serde(default)]
    due: String,
    /// Finished cases too.
    #[serde(default)]
    closed: String,
    /// A case number or words.
    #[serde(default)]
    q: String,
}

impl QueueQuery {
    /// The filter these choices make (unknown values are refused, not ignored).
    fn filter(&self, me: Option<UserId>) -> AppResult<service::QueueFilter> {
        fn pick(v: &str) -> Option<&str> {
            Some(v.trim()).filter(|v| !v.is_empty())
        }
        Ok(service::QueueFilter {
            state: pick(&self.state)
                .map(|v| State::parse(v).ok_or_else(|| AppError::field("state", "invalid_choice")))
                .transpose()?,
            category: pick(&self.category)
                .map(|v| {
                    triage::Category::parse(v)
                        .ok_or_else(|| AppError::field("category", "invalid_choice"))
                })
                .transpose()?,
            grid_id: match pick(&self.grid) {
                None | Some("none") => None,
                Some(g) => Some(g.parse().map_err(|_| AppError::field("grid", "invalid_choice"))?),
            },
            no_building: pick(&self.grid) == Some("none"),
            assignee: match pick(&self.assignee) {
                None => None,
                Some("me") => Some(me.ok_or(AppError::Forbidden)?),
                Some(a) => Some(a.parse().map_err(|_| AppError::field("assignee", "invalid_choice"))?),
            },
            overdue: !self.overdue.is_empty(),
            due_today: match pick(&self.due) {
                None => false,
                Some("today") => true,
                Some(_) => return Err(AppError::field("due", "invalid_choice")),
            },
            finished: !self.closed.is_empty(),
            text: kernel::validate::at_most("q", &self.q, 100)?.to_string(),
        })
    }
    /// The filters as a query string, each `&name=value`.
    fn to_query(&self) -> String {
        [
            ("state", &self.state),
            ("category", &self.category),
            ("grid", &self.grid),
            ("assignee", &self.assignee),
            ("overdue", &self.overdue),
            ("due", &self.due),
            ("closed", &self.closed),
            ("q", &self.q),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("&{k}={}", kernel::web::url_encode(v)))
        .collect()
    }
}

pub(super) async fn queue_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiQuery(mut q): ApiQuery<QueueQuery>,
) -> AppResult<Response> {
    let kernel::community::Community {
        id,
        slug,
        name: community,
        ..
    } = staff_community(&state, &user, q.c.as_deref()).await?;
    let page = kernel::web::PageQuery {
        cursor: q.cursor.clone(),
        limit: Some(30),
    };
    let offset = page.after()?.unwrap_or(0);
    if q.mine.is_some() && q.assignee.is_empty() {
        q.assignee = "me".into();
    }
    let me = user.user_id;
    let filter = q.filter(user.user_id)?;
    let mut cases = service::queue(&state, &user, id, &filter, Some(offset), 30).await?;
    let filter_query = q.to_query();
    let next_cursor = (cases.len() > 30).then(|| kernel::web::encode_cursor(offset + 30));
    cases.truncate(30);
    let grids = crate::ledger::grids(&state, id).await?;
    let people = handlers(&state, id).await?;
    Ok(render(&QueuePage {
        ctx,
        community,
        slug,
        cases,
        next_cursor,
        filtered: filter != service::QueueFilter::default(),
        q,
        filter_query,
        grids,
        people,
        me,
    }))
}

/// Staff and grid workers of a community: (user id, name).
async fn handlers(state: &AppState, community_id: CommunityId) -> AppResult<Vec<(UserId, String)>> {
    kernel::people::with_roles(&state.db.pool, community_id, crate::policy::HANDLERS).await
}

#[derive(Template)]
#[template(path = "cases/staff_case.html")]
pub(super) struct StaffCasePage {
    ctx: PageCtx,
    case: CaseView,
    moves: Vec<State>,
    error: Option<String>,
    /// Staff and grid workers the case can go to: (user id, name).
    people: Vec<(UserId, String)>,
    /// 0..16, the cells of the redaction grid.
    cells: Vec<u32>,
    /// The part of the page just saved, where the notice shows.
    saved: String,
    /// What was typed into one form and is shown again: after an error, or after logging in
    /// again when the session lapsed.
    prefill: Prefill,
    /// How to reach the person the case is from (none for an anonymous case).
    reporter: Option<service::Reporter>,
}

/// A form's words shown again.
#[derive(Debug, Clone, Default)]
pub(super) struct Prefill {
    /// The form: a step's state code (`acknowledged` …) or an action (`assign`, `wait` …).
    form: String,
    note: String,
    parent_id: String,
    /// The step form's one-time key: a step sent again with it is recorded once.
    key: String,
    /// Brought back from before a login.
    restored: bool,
}

impl StaffCasePage {
    fn first_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.first_response_clock)
    }
    fn result_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.result_clock)
    }
    /// Staff have set its urgency and category since the model did.
    fn corrected(&self) -> bool {
        self.case.events.iter().any(|e| e.kind == "reclassified")
    }
    fn reasons(&self) -> String {
        let said = self.ctx.tr.t("cases.danger_reason");
        let failed = self.ctx.tr.t("cases.triage_pending");
        self.case
            .reasons
            .as_array()
            .map(|a| {
                let words = a
                    .iter()
                    .filter_map(|r| r["phrase"].as_str())
                    .map(|p| match p {
                        "danger_now" => said,
                        "triage_failed" => failed,
                        _ => p,
                    })
                    .collect::<Vec<_>>();
                self.ctx.tr.list(&distinct_phrases(&words))
            })
            .unwrap_or_default()
    }
    /// The resident a report was filed for, unless they filed it themself.
    fn for_resident(&self) -> Option<&str> {
        self.case.for_resident.as_deref().filter(|r| Some(*r) != self.case.author.as_deref())
    }
    /// Who entered the report, unless they filed it or it was filed for them.
    fn entered_by(&self) -> Option<&str> {
        self.case.entered_by.as_deref().filter(|e| {
            Some(*e) != self.case.author.as_deref() && Some(*e) != self.case.for_resident.as_deref()
        })
    }
    /// The first owner, in brackets after the assignee.
    fn owner_aside(&self, owner: &str) -> String {
        let named = format!("{} {owner}", self.ctx.tr.t("cases.owner"));
        self.ctx.tr.arg("cases.aside", "text", named)
    }
    /// A step's name: "add a note" for a step to the state the case is already in.
    fn step_label(&self, m: &State) -> String {
        if *m == self.case.state {
            self.ctx.tr.t("cases.add_note").to_string()
        } else {
            self.ctx.label("case_state", m.code())
        }
    }
    fn event_note(&self, e: &service::Event) -> String {
        super::event_note(&self.ctx, e)
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => {
                self.ctx.label("case_state", s.code())
            }
            _ => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
    fn is_assignee(&self, id: &UserId) -> bool {
        self.case.assignee_id == Some(*id)
    }
    fn urgencies(&self) -> [&'static str; 4] {
        ["critical", "urgent", "normal", "low"]
    }
    fn categories(&self) -> Vec<&'static str> {
        triage::Category::ALL.iter().map(|c| c.code()).collect()
    }
    fn urgency_is(&self, u: &str) -> bool {
        self.case.urgency.code() == u
    }
    fn category_is(&self, c: &str) -> bool {
        self.case.category.code() == c
    }
    fn open(&self) -> bool {
        !self.case.state.has_result()
    }
    /// Whether the notice shows in this part of the page.
    fn saved_in(&self, part: &str) -> bool {
        self.saved == part
    }
    /// The words shown again in a form, if they belong to it.
    fn note_for(&self, form: &str) -> &str {
        if self.prefill.form == form {
            &self.prefill.note
        } else {
            ""
        }
    }
    /// Whether a step's form opens by itself: the one shown again, else the first.
    fn step_open(&self, m: &State) -> bool {
        if self.moves.iter().any(|s| s.code() == self.prefill.form) {
            self.prefill.form == m.code()
        } else {
            self.moves.first() == Some(m)
        }
    }
    /// A step's hint on what its note must say, if it has one.
    fn step_hint(&self, m: &State) -> Option<String> {
        if *m == self.case.state {
            return None;
        }
        match m {
            State::Acknowledged | State::Referred | State::Resolved => {
                Some(self.ctx.label("cases.step_hint", m.code()))
            }
            _ => None,
        }
    }
    /// The page the case's forms come back to, and the query that keeps their words should the
    /// session lapse before they arrive (see `kernel::drafts`). The token travels in the body:
    /// a form shown again after an error must not leave it in the address bar.
    fn keep(&self, fields: &str) -> String {
        format!(
            "_keep={fields}&_back={}",
            kernel::web::url_encode(&format!("/console/cases/{}", self.case.id))
        )
    }
    /// Whether the case runs no clock any more (it ended before being met).
    fn ended(&self) -> bool {
        self.case.state.is_final()
    }
}

pub(super) async fn staff_case_view(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    id: CaseId,
    error: Option<String>,
    saved: String,
    mut prefill: Prefill,
) -> AppResult<StaffCasePage> {
    let case = service::read_as_staff(state, user, id).await?;
    // A form shown again keeps its key (nothing was recorded with it); a fresh page gets one.
    if prefill.key.is_empty() {
        prefill.key = kernel::crypto::random_token(16);
    }
    // A step to the state the case is in adds a note: offered last, under its own name.
    let mut moves = case.state.staff_moves().to_vec();
    moves.sort_by_key(|m| *m == case.state);
    let people = handlers(state, case.community_id).await?;
    let reporter = service::reporter(state, user, id, false).await?;
    Ok(StaffCasePage {
        reporter,
        ctx,
        case,
        moves,
        error,
        people,
        cells: (0..16).collect(),
        saved,
        prefill,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct StaffCaseQuery {
    /// The part just saved.
    #[serde(default)]
    saved: String,
}

pub(super) async fn staff_case_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<CaseId>,
    ApiQuery(q): ApiQuery<StaffCaseQuery>,
) -> AppResult<Response> {
    // The case is read (and its reach checked) before a draft is taken for it.
    service::ensure_within_reach(&state, &user, id).await?;
    let prefill = match kernel::drafts::take(&state, &headers, &format!("/console/cases/{id}")).await? {
        Some(d) => Prefill {
            // A step form names its state; the other forms their action.
            form: if d.get("action").is_empty() {
                d.get("to").to_string()
            } else {
                d.get("action").to_string()
            },
            note: d.get("note").to_string(),
            parent_id: d.get("parent_id").to_string(),
            key: d.get("key").to_string(),
            restored: true,
        },
        None => Prefill::default(),
    };
    let saved: String = q
        .saved
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    Ok(render(
        &staff_case_view(&state, ctx, &user, id, None, saved, prefill).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PostTo {
    /// `step` (a step form) or `act` (the other actions).
    #[serde(default, rename = "do")]
    what: String,
}

/// The case page's forms post to the page itself (`?do=step`, `?do=act`), so that a form shown
/// again with an error keeps the case page's address.
pub(super) async fn staff_case_post(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    path: ApiPath<CaseId>,
    ApiQuery(q): ApiQuery<PostTo>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    use axum::extract::FromRequest;
    match q.what.as_str() {
        "step" => staff_move(AxState(state), ctx, user, path, req).await,
        "act" => {
            let form = WebForm::<ActForm>::from_request(req, &state).await?;
            staff_act(AxState(state), ctx, user, path, form).await
        }
        _ => Err(AppError::NotFound),
    }
}

/// The staff case page with the reporter's whole number to call; asking for it is recorded on
/// the case's timeline.
pub(super) async fn staff_call(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    WebForm(_): WebForm<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let reporter = service::reporter(&state, &user, id, true).await?;
    let mut page = staff_case_view(&state, ctx, &user, id, None, String::new(), Prefill::default()).await?;
    page.reporter = reporter;
    Ok(render(&page))
}

/// Goes back to the part of the staff page that changed, with a notice; or shows the page
/// again with what went wrong and the words kept.
pub(super) async fn after_staff_action(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    id: CaseId,
    part: &str,
    prefill: Prefill,
    result: AppResult<()>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/console/cases/{id}?saved={part}#{}",
            if part == "step" { "latest" } else { part }
        ))),
        Err(
            e @ (AppError::Validation(_) | AppError::Conflict { .. } | AppError::PayloadTooLarge),
        ) => {
            let msg = form_error(&ctx, &e);
            let status = e.status();
            Ok(render_status(
                status,
                &staff_case_view(state, ctx, user, id, Some(msg), String::new(), prefill).await?,
            ))
        }
        Err(e) => Err(e),
    }
}

/// A step by staff: the next state with a note, "after" photos with a resolution, the parent
/// case for a duplicate. Multipart, so that photos can come along.
pub(super) async fn staff_move(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let mut prefill = Prefill::default();
    let result = async {
        let (form, files) = photo_form(&state, req).await?;
        prefill = Prefill {
            form: form.get("to").to_string(),
            note: form.get("note").to_string(),
            parent_id: form.get("parent_id").to_string(),
            key: form.get("key").chars().take(100).collect(),
            restored: false,
        };
        let to =
            State::parse(form.get("to")).ok_or_else(|| AppError::field("to", "invalid_choice"))?;
        let parent_id = form
            .get("parent_id")
            .trim()
            .trim_start_matches(['#', '＃'])
            .parse()
            .ok();
        let m = Move {
            to,
            note: form.get("note").to_string(),
            parent_id,
        };
        // Photos are decoded only for someone who may handle the case.
        service::ensure_within_reach(&state, &user, id).await?;
        let photos = crate::photos::prepare(&state, files).await?;
        let key = Some(form.get("key")).filter(|k| !k.is_empty());
        service::move_case_once(&state, Mover::Person(&user), id, &m, &photos, key)
            .await
            .map(|_| ())
    }
    .await;
    after_staff_action(&state, ctx, &user, id, "step", prefill, result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ActForm {
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    category: String,
}

/// The other staff actions on a case: assign, wait on the resident or resume, correct the triage.
pub(super) async fn staff_act(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    WebForm(form): WebForm<ActForm>,
) -> AppResult<Response> {
    let note_kept = form.note.clone();
    let result = match form.action.as_str() {
        "assign" => match form.user_id.parse() {
            Ok(user_id) => service::assign(
                &state,
                &user,
                id,
                &service::Assign {
                    user_id,
                    note: form.note,
                },
            )
            .await
            .map(|_| ()),
            Err(_) => Err(AppError::field("user_id", "required")),
        },
        "wait" => service::wait(
            &state,
            &user,
            id,
            &service::Wait {
                waiting: true,
                note: form.note,
            },
        )
        .await
        .map(|_| ()),
        "resume" => service::wait(
            &state,
            &user,
            id,
            &service::Wait {
                waiting: false,
                note: form.note,
            },
        )
        .await
        .map(|_| ()),
        "private" | "public" => service::set_visibility(
            &state,
            &user,
            id,
            &service::Visibility {
                private: form.action == "private",
                note: form.note,
            },
        )
        .await
        .map(|_| ()),
        "reclassify" => match (
            triage::Urgency::parse(&form.urgency),
            triage::Category::parse(&form.category),
        ) {
            (Some(urgency), Some(category)) => service::reclassify(
                &state,
                &user,
                id,
                &service::Reclassify {
                    urgency,
                    category,
                    reason: form.note,
                },
            )
            .await
            .map(|_| ()),
            _ => Err(AppError::field("urgency", "invalid_choice")),
        },
        _ => Err(AppError::field("action", "invalid_choice")),
    };
    let part = match form.action.as_str() {
        "assign" => "assign",
        "wait" | "resume" => "wait",
        "private" | "public" => "visibility",
        _ => "reclassify",
    };
    let prefill = Prefill {
        form: form.action.clone(),
        note: note_kept,
        ..Prefill::default()
    };
    after_staff_action(&state, ctx, &user, id, part, prefill, result).await
}

/// Blurs the ticked cells of a photo, or hides it (staff, without JavaScript: a grid of boxes
/// over the photo).
pub(super) async fn staff_redact(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(photo_id): ApiPath<i64>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "", 0, 0, state.config.body_limit).await?;
    let cells = form
        .values("cell")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let hidden = form.has("hidden");
    let case_id: CaseId = form.get("case").parse().map_err(|_| AppError::NotFound)?;
    let result = crate::photos::redact(
        &state,
        &user,
        photo_id,
        &crate::photos::Redaction { cells, hidden },
    )
    .await
    .map(|_| ());
    let part = format!("photo-{photo_id}");
    after_staff_action(&state, ctx, &user, case_id, &part, Prefill::default(), result).await
}

#[derive(Template)]
#[template(path = "cases/settings.html")]
pub(super) struct SettingsPage {
    ctx: PageCtx,
    slug: String,
    /// Every urgency's service level as shown in the form.
    levels: Vec<LevelRow>,
    staff: Vec<(UserId, String)>,
    roster: Vec<(i64, UserId)>,
    holidays: String,
    working_days: String,
    /// The weekly working hours: (first weekday, last weekday, [(start, end) minutes]).
    work_hours: Vec<(i64, i64, Vec<(i64, i64)>)>,
    can_edit: bool,
    saved: bool,
    error: Option<String>,
    /// Messages for the form's fields, by field name.
    field_errors: Vec<(String, String)>,
}

/// A span as the form shows it: the number typed and its unit's code.
type Span = (String, &'static str);

/// One urgency's service level in the form: each span as a number and a unit.
pub(super) struct LevelRow {
    urgency: &'static str,
    first: Span,
    result: Span,
    working_hours: bool,
}

impl SettingsPage {
    fn on_duty(&self, weekday: &i64, user: &UserId) -> bool {
        self.roster.contains(&(*weekday, *user))
    }
    fn weekdays(&self) -> [i64; 7] {
        [1, 2, 3, 4, 5, 6, 7]
    }
    /// A level's two spans: (field prefix, (number, unit), heading key).
    fn spans<'a>(&self, l: &'a LevelRow) -> [(&'static str, &'a Span, &'static str); 2] {
        [
            ("first", &l.first, "case_settings.first_span"),
            ("result", &l.result, "case_settings.result_span"),
        ]
    }
    /// The weekly working hours in words: 周一至周五 8:30–12:00、14:00–17:30.
    fn work_hours_text(&self) -> String {
        let time = |m: i64| format!("{}:{:02}", m / 60, m % 60);
        let day = |d: i64| self.ctx.label("weekday", &d.to_string());
        let groups: Vec<String> = self
            .work_hours
            .iter()
            .map(|(from, to, spans)| {
                let days = if from == to {
                    day(*from)
                } else {
                    kernel::i18n::tf(self.ctx.tr.0, "case_settings.day_range", &[("from", day(*from)), ("to", day(*to))])
                };
                let spans: Vec<String> = spans.iter().map(|(a, b)| format!("{}–{}", time(*a), time(*b))).collect();
                format!("{days} {}", self.ctx.tr.list(&spans))
            })
            .collect();
        self.ctx.tr.list(&groups)
    }
    fn units(&self) -> [&'static str; 3] {
        crate::policy::SpanUnit::ALL.map(|u| u.code())
    }
    fn field_error(&self, field: &str) -> Option<&str> {
        self.field_errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

const URGENCIES: [triage::Urgency; 4] = [
    triage::Urgency::Critical,
    triage::Urgency::Urgent,
    triage::Urgency::Normal,
    triage::Urgency::Low,
];

#[derive(Debug, Default, Deserialize)]
pub(super) struct SettingsQuery {
    c: Option<String>,
    saved: Option<String>,
}

/// A settings form sent back with errors: its levels as typed and each field's message.
type Sent = (Vec<LevelRow>, Vec<(String, String)>);

/// The spans of a level as the form shows them.
fn span_field(minutes: i64) -> Span {
    let (n, unit) = crate::policy::span_display(minutes);
    (n.to_string(), unit.code())
}

pub(super) async fn settings_view(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    slug: Option<&str>,
    saved: bool,
    sent: Option<Sent>,
) -> AppResult<SettingsPage> {
    let community = staff_community(state, user, slug).await?;
    let s = crate::policy::settings(state, user, community.id).await?;
    let (levels, field_errors) = match sent {
        Some(sent) => sent,
        None => (
            URGENCIES
                .into_iter()
                .map(|u| {
                    let d = crate::domain::default_sla(u);
                    let (first, result, working_hours) = match s
                        .sla
                        .iter()
                        .find(|p| p.urgency == u && p.category.is_none())
                    {
                        Some(p) => (p.first_response_minutes, p.result_minutes, p.working_hours),
                        None => (
                            d.first_response_ms / kernel::clock::MINUTE,
                            d.result_ms / kernel::clock::MINUTE,
                            false,
                        ),
                    };
                    LevelRow {
                        urgency: u.code(),
                        first: span_field(first),
                        result: span_field(result),
                        working_hours,
                    }
                })
                .collect(),
            Vec::new(),
        ),
    };
    let error = field_errors.first().map(|_| ctx.tr.t("case_settings.fix_fields").to_string());
    let staff = kernel::people::with_roles(&state.db.pool, community.id, crate::policy::HANDLERS).await?;
    let days = |working: bool| {
        s.calendar_days
            .iter()
            .filter(|d| d.working == working)
            .map(|d| d.day.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // Weekdays with the same hours run together (周一至周五).
    let mut work_hours: Vec<(i64, i64, Vec<(i64, i64)>)> = Vec::new();
    let windows = crate::policy::calendar(state, community.id).await?.windows;
    for d in 1..=7 {
        let spans: Vec<(i64, i64)> = windows.iter().filter(|w| w.0 == d).map(|w| (w.1, w.2)).collect();
        if spans.is_empty() {
            continue;
        }
        match work_hours.last_mut() {
            Some(last) if last.1 == d - 1 && last.2 == spans => last.1 = d,
            _ => work_hours.push((d, d, spans)),
        }
    }
    Ok(SettingsPage {
        work_hours,
        can_edit: user.can(community.id, &crate::domain::CASES_CONFIGURE),
        ctx,
        slug: community.slug,
        levels,
        staff,
        roster: s
            .duty_roster
            .iter()
            .map(|d| (d.weekday, d.user_id))
            .collect(),
        holidays: days(false),
        working_days: days(true),
        saved,
        error,
        field_errors,
    })
}

/// Service levels, the duty roster and the holiday calendar on one page (admins edit, staff read).
pub(super) async fn settings_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiQuery(q): ApiQuery<SettingsQuery>,
) -> AppResult<Response> {
    Ok(render(
        &settings_view(&state, ctx, &user, q.c.as_deref(), q.saved.is_some(), None).await?,
    ))
}

/// Reads the service levels of the settings form: each span a number and a unit, checked here
/// so that every message names its own field.
pub(super) fn read_levels(
    form: &kernel::web::MultipartForm,
) -> (Vec<LevelRow>, Vec<crate::policy::SlaPolicy>, Vec<kernel::FieldError>) {
    let (mut rows, mut levels, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for u in URGENCIES {
        let read = |side: &str| {
            let name = format!("{side}_{}", u.code());
            let unit = form.get(&format!("{name}_unit"));
            let shown = (
                form.get(&name).chars().take(40).collect::<String>(),
                crate::policy::SpanUnit::parse(unit).unwrap_or(crate::policy::SpanUnit::Minutes).code(),
            );
            // A form from before the units were added sends minutes alone.
            let unit = if unit.is_empty() { "minutes" } else { unit };
            (crate::policy::parse_span(&name, form.get(&name), unit), shown)
        };
        let (first, first_shown) = read("first");
        let (result, result_shown) = read("result");
        let working_hours = form.has(&format!("hours_{}", u.code()));
        rows.push(LevelRow {
            urgency: u.code(),
            first: first_shown,
            result: result_shown,
            working_hours,
        });
        match (first, result) {
            (Ok(f), Ok(r)) if r < f => errors.push(kernel::FieldError::new(
                format!("result_{}", u.code()),
                "sla_result_before_response",
            )),
            (Ok(f), Ok(r)) => levels.push(crate::policy::SlaPolicy {
                urgency: u,
                category: None,
                first_response_minutes: f,
                result_minutes: r,
                working_hours,
            }),
            (f, r) => errors.extend(f.err().into_iter().chain(r.err())),
        }
    }
    (rows, levels, errors)
}

pub(super) async fn settings_save(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "", 0, 0, state.config.body_limit).await?;
    let get = |k: &str| form.get(k).trim().to_string();
    let slug = get("c");
    let community = staff_community(&state, &user, Some(slug.as_str())).await?;
    let mut s = crate::policy::settings(&state, &user, community.id).await?;
    let (rows, levels, errors) = read_levels(&form);
    let result = async {
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        // The page edits the levels that hold for every category; per-category ones stay.
        s.sla.retain(|p| p.category.is_some());
        s.sla.extend(levels);
        s.duty_roster = form
            .values("duty")
            .into_iter()
            .filter_map(|v| v.split_once(':'))
            .filter_map(|(d, u)| {
                Some(crate::policy::Duty {
                    weekday: d.parse().ok()?,
                    user_id: u.parse().ok()?,
                })
            })
            .collect();
        let lines = |k: &str, working: bool| {
            get(k)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| crate::policy::CalendarDay {
                    day: l.to_string(),
                    working,
                })
                .collect::<Vec<_>>()
        };
        s.calendar_days = lines("holidays", false);
        s.calendar_days.extend(lines("working_days", true));
        crate::policy::replace(&state, &user, community.id, &s)
            .await
            .map(|_| ())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/console/cases/settings?c={}&saved=1",
            community.slug
        ))),
        Err(AppError::Validation(errors)) => {
            // Each message says which field it is about.
            let field_errors = errors
                .iter()
                .map(|e| {
                    let field = match e.field.split_once('[') {
                        Some(("calendar_days", _)) => "holidays".to_string(),
                        Some((list, _)) => list.to_string(),
                        None => e.field.clone(),
                    };
                    (field, e.message(ctx.tr.0))
                })
                .collect();
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &settings_view(
                    &state,
                    ctx,
                    &user,
                    Some(community.slug.as_str()),
                    false,
                    Some((rows, field_errors)),
                )
                .await?,
            ))
        }
        Err(e) => Err(e),
    }
}

/// The phrases a triage matched, each once, leaving out any that another shown phrase contains
/// (漏水 and 水管漏水: only 水管漏水), in their first order.
fn distinct_phrases<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    for w in words {
        if !out.contains(w) {
            out.push(w);
        }
    }
    let all = out.clone();
    out.retain(|w| !all.iter().any(|o| o != w && o.contains(w)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn phrases_are_shown_once_and_never_inside_another() {
        assert_eq!(
            super::distinct_phrases(&["水管", "管漏", "卫生间", "水管", "漏水", "水管漏水"]),
            ["卫生间", "水管漏水"]
        );
        assert_eq!(super::distinct_phrases(&["楼道灯", "灯坏", "坏了"]), ["楼道灯", "灯坏", "坏了"]);
        assert!(super::distinct_phrases(&[]).is_empty());
    }
}
