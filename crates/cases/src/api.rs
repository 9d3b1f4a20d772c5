//! JSON API of the needs express: triage, filing, the staff queue, moving cases, following them.

use registry::BuildingId;
use crate::domain::CaseId;
use crate::service::{self, CaseView, Filed, Move, Mover, NewCase};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::auth::{User, Viewer};
use kernel::web::{encode_cursor, ApiJson, ApiPath, ApiQuery, Page, PageQuery};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;
use triage::Triage;

/// Longest text triage accepts.
pub const MAX_TEXT: usize = 2000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/triage", post(classify))
        .route("/api/v1/communities/{slug}/cases", post(file).get(queue))
        .route("/api/v1/cases/{id}", get(read))
        .route("/api/v1/cases/{id}/moves", post(move_case))
        .route("/api/v1/me/cases", get(mine))
        .route("/api/v1/cases/follow/{token}", get(follow_page_doc))
        .route("/api/v1/cases/follow/{token}/moves", post(follow_move))
        .route("/api/v1/ratings/{token}", post(rate))
        .route("/api/v1/communities/{slug}/ledger", get(ledger))
        .route("/api/v1/communities/{slug}/cases/similar", get(similar))
        .route("/api/v1/cases/{id}/follow", post(follow).delete(unfollow))
        .route(
            "/api/v1/cases/{id}/photos",
            post(add_photos).layer(axum::extract::DefaultBodyLimit::max(
                kernel::web::UPLOAD_CEILING,
            )),
        )
        .route("/api/v1/case-photos/{id}/redaction", post(redact))
        .route("/api/v1/cases/{id}/wait", post(wait))
        .route("/api/v1/cases/{id}/assignment", post(assign))
        .route("/api/v1/cases/{id}/visibility", post(visibility))
        .route("/api/v1/cases/{id}/triage", post(reclassify))
        .route(
            "/api/v1/communities/{slug}/case-settings",
            get(settings).put(replace_settings),
        )
        .route("/api/v1/communities/{slug}/ledger/figures", get(figures))
        .route("/api/v1/communities/{slug}/ledger/plan", get(plan))
}

/// A report's text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TriageRequest {
    /// What the resident wrote (Chinese or English).
    pub text: String,
    /// The community (slug) whose model should classify it, as filing there would; the model
    /// shipped with Linli when absent.
    #[serde(default)]
    pub community: Option<String>,
}

/// Classifies a report into an urgency and a category and names the words that decided it.
/// Open to everyone: the intake form shows it before a case is submitted.
#[utoipa::path(post, path = "/api/v1/triage", tag = "cases", request_body = TriageRequest,
    responses((status = 200, body = Triage), (status = 422, body = kernel::web::ErrorBody)))]
async fn classify(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TriageRequest>,
) -> AppResult<Json<Triage>> {
    let text = kernel::validate::required_multiline("text", &body.text, MAX_TEXT)?;
    match body.community.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(slug) => {
            let c = kernel::community::by_slug(&state, slug).await?.ok_or_else(|| AppError::field("community", "not_found_ref"))?;
            Ok(Json(crate::classify::triage_in(&state, c.id, text).await?.0))
        }
        None => Ok(Json(crate::classify::triage(&state, text).0)),
    }
}

async fn community_id(state: &AppState, slug: &str) -> AppResult<kernel::community::CommunityId> {
    Ok(kernel::community::by_slug(state, slug)
        .await?
        .ok_or(AppError::NotFound)?
        .id)
}

/// Files a case. Named cases need a login; anonymous ones may be filed by anyone, and the
/// answer carries the private link that is the only way back to them.
#[utoipa::path(post, path = "/api/v1/communities/{slug}/cases", tag = "cases", params(("slug" = String, Path)), request_body = NewCase,
    responses((status = 201, body = Filed), (status = 401, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn file(
    State(state): State<AppState>,
    viewer: Viewer,
    from: kernel::web::ClientIp,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewCase>,
) -> AppResult<(StatusCode, Json<Filed>)> {
    let c = community_id(&state, &slug).await?;
    service::admit(&state, viewer.0.as_deref(), &from, c, &body).await?;
    let filed = service::file(&state, viewer.0.as_deref(), c, &body, &[]).await?;
    Ok((StatusCode::CREATED, Json(filed)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct QueueFilter {
    /// Only the cases assigned to this user id (`me` for the caller's own).
    assignee: Option<String>,
}

/// The staff queue: open cases, critical first, then by the nearest due time.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/cases", tag = "cases", params(("slug" = String, Path), PageQuery, QueueFilter),
    responses((status = 200, body = Page<CaseView>), (status = 403, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    user: User,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
    ApiQuery(f): ApiQuery<QueueFilter>,
) -> AppResult<Json<Page<CaseView>>> {
    let c = community_id(&state, &slug).await?;
    let limit = q.limit()?;
    let assignee = match f.assignee.as_deref() {
        None | Some("") => None,
        Some("me") => Some(user.person()?),
        Some(id) => Some(
            id.parse()
                .map_err(|_| AppError::field("assignee", "invalid_choice"))?,
        ),
    };
    // The queue's order is by clocks, not ids: the cursor is the position in it.
    let offset = q.after()?.unwrap_or(0);
    let filter = service::QueueFilter {
        assignee,
        ..Default::default()
    };
    let mut rows = service::queue(&state, &user, c, &filter, Some(offset), limit).await?;
    let next_cursor = (rows.len() as i64 > limit).then(|| encode_cursor(offset + limit));
    rows.truncate(limit as usize);
    Ok(Json(Page {
        items: rows,
        next_cursor,
    }))
}

/// One case, for staff of its community or its named author.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(service::read(&state, &user, id).await?))
}

/// Moves a case: staff respond, progress, refer and resolve; the author withdraws, or reopens
/// a resolved case that is not solved.
#[utoipa::path(post, path = "/api/v1/cases/{id}/moves", tag = "cases", params(("id" = i64, Path)), request_body = Move,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 409, body = kernel::web::ErrorBody),
               (status = 422, body = kernel::web::ErrorBody)))]
async fn move_case(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(m): ApiJson<Move>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(
        service::move_case(&state, Mover::Person(&user), id, &m, &[]).await?,
    ))
}

/// The cases I filed under my name.
#[utoipa::path(get, path = "/api/v1/me/cases", tag = "cases",
    responses((status = 200, body = Vec<CaseView>), (status = 401, body = kernel::web::ErrorBody)))]
async fn mine(State(state): State<AppState>, user: User) -> AppResult<Json<Vec<CaseView>>> {
    Ok(Json(service::mine(&state, user.person()?).await?))
}

/// An anonymous case, through its private link.
#[utoipa::path(get, path = "/api/v1/cases/follow/{token}", tag = "cases", params(("token" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody)))]
async fn follow_page_doc(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> AppResult<Json<CaseView>> {
    let id = service::by_follow_token(&state, &token).await?;
    Ok(Json(service::view(&state, id, false).await?))
}

/// Withdraws or reopens an anonymous case through its private link.
#[utoipa::path(post, path = "/api/v1/cases/follow/{token}/moves", tag = "cases", params(("token" = String, Path)), request_body = Move,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn follow_move(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(m): ApiJson<Move>,
) -> AppResult<Json<CaseView>> {
    let id = service::by_follow_token(&state, &token).await?;
    Ok(Json(
        service::move_case(&state, Mover::FollowToken, id, &m, &[]).await?,
    ))
}

/// Rates a resolved case through the one-time link sent to its author (no login needed).
/// "Not solved" reopens the case.
#[utoipa::path(post, path = "/api/v1/ratings/{token}", tag = "cases", params(("token" = String, Path)), request_body = crate::rating::Rating,
    responses((status = 204), (status = 404, body = kernel::web::ErrorBody), (status = 409, body = kernel::web::ErrorBody)))]
async fn rate(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(r): ApiJson<crate::rating::Rating>,
) -> AppResult<StatusCode> {
    crate::rating::submit(&state, &token, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public ledger: figures and cases as far as the public may see them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Ledger {
    /// Accountability figures.
    pub figures: crate::ledger::Figures,
    /// Cases, newest first.
    pub cases: Page<crate::ledger::PublicCase>,
}

/// The community's public ledger (no login needed), optionally narrowed by status, category,
/// building, grid or month.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/ledger", tag = "cases", params(("slug" = String, Path), PageQuery, crate::ledger::Filter),
    responses((status = 200, body = Ledger), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn ledger(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
    ApiQuery(filter): ApiQuery<crate::ledger::Filter>,
) -> AppResult<Json<Ledger>> {
    let c = community_id(&state, &slug).await?;
    let limit = q.limit()?;
    let rows = crate::ledger::cases(&state, c, &filter, q.after()?, limit).await?;
    Ok(Json(Ledger {
        figures: crate::ledger::figures(&state, c).await?,
        cases: Page::from_rows(rows, limit, |r| r.id.get()),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SimilarQuery {
    /// The report being written.
    text: String,
    /// Its building, if chosen.
    building_id: Option<BuildingId>,
}

/// Open cases like a report being written ("已有人反映 — 关注它?"), as the public ledger shows them.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/cases/similar", tag = "cases", params(("slug" = String, Path), SimilarQuery),
    responses((status = 200, body = Vec<crate::ledger::PublicCase>), (status = 422, body = kernel::web::ErrorBody)))]
async fn similar(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<SimilarQuery>,
) -> AppResult<Json<Vec<crate::ledger::PublicCase>>> {
    let c = community_id(&state, &slug).await?;
    let text = kernel::validate::required_multiline("text", &q.text, MAX_TEXT)?;
    Ok(Json(
        crate::ledger::similar(&state, c, text, q.building_id).await?,
    ))
}

/// Follows a case: its progress reaches my inbox.
#[utoipa::path(post, path = "/api/v1/cases/{id}/follow", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = kernel::web::ErrorBody)))]
async fn follow(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<StatusCode> {
    crate::ledger::follow(&state, user.person()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops following a case.
#[utoipa::path(delete, path = "/api/v1/cases/{id}/follow", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = kernel::web::ErrorBody)))]
async fn unfollow(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
) -> AppResult<StatusCode> {
    crate::ledger::unfollow(&state, user.person()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PhotoQuery {
    /// `before` (default) or `after` (staff, with the result).
    #[param(inline)]
    stage: Option<crate::photos::Stage>,
}

/// Adds photos to a case (multipart, field `photos`, up to 9 per stage; JPEG, PNG or WebP by
/// content). Shown copies are re-encoded without metadata; originals stay with staff.
#[utoipa::path(post, path = "/api/v1/cases/{id}/photos", tag = "cases", params(("id" = i64, Path), PhotoQuery),
    request_body(content_type = "multipart/form-data", description = "Field `photos`, repeated"),
    responses((status = 201, body = Vec<crate::photos::Photo>), (status = 404, body = kernel::web::ErrorBody), (status = 413, body = kernel::web::ErrorBody),
               (status = 422, body = kernel::web::ErrorBody)))]
async fn add_photos(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiQuery(q): ApiQuery<PhotoQuery>,
    multipart: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<Vec<crate::photos::Photo>>)> {
    let form = kernel::web::multipart_form(
        multipart,
        "photos",
        crate::photos::MAX_PHOTOS,
        state.config.upload_limit,
    )
    .await?;
    let uploads = form
        .files
        .into_iter()
        .map(|f| crate::photos::Upload {
            name: f.name,
            bytes: f.bytes,
        })
        .collect();
    let photos = crate::photos::add(
        &state,
        &user,
        id,
        q.stage.unwrap_or(crate::photos::Stage::Before),
        uploads,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(photos)))
}

/// Blurs parts of a photo and/or hides it from the public (staff). The shown photo and the
/// thumbnail are made again from the original, so a redaction can be changed or undone.
#[utoipa::path(post, path = "/api/v1/case-photos/{id}/redaction", tag = "cases", params(("id" = i64, Path)), request_body = crate::photos::Redaction,
    responses((status = 200, body = crate::photos::Photo), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn redact(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<crate::photos::Redaction>,
) -> AppResult<Json<crate::photos::Photo>> {
    Ok(Json(crate::photos::redact(&state, &user, id, &r).await?))
}

/// Starts or ends waiting on the resident: the clocks stand still meanwhile (staff).
#[utoipa::path(post, path = "/api/v1/cases/{id}/wait", tag = "cases", params(("id" = i64, Path)), request_body = service::Wait,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 409, body = kernel::web::ErrorBody),
               (status = 422, body = kernel::web::ErrorBody)))]
async fn wait(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(w): ApiJson<service::Wait>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(service::wait(&state, &user, id, &w).await?))
}

/// Reassigns a case (staff). The first owner stays accountable.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assignment", tag = "cases", params(("id" = i64, Path)), request_body = service::Assign,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn assign(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(a): ApiJson<service::Assign>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(service::assign(&state, &user, id, &a).await?))
}

/// Keeps a case off the public ledger and Open311, or puts it back (staff). Care cases start
/// private.
#[utoipa::path(post, path = "/api/v1/cases/{id}/visibility", tag = "cases", params(("id" = i64, Path)), request_body = service::Visibility,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn visibility(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(v): ApiJson<service::Visibility>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(service::set_visibility(&state, &user, id, &v).await?))
}

/// Overrides the automatic urgency and category (staff), with a reason kept on the timeline.
#[utoipa::path(post, path = "/api/v1/cases/{id}/triage", tag = "cases", params(("id" = i64, Path)), request_body = service::Reclassify,
    responses((status = 200, body = CaseView), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn reclassify(
    State(state): State<AppState>,
    user: User,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(r): ApiJson<service::Reclassify>,
) -> AppResult<Json<CaseView>> {
    Ok(Json(service::reclassify(&state, &user, id, &r).await?))
}

/// How the community runs its cases: service levels, working hours, duty roster, routes.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/case-settings", tag = "cases", params(("slug" = String, Path)),
    responses((status = 200, body = crate::policy::Settings), (status = 403, body = kernel::web::ErrorBody)))]
async fn settings(
    State(state): State<AppState>,
    user: User,
    ApiPath(slug): ApiPath<String>,
) -> AppResult<Json<crate::policy::Settings>> {
    let c = community_id(&state, &slug).await?;
    Ok(Json(crate::policy::settings(&state, &user, c).await?))
}

/// Replaces the case settings (admins). New levels apply to cases filed from now on.
#[utoipa::path(put, path = "/api/v1/communities/{slug}/case-settings", tag = "cases", params(("slug" = String, Path)), request_body = crate::policy::Settings,
    responses((status = 200, body = crate::policy::Settings), (status = 403, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn replace_settings(
    State(state): State<AppState>,
    user: User,
    ApiPath(slug): ApiPath<String>,
    ApiJson(s): ApiJson<crate::policy::Settings>,
) -> AppResult<Json<crate::policy::Settings>> {
    let c = community_id(&state, &slug).await?;
    Ok(Json(crate::policy::replace(&state, &user, c, &s).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FiguresQuery {
    /// `month`, `grid` or `category`.
    #[param(inline)]
    by: Option<crate::ledger::By>,
    /// `json` (default), `csv` (every breakdown) or `xlsx` (every breakdown, a sheet each).
    format: Option<String>,
}

/// The ledger's figures per month, grid or category (no login needed); `format=csv|xlsx`
/// exports every breakdown.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/ledger/figures", tag = "cases", params(("slug" = String, Path), FiguresQuery),
    responses((status = 200, body = Vec<crate::ledger::FigureGroup>), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    tr: kernel::web::ReqLocale,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let c = community_id(&state, &slug).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(
            crate::ledger::breakdown(&state, c, q.by.unwrap_or(crate::ledger::By::Month)).await?,
        )
        .into_response()),
        format @ ("csv" | "xlsx") => {
            let mut all = Vec::new();
            for by in crate::ledger::By::ALL {
                all.push((by, crate::ledger::breakdown(&state, c, by).await?));
            }
            let (body, mime) = if format == "csv" {
                (
                    crate::ledger::to_csv(&all, tr.0).into_bytes(),
                    "text/csv; charset=utf-8",
                )
            } else {
                (
                    crate::ledger::to_xlsx(&all, tr.0)?,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            };
            let disposition = format!("attachment; filename=\"ledger-{slug}.{format}\"");
            Ok((
                [
                    (axum::http::header::CONTENT_TYPE, mime.to_string()),
                    (axum::http::header::CONTENT_DISPOSITION, disposition),
                ],
                body,
            )
                .into_response())
        }
        _ => Err(AppError::field("format", "invalid_choice")),
    }
}

/// The community plan: buildings with their place and open cases (draws the ledger's map).
#[utoipa::path(get, path = "/api/v1/communities/{slug}/ledger/plan", tag = "cases", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<crate::ledger::PlanBuilding>), (status = 404, body = kernel::web::ErrorBody)))]
async fn plan(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> AppResult<Json<Vec<crate::ledger::PlanBuilding>>> {
    let c = community_id(&state, &slug).await?;
    Ok(Json(crate::ledger::plan(&state, c).await?))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    classify,
    file,
    queue,
    read,
    move_case,
    mine,
    follow_page_doc,
    follow_move,
    rate,
    ledger,
    similar,
    follow,
    unfollow,
    add_photos,
    redact,
    wait,
    assign,
    visibility,
    reclassify,
    settings,
    replace_settings,
    figures,
    plan
))]
pub(crate) struct Doc;
