//! Resident pages of the needs express: report a problem (by name or anonymously), follow it.

use crate::domain::State;
use crate::service::{self, CaseView, Move, Mover, NewCase};
use askama::Template;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::{User, Viewer};
use kernel::web::{render, render_status, see_other, ApiPath, ApiQuery, PageCtx, WebForm};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        // Photos come with the report: the upload limit applies per photo while reading.
        .route("/cases/new", get(new_page).post(submit).layer(axum::extract::DefaultBodyLimit::max(kernel::web::UPLOAD_CEILING)))
        .route("/me/cases", get(my_cases))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/moves", post(author_move))
        .route("/cases/{id}/follow", post(follow_case))
        .route("/cases/follow/{token}", get(follow_page))
        .route("/cases/follow/{token}/moves", post(follow_move))
        .route("/r/{token}", get(rate_page).post(rate_submit))
        .route("/cases/follow/{token}/rate", post(follow_rate))
        .route("/ledger", get(ledger_home))
        .route("/ledger/{slug}", get(ledger_page))
        .route("/console/cases", get(queue_page))
        .route("/console/cases/{id}", get(staff_case_page))
        // After photos come with a resolution.
        .route("/console/cases/{id}/moves", post(staff_move).layer(axum::extract::DefaultBodyLimit::max(kernel::web::UPLOAD_CEILING)))
        .route("/console/cases/{id}/act", post(staff_act))
        .route("/console/case-photos/{id}/redact", post(staff_redact))
        .route("/console/cases/quick", get(quick_page))
        .route("/console/cases/settings", get(settings_page).post(settings_save))
        .route("/case-photos/{id}/{variant}", get(photo))
}

#[derive(Debug, Default, Deserialize)]
struct CommunityQuery {
    c: Option<String>,
    followed: Option<String>,
}

/// The community a report goes to: `?c=slug`, else the viewer's first community, else the only one.
async fn target_community(state: &AppState, viewer: &Viewer, slug: Option<&str>) -> AppResult<kernel::community::Community> {
    let found = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => kernel::community::by_slug(state, slug).await?,
        None => kernel::community::default_for(state, &viewer.0.as_ref().map(|p| p.community_ids()).unwrap_or_default()).await?,
    };
    found.ok_or(AppError::NotFound)
}

/// A choice of place: a building, or a unit (entrance) of it.
pub(crate) struct PlaceChoice {
    /// `b12` or `u34`.
    value: String,
    label: String,
    /// A unit, shown indented under its building.
    unit: bool,
}

/// The community's buildings and their units, for a place picker that works without JavaScript.
async fn places(state: &AppState, community_id: i64) -> AppResult<Vec<PlaceChoice>> {
    let rows: Vec<(i64, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT b.id, b.name, u.id, u.name FROM buildings b LEFT JOIN units u ON u.building_id = b.id WHERE b.community_id = $1 ORDER BY b.id, u.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::new();
    let mut last = None;
    for (b, name, u, unit) in rows {
        if last != Some(b) {
            out.push(PlaceChoice { value: format!("b{b}"), label: name.clone(), unit: false });
            last = Some(b);
        }
        if let (Some(u), Some(unit)) = (u, unit) {
            out.push(PlaceChoice { value: format!("u{u}"), label: format!("{name} {unit}"), unit: true });
        }
    }
    Ok(out)
}

/// Reads a place choice into (building, unit).
fn parse_place(v: &str) -> (Option<i64>, Option<i64>) {
    match v.split_at_checked(1) {
        Some(("b", id)) => (id.parse().ok(), None),
        Some(("u", id)) => (None, id.parse().ok()),
        // An old form may still send a bare building id.
        _ => (v.parse().ok(), None),
    }
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct NewPage {
    ctx: PageCtx,
    community: String,
    slug: String,
    places: Vec<PlaceChoice>,
    /// The grid worker's quick entry (on behalf of a resident or the community).
    quick: bool,
    resident_phone: String,
    key: String,
    text: String,
    place: String,
    anonymous: bool,
    error: Option<String>,
    /// Open cases like this one, shown before filing ("已有人反映").
    similar: Vec<crate::ledger::PublicCase>,
    place_choice: String,
    followed: bool,
}

impl NewPage {
    fn is_place(&self, value: &str) -> bool {
        self.place_choice == value
    }
}

/// The report form, empty or as submitted.
struct FormState {
    slug: String,
    key: String,
    text: String,
    place: String,
    anonymous: bool,
    place_choice: String,
    quick: bool,
    resident_phone: String,
}

async fn form_page(
    state: &AppState,
    ctx: PageCtx,
    community: &kernel::community::Community,
    form: FormState,
    error: Option<String>,
    similar: Vec<crate::ledger::PublicCase>,
    followed: bool,
) -> AppResult<NewPage> {
    Ok(NewPage {
        places: places(state, community.id).await?,
        quick: form.quick,
        resident_phone: form.resident_phone,
        place_choice: form.place_choice,
        ctx,
        community: community.name.clone(),
        slug: form.slug,
        key: form.key,
        text: form.text,
        place: form.place,
        anonymous: form.anonymous,
        error,
        similar,
        followed,
    })
}

async fn new_page(AxState(state): AxState<AppState>, ctx: PageCtx, viewer: Viewer, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = target_community(&state, &viewer, q.c.as_deref()).await?;
    let form = FormState {
        slug: q.c.unwrap_or_default(),
        key: kernel::crypto::random_token(12),
        text: String::new(),
        place: String::new(),
        anonymous: viewer.0.is_none(),
        place_choice: String::new(),
        quick: false,
        resident_phone: String::new(),
    };
    Ok(render(&form_page(&state, ctx, &community, form, None, Vec::new(), q.followed.is_some()).await?))
}

/// The grid worker's quick entry on foot: photo, place, a few words, for a resident or for the
/// community. The same form and the same idempotency key as the resident's.
async fn quick_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = staff_community(&state, &user, q.c.as_deref()).await?;
    let form = FormState {
        slug: community.slug.clone(),
        key: kernel::crypto::random_token(12),
        text: String::new(),
        place: String::new(),
        anonymous: false,
        place_choice: String::new(),
        quick: true,
        resident_phone: String::new(),
    };
    Ok(render(&form_page(&state, ctx, &community, form, None, Vec::new(), false).await?))
}

/// Turns uploaded files into photos to prepare.
fn uploads(form: kernel::web::MultipartForm) -> (kernel::web::MultipartForm, Vec<crate::photos::Upload>) {
    let mut form = form;
    let files = std::mem::take(&mut form.files);
    (form, files.into_iter().map(|f| crate::photos::Upload { name: f.name, bytes: f.bytes }).collect())
}

fn form_error(ctx: &PageCtx, e: &AppError) -> String {
    e.fields().first().map(|f| f.message(ctx.tr.0)).unwrap_or_else(|| e.message(ctx.tr.0))
}

/// The resident's report (and the grid worker's quick entry): a multipart form with up to nine
/// photos. A failed check shows the form again as sent (photos must be chosen again).
async fn submit(AxState(state): AxState<AppState>, ctx: PageCtx, viewer: Viewer, from: kernel::web::ClientIp, req: axum::extract::Request) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "photos", crate::photos::MAX_PHOTOS, state.config.upload_limit, state.config.body_limit).await?;
    let (form, files) = uploads(form);
    let quick = form.has("quick");
    let community = if quick {
        let user = viewer.0.as_ref().ok_or(AppError::Unauthorized)?;
        staff_community(&state, &User(user.clone()), Some(form.get("c"))).await?
    } else {
        target_community(&state, &viewer, Some(form.get("c")).filter(|c| !c.is_empty())).await?
    };
    let (building_id, unit_id) = parse_place(form.get("building_id"));
    let as_sent = FormState {
        slug: form.get("c").to_string(),
        key: form.get("key").to_string(),
        text: form.get("text").to_string(),
        place: form.get("place").to_string(),
        anonymous: form.has("anonymous") || viewer.0.is_none(),
        place_choice: form.get("building_id").to_string(),
        quick,
        resident_phone: form.get("resident_phone").trim().to_string(),
    };
    // On behalf of a resident: found by their phone number in the registry.
    let mut resident_id = None;
    if quick && !as_sent.resident_phone.is_empty() {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM residents WHERE community_id = $1 AND phone = $2 ORDER BY id LIMIT 1")
            .bind(community.id)
            .bind(&as_sent.resident_phone)
            .fetch_optional(&state.db.pool)
            .await?;
        match found {
            Some(r) => resident_id = Some(r),
            None => return report_error(&state, ctx, &community, as_sent, AppError::field("resident_phone", "not_found_ref")).await,
        }
    }
    let new = NewCase {
        text: as_sent.text.clone(),
        place: as_sent.place.clone(),
        building_id,
        unit_id,
        lat: form.get("lat").parse().ok(),
        long: form.get("long").parse().ok(),
        resident_id,
        anonymous: as_sent.anonymous && !quick,
        source: quick.then_some(crate::domain::Source::GridWorker),
        idempotency_key: Some(as_sent.key.clone()),
        danger_now: form.has("danger_now"),
    };
    // Before filing, show open cases like this one so people can follow instead of duplicating
    // (unless this very form was filed already: a resubmission goes straight to its case).
    // An anonymous filing is answered by the service, which gives its private link back.
    let already = if new.anonymous { None } else { service::filed_with_key(&state, viewer.0.as_deref(), false, community.id, &as_sent.key).await? };
    if let Some(id) = already {
        return Ok(see_other(&if quick { format!("/console/cases/{id}") } else { format!("/cases/{id}") }));
    }
    if !quick && !form.has("confirm") && !new.text.trim().is_empty() {
        let similar = crate::ledger::similar(&state, community.id, new.text.trim(), new.building_id).await?;
        if !similar.is_empty() {
            return Ok(render(&form_page(&state, ctx, &community, as_sent, None, similar, false).await?));
        }
    }
    if let Err(e) = service::admit(&state, viewer.0.as_deref(), &from, community.id, &new).await {
        return report_error(&state, ctx, &community, as_sent, e).await;
    }
    let photos = match crate::photos::prepare(&state, files).await {
        Ok(p) => p,
        Err(e @ AppError::Validation(_)) => return report_error(&state, ctx, &community, as_sent, e).await,
        Err(e) => return Err(e),
    };
    match service::file(&state, viewer.0.as_deref(), community.id, &new, &photos).await {
        Ok(filed) => Ok(match filed.follow_token {
            Some(token) => see_other(&format!("/cases/follow/{token}?new=1")),
            None if quick => see_other(&format!("/console/cases/{}", filed.id)),
            None => see_other(&format!("/cases/{}", filed.id)),
        }),
        Err(e @ AppError::Validation(_)) => report_error(&state, ctx, &community, as_sent, e).await,
        Err(e) => Err(e),
    }
}

/// The report form again, as sent, with what went wrong.
async fn report_error(state: &AppState, ctx: PageCtx, community: &kernel::community::Community, as_sent: FormState, e: AppError) -> AppResult<Response> {
    let error = Some(form_error(&ctx, &e));
    let page = form_page(state, ctx, community, as_sent, error, Vec::new(), false).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Default, Deserialize)]
struct PhotoQuery {
    /// An anonymous author's private link token.
    t: Option<String>,
}

/// A photo of a case, as the viewer may see it.
async fn photo(AxState(state): AxState<AppState>, viewer: Viewer, ApiPath((id, variant)): ApiPath<(i64, String)>, ApiQuery(q): ApiQuery<PhotoQuery>) -> AppResult<Response> {
    let variant = crate::photos::Variant::parse(&variant).ok_or(AppError::NotFound)?;
    crate::photos::serve(&state, viewer.0.as_deref(), q.t.as_deref(), id, variant).await
}

#[derive(Template)]
#[template(path = "cases/mine.html")]
struct MinePage {
    ctx: PageCtx,
    cases: Vec<CaseView>,
}


async fn my_cases(AxState(state): AxState<AppState>, ctx: PageCtx, user: User) -> AppResult<Response> {
    let cases = service::mine(&state, user.person()?).await?;
    Ok(render(&MinePage { ctx, cases }))
}

#[derive(Template)]
#[template(path = "cases/case.html")]
struct CasePage {
    ctx: PageCtx,
    case: CaseView,
    /// Where the author's buttons post to.
    moves_url: String,
    /// The private link, shown right after an anonymous filing.
    follow_link: Option<String>,
    /// Where an anonymous author rates the result, when a rating is open.
    rate_url: Option<String>,
}

impl CasePage {
    fn can_withdraw(&self) -> bool {
        self.case.state.author_moves().contains(&State::Withdrawn)
    }
    fn can_reopen(&self) -> bool {
        self.case.state.author_moves().contains(&State::InProgress)
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => self.ctx.label("case_state", s.code()),
            _ => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
}

async fn case_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let case = service::read(&state, &user, id).await?;
    Ok(render(&CasePage { ctx, case, moves_url: format!("/cases/{id}/moves"), follow_link: None, rate_url: None }))
}

#[derive(Debug, Default, Deserialize)]
struct FollowQuery {
    new: Option<String>,
}

async fn follow_page(AxState(state): AxState<AppState>, ctx: PageCtx, ApiPath(token): ApiPath<String>, ApiQuery(q): ApiQuery<FollowQuery>) -> AppResult<Response> {
    let id = service::by_follow_token(&state, &token).await?;
    let mut case = service::view(&state, id, false).await?;
    // The anonymous author sees their photos through the private link, before they are public.
    for p in &mut case.photos {
        p.url = format!("{}?t={token}", p.url);
        p.thumb_url = format!("{}?t={token}", p.thumb_url);
    }
    let link = format!("/cases/follow/{token}");
    let follow_link = q.new.is_some().then(|| format!("{}{link}", state.base_url));
    let rate_url = crate::rating::open_for_case(&state, id).await?.map(|_| format!("{link}/rate"));
    Ok(render(&CasePage { ctx, case, moves_url: format!("{link}/moves"), follow_link, rate_url }))
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    to: String,
    #[serde(default)]
    note: String,
}

fn parse_move(form: &MoveForm) -> AppResult<Move> {
    let to = State::parse(&form.to).ok_or_else(|| AppError::field("to", "invalid_choice"))?;
    Ok(Move { to, note: form.note.clone(), parent_id: None })
}

async fn author_move(AxState(state): AxState<AppState>, user: User, ApiPath(id): ApiPath<i64>, WebForm(form): WebForm<MoveForm>) -> AppResult<Response> {
    service::move_case(&state, Mover::Person(&user), id, &parse_move(&form)?, &[]).await?;
    Ok(see_other(&format!("/cases/{id}")))
}

async fn follow_move(AxState(state): AxState<AppState>, ApiPath(token): ApiPath<String>, WebForm(form): WebForm<MoveForm>) -> AppResult<Response> {
    let id = service::by_follow_token(&state, &token).await?;
    service::move_case(&state, Mover::FollowToken, id, &parse_move(&form)?, &[]).await?;
    Ok(see_other(&format!("/cases/follow/{token}")))
}

/// The community a staff page is about: `?c=slug`, else the first the viewer handles cases in.
async fn staff_community(state: &AppState, user: &User, slug: Option<&str>) -> AppResult<kernel::community::Community> {
    kernel::community::all(state, None)
        .await?
        .into_iter()
        .find(|c| slug.is_none_or(|want| want.is_empty() || want == c.slug) && user.can(c.id, &service::CASES_HANDLE))
        .ok_or(AppError::Forbidden)
}

#[derive(Template)]
#[template(path = "cases/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    community: String,
    slug: String,
    cases: Vec<CaseView>,
    next_cursor: Option<String>,
    /// Only the viewer's own cases.
    mine: bool,
}

impl QueuePage {
    fn clock(&self, c: &CaseView) -> (String, &'static str) {
        let clock = if c.state == State::New { c.first_response_clock } else { c.result_clock };
        clock_badge(&self.ctx, clock)
    }
}

fn clock_badge(ctx: &PageCtx, clock: crate::domain::ClockState) -> (String, &'static str) {
    use crate::domain::ClockState::*;
    let (key, class) = match clock {
        OnTrack => ("clock.on_track", "ok"),
        AtRisk => ("clock.at_risk", "warn"),
        Breached => ("clock.breached", "bad"),
        Met => ("clock.met", "ok"),
        MetLate => ("clock.met_late", "warn"),
        Paused => ("clock.paused", "muted"),
    };
    (ctx.tr.t(key).to_string(), class)
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    c: Option<String>,
    cursor: Option<String>,
    mine: Option<String>,
}

async fn queue_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<QueueQuery>) -> AppResult<Response> {
    let kernel::community::Community { id, slug, name: community, .. } = staff_community(&state, &user, q.c.as_deref()).await?;
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(30) };
    let offset = page.after()?.unwrap_or(0);
    let mine = q.mine.is_some();
    let assignee = if mine { Some(user.person()?) } else { None };
    let mut cases = service::queue(&state, &user, id, assignee, Some(offset), 30).await?;
    let next_cursor = (cases.len() > 30).then(|| kernel::web::encode_cursor(offset + 30));
    cases.truncate(30);
    Ok(render(&QueuePage { ctx, community, slug, cases, next_cursor, mine }))
}

#[derive(Template)]
#[template(path = "cases/staff_case.html")]
struct StaffCasePage {
    ctx: PageCtx,
    case: CaseView,
    moves: Vec<State>,
    error: Option<String>,
    /// Staff and grid workers the case can go to: (user id, name).
    people: Vec<(i64, String)>,
    /// 0..16, the cells of the redaction grid.
    cells: Vec<u32>,
}

impl StaffCasePage {
    fn first_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.first_response_clock)
    }
    fn result_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.result_clock)
    }
    fn reasons(&self) -> String {
        let said = self.ctx.tr.t("cases.danger_reason");
        let failed = self.ctx.tr.t("cases.triage_pending");
        self.case
            .reasons
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["phrase"].as_str())
                    .map(|p| match p {
                        "danger_now" => said,
                        "triage_failed" => failed,
                        _ => p,
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default()
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => self.ctx.label("case_state", s.code()),
            _ => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
    fn is_assignee(&self, id: &i64) -> bool {
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
}

async fn staff_case_view(state: &AppState, ctx: PageCtx, user: &User, id: i64, error: Option<String>) -> AppResult<StaffCasePage> {
    let case = service::read_as_staff(state, user, id).await?;
    let moves = case.state.staff_moves().to_vec();
    let people = sqlx::query_as(
        "SELECT DISTINCT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role IN ('staff', 'admin', 'grid_worker') ORDER BY u.id",
    )
    .bind(case.community_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(StaffCasePage { ctx, case, moves, error, people, cells: (0..16).collect() })
}

async fn staff_case_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    Ok(render(&staff_case_view(&state, ctx, &user, id, None).await?))
}

/// Shows the staff page again with what went wrong, or goes back to it.
async fn after_staff_action(state: &AppState, ctx: PageCtx, user: &User, id: i64, result: AppResult<()>) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&format!("/console/cases/{id}"))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. } | AppError::PayloadTooLarge)) => {
            let msg = form_error(&ctx, &e);
            let status = e.status();
            Ok(render_status(status, &staff_case_view(state, ctx, user, id, Some(msg)).await?))
        }
        Err(e) => Err(e),
    }
}

/// A step by staff: the next state with a note, "after" photos with a resolution, the parent
/// case for a duplicate. Multipart, so that photos can come along.
async fn staff_move(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>, req: axum::extract::Request) -> AppResult<Response> {
    let result = async {
        let form = kernel::web::page_form(req, "photos", crate::photos::MAX_PHOTOS, state.config.upload_limit, state.config.body_limit).await?;
        let (form, files) = uploads(form);
        let to = State::parse(form.get("to")).ok_or_else(|| AppError::field("to", "invalid_choice"))?;
        let parent_id = form.get("parent_id").trim().trim_start_matches('#').parse().ok();
        let m = Move { to, note: form.get("note").to_string(), parent_id };
        // Photos are decoded only for someone who may handle the case.
        service::ensure_within_reach(&state, &user, id).await?;
        let photos = crate::photos::prepare(&state, files).await?;
        service::move_case(&state, Mover::Person(&user), id, &m, &photos).await.map(|_| ())
    }
    .await;
    after_staff_action(&state, ctx, &user, id, result).await
}

#[derive(Debug, Deserialize)]
struct ActForm {
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
async fn staff_act(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>, WebForm(form): WebForm<ActForm>) -> AppResult<Response> {
    let result = match form.action.as_str() {
        "assign" => match form.user_id.parse() {
            Ok(user_id) => service::assign(&state, &user, id, &service::Assign { user_id, note: form.note }).await.map(|_| ()),
            Err(_) => Err(AppError::field("user_id", "required")),
        },
        "wait" => service::wait(&state, &user, id, &service::Wait { waiting: true, note: form.note }).await.map(|_| ()),
        "resume" => service::wait(&state, &user, id, &service::Wait { waiting: false, note: form.note }).await.map(|_| ()),
        "private" | "public" => service::set_visibility(&state, &user, id, &service::Visibility { private: form.action == "private", note: form.note }).await.map(|_| ()),
        "reclassify" => match (triage::Urgency::parse(&form.urgency), triage::Category::parse(&form.category)) {
            (Some(urgency), Some(category)) => service::reclassify(&state, &user, id, &service::Reclassify { urgency, category, reason: form.note }).await.map(|_| ()),
            _ => Err(AppError::field("urgency", "invalid_choice")),
        },
        _ => Err(AppError::field("action", "invalid_choice")),
    };
    after_staff_action(&state, ctx, &user, id, result).await
}

/// Blurs the ticked cells of a photo, or hides it (staff, without JavaScript: a grid of boxes
/// over the photo).
async fn staff_redact(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(photo_id): ApiPath<i64>, req: axum::extract::Request) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "", 0, 0, state.config.body_limit).await?;
    let cells = form.values("cell").iter().filter_map(|v| v.parse().ok()).collect();
    let hidden = form.has("hidden");
    let case_id: i64 = form.get("case").parse().map_err(|_| AppError::NotFound)?;
    let result = crate::photos::redact(&state, &user, photo_id, &crate::photos::Redaction { cells, hidden }).await.map(|_| ());
    after_staff_action(&state, ctx, &user, case_id, result).await
}

#[derive(Template)]
#[template(path = "cases/rate.html")]
struct RatePage {
    ctx: PageCtx,
    action: String,
    text: String,
    done: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RateForm {
    solved: String,
    satisfaction: String,
    #[serde(default)]
    comment: String,
}

fn parse_rating(form: &RateForm) -> AppResult<crate::rating::Rating> {
    let satisfaction = crate::rating::Satisfaction::parse(&form.satisfaction).ok_or_else(|| AppError::field("satisfaction", "invalid_choice"))?;
    Ok(crate::rating::Rating { solved: form.solved == "1", satisfaction, comment: form.comment.clone() })
}

fn rating_error_page(ctx: PageCtx, e: AppError) -> AppResult<Response> {
    match e {
        AppError::Conflict { code, .. } => {
            let message = ctx.tr.t(&format!("error.{code}")).to_string();
            Ok(render_status(StatusCode::GONE, &RatePage { ctx, action: String::new(), text: String::new(), done: false, error: Some(message) }))
        }
        other => Err(other),
    }
}

async fn rate_page(AxState(state): AxState<AppState>, ctx: PageCtx, ApiPath(token): ApiPath<String>) -> AppResult<Response> {
    match crate::rating::open(&state, &token).await {
        Ok((_, case_id)) => {
            let text = service::view(&state, case_id, false).await?.text;
            Ok(render(&RatePage { ctx, action: format!("/r/{token}"), text, done: false, error: None }))
        }
        Err(e) => rating_error_page(ctx, e),
    }
}

async fn rate_submit(AxState(state): AxState<AppState>, ctx: PageCtx, ApiPath(token): ApiPath<String>, WebForm(form): WebForm<RateForm>) -> AppResult<Response> {
    match crate::rating::submit(&state, &token, &parse_rating(&form)?).await {
        Ok(()) => Ok(render(&RatePage { ctx, action: String::new(), text: String::new(), done: true, error: None })),
        Err(e) => rating_error_page(ctx, e),
    }
}

async fn follow_rate(AxState(state): AxState<AppState>, ApiPath(token): ApiPath<String>, WebForm(form): WebForm<RateForm>) -> AppResult<Response> {
    let case_id = service::by_follow_token(&state, &token).await?;
    let rating_id = crate::rating::open_for_case(&state, case_id).await?.ok_or(AppError::NotFound)?;
    crate::rating::record(&state, rating_id, case_id, &parse_rating(&form)?).await?;
    Ok(see_other(&format!("/cases/follow/{token}")))
}

#[derive(Template)]
#[template(path = "cases/ledger.html")]
struct LedgerPage {
    ctx: PageCtx,
    community: String,
    slug: String,
    figures: crate::ledger::Figures,
    cases: Vec<crate::ledger::PublicCase>,
    next_cursor: Option<String>,
    filter: crate::ledger::Filter,
    /// The query string of the filter, for the next page's link.
    filter_query: String,
    buildings: Vec<(i64, String)>,
    grids: Vec<(i64, String)>,
    plan: Vec<Placed>,
    /// Height of the plan's view box (its width is 1000).
    plan_height: i64,
    by: crate::ledger::By,
    groups: Vec<crate::ledger::FigureGroup>,
}

impl LedgerPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "—".into())
    }
    fn group_label(&self, key: &str) -> String {
        match self.by {
            crate::ledger::By::Category => self.ctx.label("category", key),
            _ if key.is_empty() => self.ctx.tr.t("ledger.no_grid").to_string(),
            _ => key.to_string(),
        }
    }
    fn is_status(&self, v: &str) -> bool {
        self.filter.status.as_deref() == Some(v)
    }
    fn is_category(&self, v: &str) -> bool {
        self.filter.category.as_deref() == Some(v)
    }
    fn is_building(&self, v: &i64) -> bool {
        self.filter.building_id == Some(*v)
    }
    fn is_grid(&self, v: &i64) -> bool {
        self.filter.grid_id == Some(*v)
    }
    fn categories(&self) -> Vec<&'static str> {
        triage::Category::ALL.iter().map(|c| c.code()).collect()
    }
    fn by_code(&self) -> &'static str {
        self.by.code()
    }
    fn all_by(&self) -> [crate::ledger::By; 3] {
        crate::ledger::By::ALL
    }
    /// A building's marker radius: bigger with more open cases.
    fn radius(&self, p: &Placed) -> i64 {
        18 + 4 * p.building.open_cases.min(6)
    }
    fn minutes(&self, v: &Option<i64>) -> String {
        match v {
            None => "—".into(),
            Some(m) if *m < 120 => self.ctx.tr.n("ledger.minutes", m),
            Some(m) => self.ctx.tr.n("ledger.hours", (m + 30) / 60),
        }
    }
}

async fn ledger_home(AxState(state): AxState<AppState>, viewer: Viewer) -> AppResult<Response> {
    let community = target_community(&state, &viewer, None).await?;
    Ok(see_other(&format!("/ledger/{}", community.slug)))
}

/// A building drawn on the plan: its place scaled into the view box, and a short label.
struct Placed {
    building: crate::ledger::PlanBuilding,
    x: i64,
    y: i64,
    label: String,
}

/// Scales the buildings' plan positions (any units) into a 1000-wide view box, keeping their
/// proportions; returns them with the view box's height.
fn lay_out(plan: Vec<crate::ledger::PlanBuilding>) -> (Vec<Placed>, i64) {
    let (min_x, max_x) = (plan.iter().map(|b| b.x).min().unwrap_or(0), plan.iter().map(|b| b.x).max().unwrap_or(0));
    let (min_y, max_y) = (plan.iter().map(|b| b.y).min().unwrap_or(0), plan.iter().map(|b| b.y).max().unwrap_or(0));
    let scale = (840.0 / (max_x - min_x).max(1) as f64).min(600.0 / (max_y - min_y).max(1) as f64).min(240.0);
    let placed = plan
        .into_iter()
        .map(|b| Placed {
            x: 80 + ((b.x - min_x) as f64 * scale) as i64,
            y: 70 + ((b.y - min_y) as f64 * scale) as i64,
            label: b.name.split_whitespace().last().unwrap_or(&b.name).to_string(),
            building: b,
        })
        .collect();
    (placed, 150 + ((max_y - min_y) as f64 * scale) as i64)
}

#[derive(Debug, Default, Deserialize)]
struct LedgerQuery {
    cursor: Option<String>,
    by: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    building_id: String,
    #[serde(default)]
    grid_id: String,
    #[serde(default)]
    month: String,
}

async fn ledger_page(AxState(state): AxState<AppState>, ctx: PageCtx, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<LedgerQuery>) -> AppResult<Response> {
    let kernel::community::Community { id, name: community, .. } = kernel::community::by_slug(&state, &slug).await?.ok_or(AppError::NotFound)?;
    let filter = crate::ledger::Filter {
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        category: Some(q.category.clone()).filter(|s| !s.is_empty()),
        building_id: q.building_id.parse().ok(),
        grid_id: q.grid_id.parse().ok(),
        month: Some(q.month.clone()).filter(|s| !s.is_empty()),
    };
    let filter_query = [("status", &q.status), ("category", &q.category), ("building_id", &q.building_id), ("grid_id", &q.grid_id), ("month", &q.month)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("&{k}={}", kernel::web::url_encode(v)))
        .collect::<String>();
    let by = match q.by.as_deref() {
        Some("grid") => crate::ledger::By::Grid,
        Some("category") => crate::ledger::By::Category,
        _ => crate::ledger::By::Month,
    };
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(30) };
    let rows = crate::ledger::cases(&state, id, &filter, page.after()?, 30).await?;
    let page = kernel::web::Page::from_rows(rows, 30, |c| c.id);
    let figures = crate::ledger::figures(&state, id).await?;
    let (buildings, grids) = crate::ledger::choices(&state, id).await?.as_ref().clone();
    let (plan, plan_height) = lay_out(crate::ledger::plan(&state, id).await?);
    let groups = crate::ledger::breakdown(&state, id, by).await?;
    Ok(render(&LedgerPage { ctx, community, slug, figures, cases: page.items, next_cursor: page.next_cursor, filter, filter_query, buildings, grids, plan, plan_height, by, groups }))
}

async fn follow_case(AxState(state): AxState<AppState>, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    crate::ledger::follow(&state, user.person()?, id).await?;
    Ok(see_other("/cases/new?followed=1"))
}

#[derive(Template)]
#[template(path = "cases/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    slug: String,
    /// (urgency, first-response minutes, result minutes, working hours) for every urgency.
    levels: Vec<(&'static str, i64, i64, bool)>,
    staff: Vec<(i64, String)>,
    roster: Vec<(i64, i64)>,
    holidays: String,
    working_days: String,
    can_edit: bool,
    saved: bool,
    error: Option<String>,
}

impl SettingsPage {
    fn on_duty(&self, weekday: &i64, user: &i64) -> bool {
        self.roster.contains(&(*weekday, *user))
    }
    fn weekdays(&self) -> [i64; 7] {
        [1, 2, 3, 4, 5, 6, 7]
    }
}

#[derive(Debug, Default, Deserialize)]
struct SettingsQuery {
    c: Option<String>,
    saved: Option<String>,
}

async fn settings_view(state: &AppState, ctx: PageCtx, user: &User, slug: Option<&str>, saved: bool, error: Option<String>) -> AppResult<SettingsPage> {
    let community = staff_community(state, user, slug).await?;
    let s = crate::policy::settings(state, user, community.id).await?;
    let levels = [triage::Urgency::Critical, triage::Urgency::Urgent, triage::Urgency::Normal, triage::Urgency::Low]
        .into_iter()
        .map(|u| {
            let d = crate::domain::default_sla(u);
            match s.sla.iter().find(|p| p.urgency == u && p.category.is_none()) {
                Some(p) => (u.code(), p.first_response_minutes, p.result_minutes, p.working_hours),
                None => (u.code(), d.first_response_ms / kernel::clock::MINUTE, d.result_ms / kernel::clock::MINUTE, false),
            }
        })
        .collect();
    let staff = sqlx::query_as(
        "SELECT DISTINCT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role IN ('staff', 'admin') ORDER BY u.id",
    )
    .bind(community.id)
    .fetch_all(&state.db.pool)
    .await?;
    let days = |working: bool| s.calendar_days.iter().filter(|d| d.working == working).map(|d| d.day.clone()).collect::<Vec<_>>().join("\n");
    Ok(SettingsPage {
        can_edit: user.can(community.id, &crate::policy::CASES_CONFIGURE),
        ctx,
        slug: community.slug,
        levels,
        staff,
        roster: s.duty_roster.iter().map(|d| (d.weekday, d.user_id)).collect(),
        holidays: days(false),
        working_days: days(true),
        saved,
        error,
    })
}

/// Service levels, the duty roster and the holiday calendar on one page (admins edit, staff read).
async fn settings_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<SettingsQuery>) -> AppResult<Response> {
    Ok(render(&settings_view(&state, ctx, &user, q.c.as_deref(), q.saved.is_some(), None).await?))
}

async fn settings_save(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, req: axum::extract::Request) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "", 0, 0, state.config.body_limit).await?;
    let get = |k: &str| form.get(k).trim().to_string();
    let slug = get("c");
    let community = staff_community(&state, &user, Some(slug.as_str())).await?;
    let mut s = crate::policy::settings(&state, &user, community.id).await?;
    let result = async {
        // The page edits the levels that hold for every category; per-category ones stay.
        s.sla.retain(|p| p.category.is_some());
        for u in [triage::Urgency::Critical, triage::Urgency::Urgent, triage::Urgency::Normal, triage::Urgency::Low] {
            let minutes = |k: String| get(&k).parse::<i64>().map_err(|_| AppError::field(k, "out_of_range"));
            s.sla.push(crate::policy::SlaPolicy {
                urgency: u,
                category: None,
                first_response_minutes: minutes(format!("first_{}", u.code()))?,
                result_minutes: minutes(format!("result_{}", u.code()))?,
                working_hours: form.has(&format!("hours_{}", u.code())),
            });
        }
        s.duty_roster = form
            .values("duty")
            .into_iter()
            .filter_map(|v| v.split_once(':'))
            .filter_map(|(d, u)| Some(crate::policy::Duty { weekday: d.parse().ok()?, user_id: u.parse().ok()? }))
            .collect();
        let lines = |k: &str, working: bool| {
            get(k).lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| crate::policy::CalendarDay { day: l.to_string(), working }).collect::<Vec<_>>()
        };
        s.calendar_days = lines("holidays", false);
        s.calendar_days.extend(lines("working_days", true));
        crate::policy::replace(&state, &user, community.id, &s).await.map(|_| ())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/console/cases/settings?c={}&saved=1", community.slug))),
        Err(e @ AppError::Validation(_)) => {
            let msg = form_error(&ctx, &e);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &settings_view(&state, ctx, &user, Some(community.slug.as_str()), false, Some(msg)).await?))
        }
        Err(e) => Err(e),
    }
}
