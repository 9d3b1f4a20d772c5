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
        .route("/cases/new", get(new_page).post(submit))
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
        .route("/console/cases/{id}/moves", post(staff_move))
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

#[derive(Template)]
#[template(path = "cases/new.html")]
struct NewPage {
    ctx: PageCtx,
    community: String,
    slug: String,
    buildings: Vec<(i64, String)>,
    key: String,
    text: String,
    place: String,
    anonymous: bool,
    error: Option<String>,
    /// Open cases like this one, shown before filing ("已有人反映").
    similar: Vec<crate::ledger::PublicCase>,
    building_id: Option<i64>,
    followed: bool,
}

impl NewPage {
    fn is_building(&self, id: &i64) -> bool {
        self.building_id == Some(*id)
    }
}

async fn buildings(state: &AppState, community_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, name FROM buildings WHERE community_id = $1 ORDER BY id").bind(community_id).fetch_all(&state.db.pool).await?)
}

/// The report form, empty or as submitted.
struct FormState {
    slug: String,
    key: String,
    text: String,
    place: String,
    anonymous: bool,
    building_id: Option<i64>,
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
        buildings: buildings(state, community.id).await?,
        ctx,
        community: community.name.clone(),
        slug: form.slug,
        key: form.key,
        text: form.text,
        place: form.place,
        anonymous: form.anonymous,
        error,
        similar,
        building_id: form.building_id,
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
        building_id: None,
    };
    Ok(render(&form_page(&state, ctx, &community, form, None, Vec::new(), q.followed.is_some()).await?))
}

#[derive(Debug, Deserialize)]
struct ReportForm {
    text: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    building_id: String,
    anonymous: Option<String>,
    key: String,
    #[serde(default)]
    c: String,
    /// Set once the similar cases have been shown: file anyway.
    confirm: Option<String>,
}

async fn submit(AxState(state): AxState<AppState>, ctx: PageCtx, viewer: Viewer, WebForm(form): WebForm<ReportForm>) -> AppResult<Response> {
    let community = target_community(&state, &viewer, Some(form.c.as_str()).filter(|c| !c.is_empty())).await?;
    let new = NewCase {
        text: form.text.clone(),
        place: form.place.clone(),
        building_id: form.building_id.parse().ok(),
        anonymous: form.anonymous.is_some() || viewer.0.is_none(),
        source: None,
        idempotency_key: Some(form.key.clone()),
    };
    let as_sent = FormState {
        slug: form.c,
        key: form.key,
        text: form.text,
        place: form.place,
        anonymous: new.anonymous,
        building_id: new.building_id,
    };
    // Before filing, show open cases like this one so people can follow instead of duplicating
    // (unless this very form was filed already: a resubmission goes straight to its case).
    let already = service::filed_with_key(&state, community.id, &as_sent.key).await?.is_some();
    if form.confirm.is_none() && !already && !new.text.trim().is_empty() {
        let similar = crate::ledger::similar(&state, community.id, new.text.trim(), new.building_id).await?;
        if !similar.is_empty() {
            return Ok(render(&form_page(&state, ctx, &community, as_sent, None, similar, false).await?));
        }
    }
    match service::file(&state, viewer.0.as_deref(), community.id, &new).await {
        Ok(filed) => Ok(match filed.follow_token {
            Some(token) => see_other(&format!("/cases/follow/{token}?new=1")),
            // A resubmitted anonymous form finds its case but not the link, which was shown once.
            None if new.anonymous => see_other("/"),
            None => see_other(&format!("/cases/{}", filed.id)),
        }),
        Err(e @ AppError::Validation(_)) => {
            let error = e.fields().first().map(|f| f.message(ctx.tr.0));
            let page = form_page(&state, ctx, &community, as_sent, error, Vec::new(), false).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
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
    let case = service::view(&state, id, false).await?;
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
    Ok(Move { to, note: form.note.clone() })
}

async fn author_move(AxState(state): AxState<AppState>, user: User, ApiPath(id): ApiPath<i64>, WebForm(form): WebForm<MoveForm>) -> AppResult<Response> {
    service::move_case(&state, Mover::Person(&user), id, &parse_move(&form)?).await?;
    Ok(see_other(&format!("/cases/{id}")))
}

async fn follow_move(AxState(state): AxState<AppState>, ApiPath(token): ApiPath<String>, WebForm(form): WebForm<MoveForm>) -> AppResult<Response> {
    let id = service::by_follow_token(&state, &token).await?;
    service::move_case(&state, Mover::FollowToken, id, &parse_move(&form)?).await?;
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
    };
    (ctx.tr.t(key).to_string(), class)
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    c: Option<String>,
    cursor: Option<String>,
}

async fn queue_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<QueueQuery>) -> AppResult<Response> {
    let kernel::community::Community { id, slug, name: community, .. } = staff_community(&state, &user, q.c.as_deref()).await?;
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(30) };
    let offset = page.after()?.unwrap_or(0);
    let mut cases = service::queue(&state, &user, id, Some(offset), 30).await?;
    let next_cursor = (cases.len() > 30).then(|| kernel::web::encode_cursor(offset + 30));
    cases.truncate(30);
    Ok(render(&QueuePage { ctx, community, slug, cases, next_cursor }))
}

#[derive(Template)]
#[template(path = "cases/staff_case.html")]
struct StaffCasePage {
    ctx: PageCtx,
    case: CaseView,
    moves: Vec<State>,
    error: Option<String>,
}

impl StaffCasePage {
    fn first_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.first_response_clock)
    }
    fn result_clock(&self) -> (String, &'static str) {
        clock_badge(&self.ctx, self.case.result_clock)
    }
    fn reasons(&self) -> String {
        self.case.reasons.as_array().map(|a| a.iter().filter_map(|r| r["phrase"].as_str()).collect::<Vec<_>>().join("、")).unwrap_or_default()
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => self.ctx.label("case_state", s.code()),
            _ => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
}

async fn staff_case_view(state: &AppState, ctx: PageCtx, user: &User, id: i64, error: Option<String>) -> AppResult<StaffCasePage> {
    let case = service::read(state, user, id).await?;
    if !user.can(case.community_id, &service::CASES_HANDLE) {
        return Err(AppError::NotFound);
    }
    let moves = case.state.staff_moves().to_vec();
    Ok(StaffCasePage { ctx, case, moves, error })
}

async fn staff_case_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    Ok(render(&staff_case_view(&state, ctx, &user, id, None).await?))
}

async fn staff_move(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>, WebForm(form): WebForm<MoveForm>) -> AppResult<Response> {
    let result = match parse_move(&form) {
        Ok(m) => service::move_case(&state, Mover::Person(&user), id, &m).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/console/cases/{id}"))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let msg = e.fields().first().map(|f| f.message(ctx.tr.0)).unwrap_or_else(|| e.message(ctx.tr.0));
            let status = e.status();
            Ok(render_status(status, &staff_case_view(&state, ctx, &user, id, Some(msg)).await?))
        }
        Err(e) => Err(e),
    }
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
}

impl LedgerPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_else(|| "—".into())
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

#[derive(Debug, Default, Deserialize)]
struct LedgerQuery {
    cursor: Option<String>,
}

async fn ledger_page(AxState(state): AxState<AppState>, ctx: PageCtx, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<LedgerQuery>) -> AppResult<Response> {
    let kernel::community::Community { id, name: community, .. } = kernel::community::by_slug(&state, &slug).await?.ok_or(AppError::NotFound)?;
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(30) };
    let rows = crate::ledger::cases(&state, id, page.after()?, 30).await?;
    let page = kernel::web::Page::from_rows(rows, 30, |c| c.id);
    let figures = crate::ledger::figures(&state, id).await?;
    Ok(render(&LedgerPage { ctx, community, slug, figures, cases: page.items, next_cursor: page.next_cursor }))
}

async fn follow_case(AxState(state): AxState<AppState>, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    crate::ledger::follow(&state, user.person()?, id).await?;
    Ok(see_other("/cases/new?followed=1"))
}
