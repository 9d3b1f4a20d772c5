//! The author's pages: my reports, a case, the private link, moves and the rating.

use crate::domain::CaseId;
use super::*;

#[derive(Template)]
#[template(path = "cases/mine.html")]
pub(super) struct MinePage {
    ctx: PageCtx,
    cases: Vec<CaseView>,
    /// Cases the person follows, as the public ledger shows them.
    followed: Vec<crate::ledger::PublicCase>,
}

impl MinePage {
    fn due_shown(&self, c: &CaseView) -> bool {
        clocks_shown(c)
    }
    fn latest_step(&self, c: &crate::ledger::PublicCase) -> String {
        match c.steps.last() {
            Some((at, st)) => format!("{} {}", self.ctx.when(at), self.ctx.label("case_state", st.code())),
            None => String::new(),
        }
    }
}

/// Whether a case's clocks still mean something to its author: not once it is done.
pub(super) fn clocks_shown(case: &CaseView) -> bool {
    !case.state.has_result()
}

/// How a finished case's clocks ended (首次响应 按时, 办结 超时完成 …), for its author and her
/// family alike; none for a clock that just stopped (a withdrawn case).
pub(super) fn clock_results(ctx: &PageCtx, case: &CaseView) -> Vec<(String, (String, &'static str))> {
    use crate::domain::ClockState;
    [("first_response", case.first_response_clock), ("result", case.result_clock)]
        .into_iter()
        .filter(|(_, c)| !matches!(c, ClockState::Ended | ClockState::Paused))
        .map(|(name, c)| (ctx.tr.t(&format!("cases.clock_result.{name}")).to_string(), clock_badge(ctx, c)))
        .collect()
}

pub(super) async fn my_cases(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
) -> AppResult<Response> {
    let cases = service::mine(&state, user.person()?).await?;
    let followed = crate::ledger::followed(&state, user.person()?).await?;
    Ok(render(&MinePage { ctx, cases, followed }))
}

#[derive(Template)]
#[template(path = "cases/case.html")]
pub(super) struct CasePage {
    ctx: PageCtx,
    case: CaseView,
    /// Where the author's buttons post to.
    moves_url: String,
    /// The private link, shown right after an anonymous filing.
    follow_link: Option<String>,
    /// Where the author rates the result, when a rating is open.
    rate_url: Option<String>,
    /// Just filed: what the resident is promised, from the case's own clocks.
    filed_notice: Option<String>,
    /// The rating form as sent, when it came back with a field's message.
    rating: RateForm,
}

impl CasePage {
    fn can_withdraw(&self) -> bool {
        self.case.state.author_moves().contains(&State::Withdrawn)
    }
    fn can_reopen(&self) -> bool {
        self.case.state.author_moves().contains(&State::InProgress)
    }
    fn clocks_shown(&self) -> bool {
        clocks_shown(&self.case)
    }
    fn clock_results(&self) -> Vec<(String, (String, &'static str))> {
        clock_results(&self.ctx, &self.case)
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => {
                self.ctx.label("case_state", s.code())
            }
            _ => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
    fn event_note(&self, e: &service::Event) -> String {
        super::event_note(&self.ctx, e)
    }
}

/// What a new case's author was promised: its own first-reply time, from its urgency's level.
fn filed_notice(ctx: &PageCtx, case: &CaseView) -> String {
    kernel::i18n::tf(
        ctx.tr.0,
        "cases.filed_promise",
        &[
            ("urgency", ctx.label("urgency", case.urgency.code())),
            ("span", super::report::span(ctx, case.first_response_due - case.created_at)),
            ("when", ctx.when(&case.first_response_due)),
        ],
    )
}

pub(super) async fn case_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<Response> {
    Ok(render(&author_view(&state, ctx, &user, id, RateForm::default()).await?))
}

/// A case as its author (or the resident it was filed for) sees it, with the rating form as sent.
async fn author_view(state: &AppState, ctx: PageCtx, user: &User, id: CaseId, rating: RateForm) -> AppResult<CasePage> {
    let case = service::read(&state, user, id).await?;
    let author = service::is_author(&state, user, id).await?;
    let rate_url = if author {
        crate::rating::open_for_case(&state, id)
            .await?
            .map(|_| format!("/cases/{id}/rate"))
    } else {
        None
    };
    // Until the first reply, the author sees what they were promised.
    let filed_notice = if author && case.state == State::New {
        Some(filed_notice(&ctx, &case))
    } else {
        None
    };
    Ok(CasePage {
        ctx,
        case,
        moves_url: format!("/cases/{id}/moves"),
        follow_link: None,
        rate_url,
        filed_notice,
        rating,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FollowQuery {
    new: Option<String>,
}

pub(super) async fn follow_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    ApiPath(token): ApiPath<String>,
    ApiQuery(q): ApiQuery<FollowQuery>,
) -> AppResult<Response> {
    Ok(render(&follow_view(&state, ctx, &token, q.new.is_some(), RateForm::default()).await?))
}

/// An anonymous case through its private link, with the rating form as sent.
async fn follow_view(state: &AppState, ctx: PageCtx, token: &str, new: bool, rating: RateForm) -> AppResult<CasePage> {
    let id = service::by_follow_token(&state, token).await?;
    let mut case = service::view(&state, id, false).await?;
    // The anonymous author sees their photos through the private link, before they are public.
    for p in &mut case.photos {
        p.url = format!("{}?t={token}", p.url);
        p.thumb_url = format!("{}?t={token}", p.thumb_url);
    }
    let link = format!("/cases/follow/{token}");
    let follow_link = new.then(|| format!("{}{link}", state.base_url));
    let rate_url = crate::rating::open_for_case(&state, id)
        .await?
        .map(|_| format!("{link}/rate"));
    let filed_notice = (case.state == State::New).then(|| filed_notice(&ctx, &case));
    Ok(CasePage {
        ctx,
        case,
        moves_url: format!("{link}/moves"),
        follow_link,
        rate_url,
        filed_notice,
        rating,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct MoveForm {
    to: String,
    #[serde(default)]
    note: String,
}

pub(super) fn parse_move(form: &MoveForm) -> AppResult<Move> {
    let to = State::parse(&form.to).ok_or_else(|| AppError::field("to", "invalid_choice"))?;
    Ok(Move {
        to,
        note: form.note.clone(),
        parent_id: None,
    })
}

pub(super) async fn author_move(
    AxState(state): AxState<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    WebForm(form): WebForm<MoveForm>,
) -> AppResult<Response> {
    service::move_case(&state, Mover::Person(&user), id, &parse_move(&form)?, &[]).await?;
    Ok(see_other(&format!("/cases/{id}")))
}

pub(super) async fn follow_move(
    AxState(state): AxState<AppState>,
    ApiPath(token): ApiPath<String>,
    WebForm(form): WebForm<MoveForm>,
) -> AppResult<Response> {
    let id = service::by_follow_token(&state, &token).await?;
    service::move_case(&state, Mover::FollowToken, id, &parse_move(&form)?, &[]).await?;
    Ok(see_other(&format!("/cases/follow/{token}")))
}

#[derive(Template)]
#[template(path = "cases/rate.html")]
pub(super) struct RatePage {
    ctx: PageCtx,
    action: String,
    text: String,
    done: bool,
    error: Option<String>,
    /// The rating form as sent, when it came back with a field's message.
    rating: RateForm,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct RateForm {
    #[serde(default)]
    solved: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    comment: String,
    /// The field a refused rating is refused for (not sent).
    #[serde(skip)]
    field: String,
    /// Why, in words (not sent).
    #[serde(skip)]
    message: String,
}

impl RateForm {
    /// The form as sent, with the first field's message of a refusal.
    fn refused(mut self, ctx: &PageCtx, e: &AppError) -> Self {
        self.field = e.fields().first().map(|f| f.field.clone()).unwrap_or_default();
        self.message = form_error(ctx, e);
        self
    }
}

/// Reads a rating form. "Solved" must be answered yes (`1`) or no (`0`): a missing or unknown
/// answer is refused, never read as "not solved", which would reopen the case.
pub(super) fn parse_rating(form: &RateForm) -> AppResult<crate::rating::Rating> {
    let solved = match form.solved.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let satisfaction = crate::domain::Satisfaction::parse(&form.satisfaction);
    let mut refused = Vec::new();
    if solved.is_none() {
        refused.push(kernel::error::FieldError::new("solved", "invalid_choice"));
    }
    if satisfaction.is_none() {
        refused.push(kernel::error::FieldError::new("satisfaction", "invalid_choice"));
    }
    match (solved, satisfaction) {
        (Some(solved), Some(satisfaction)) => Ok(crate::rating::Rating { solved, satisfaction, comment: form.comment.clone() }),
        _ => Err(AppError::Validation(refused)),
    }
}

pub(super) fn rating_error_page(ctx: PageCtx, e: AppError) -> AppResult<Response> {
    match e {
        AppError::Conflict { code, .. } => {
            let message = ctx.tr.t(&format!("error.{code}")).to_string();
            Ok(render_status(
                StatusCode::GONE,
                &RatePage {
                    ctx,
                    action: String::new(),
                    text: String::new(),
                    done: false,
                    error: Some(message),
                    rating: RateForm::default(),
                },
            ))
        }
        other => Err(other),
    }
}

pub(super) async fn rate_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    ApiPath(token): ApiPath<String>,
) -> AppResult<Response> {
    match crate::rating::open(&state, &token).await {
        Ok((_, case_id)) => {
            let text = service::view(&state, case_id, false).await?.text;
            Ok(render(&RatePage {
                ctx,
                action: format!("/r/{token}"),
                text,
                done: false,
                error: None,
                rating: RateForm::default(),
            }))
        }
        Err(e) => rating_error_page(ctx, e),
    }
}

pub(super) async fn rate_submit(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    ApiPath(token): ApiPath<String>,
    WebForm(form): WebForm<RateForm>,
) -> AppResult<Response> {
    let sent = match parse_rating(&form) {
        Ok(r) => crate::rating::submit(&state, &token, &r).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => Ok(render(&RatePage {
            ctx,
            action: String::new(),
            text: String::new(),
            done: true,
            error: None,
            rating: RateForm::default(),
        })),
        // The form again, as chosen, with the field's message.
        Err(e @ AppError::Validation(_)) => {
            let (_, case_id) = crate::rating::open(&state, &token).await?;
            let text = service::view(&state, case_id, false).await?.text;
            let rating = form.refused(&ctx, &e);
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &RatePage { ctx, action: format!("/r/{token}"), text, done: false, error: None, rating },
            ))
        }
        Err(e) => rating_error_page(ctx, e),
    }
}

pub(super) async fn follow_rate(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    ApiPath(token): ApiPath<String>,
    WebForm(form): WebForm<RateForm>,
) -> AppResult<Response> {
    let case_id = service::by_follow_token(&state, &token).await?;
    let rating_id = crate::rating::open_for_case(&state, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match recorded(&state, rating_id, case_id, &form).await {
        Ok(()) => Ok(see_other(&format!("/cases/follow/{token}"))),
        Err(e @ AppError::Validation(_)) => {
            let rating = form.refused(&ctx, &e);
            let page = follow_view(&state, ctx, &token, false, rating).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

/// Records a rating as sent on a page's form.
async fn recorded(state: &AppState, rating_id: i64, case_id: CaseId, form: &RateForm) -> AppResult<()> {
    crate::rating::record(state, rating_id, case_id, &parse_rating(form)?).await
}

/// The named author rates the result on the case's own page.
pub(super) async fn author_rate(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    WebForm(form): WebForm<RateForm>,
) -> AppResult<Response> {
    if !service::is_author(&state, &user, id).await? {
        return Err(AppError::NotFound);
    }
    let rating_id = crate::rating::open_for_case(&state, id)
        .await?
        .ok_or(AppError::NotFound)?;
    match recorded(&state, rating_id, id, &form).await {
        Ok(()) => Ok(see_other(&format!("/cases/{id}#progress"))),
        // The case page again with the form as chosen and the field's message.
        Err(e @ AppError::Validation(_)) => {
            let rating = form.refused(&ctx, &e);
            let page = author_view(&state, ctx, &user, id, rating).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn follow_case(
    AxState(state): AxState<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<Response> {
    crate::ledger::follow(&state, user.person()?, id).await?;
    Ok(see_other("/me/cases#followed"))
}

/// Stops following a case (from 我关注的 or its public page); sent twice, it is still not followed.
pub(super) async fn unfollow_case(
    AxState(state): AxState<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<Response> {
    crate::ledger::unfollow(&state, user.person()?, id).await?;
    Ok(see_other("/me/cases#followed"))
}

#[derive(Template)]
#[template(path = "cases/public_case.html")]
pub(super) struct PublicCasePage {
    ctx: PageCtx,
    c: crate::ledger::Similar,
}

impl PublicCasePage {
    fn followers(&self) -> String {
        self.ctx.tr.n("cases.followers", self.c.followers as usize)
    }
}

/// A case as the public ledger shows it, with 关注 or 取消关注 for someone logged in.
pub(super) async fn public_case_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    viewer: Viewer,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<Response> {
    let reader = viewer.0.as_ref().and_then(|p| p.user_id);
    let c = crate::ledger::public_case(&state, id, reader).await?;
    Ok(render(&PublicCasePage { ctx, c }))
}
