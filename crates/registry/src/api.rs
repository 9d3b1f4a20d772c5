//! JSON API of the registry.

use crate::{BuildingId, GridId, HouseholdId, ResidentId};
use crate::domain::{RESIDENTS_READ, ResidentDraft, STRUCTURE_READ, Tag};
use crate::id_reviews::{self, IdNumberReview};
use crate::members::{self, Grant, Member};
use crate::service::{self, MyHousehold, Placement};
use crate::spreadsheet::{self, Disclosure, Format, ImportReport};
use crate::store::{self, Building, Community, Counts, Grid, Household, Resident, ResidentFilter};
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::auth::User;
use kernel::web::{ApiJson, ApiPath, ApiQuery, Page, PageQuery, ReqLocale};
use kernel::{AppError, AppResult, AppState};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/communities", get(list_communities))
        .route("/api/v1/communities/{slug}", get(community_counts))
        .route("/api/v1/communities/{slug}/grids", get(list_grids).post(create_grid))
        .route("/api/v1/communities/{slug}/buildings", get(list_buildings).post(create_building))
        .route("/api/v1/communities/{slug}/households", get(list_households))
        .route("/api/v1/communities/{slug}/residents", get(list_residents).post(create_resident))
        .route("/api/v1/communities/{slug}/residents/import", post(import_residents).layer(axum::extract::DefaultBodyLimit::max(kernel::web::UPLOAD_CEILING)))
        .route("/api/v1/communities/{slug}/residents/export", get(export_residents))
        .route("/api/v1/communities/{slug}/residents/{id}", get(get_resident).patch(update_resident))
        .route("/api/v1/communities/{slug}/residents/{id}/reveal-id", post(reveal_id))
        .route("/api/v1/communities/{slug}/residents/{id}/history", get(history))
        .route("/api/v1/communities/{slug}/id-number-reviews", get(list_id_reviews))
        .route("/api/v1/communities/{slug}/id-number-reviews/{id}/resolve", post(resolve_id_review))
        .route("/api/v1/me/household", get(my_household))
        .route("/api/v1/communities/{slug}/members", get(list_members).post(grant_role))
        .route("/api/v1/communities/{slug}/members/{user_id}/{role}", axum::routing::delete(revoke_role))
        .route("/api/v1/communities/{slug}/grids/{id}/workers", axum::routing::put(assign_workers))
}

/// Communities where I hold a role.
#[utoipa::path(get, path = "/api/v1/communities", tag = "registry",
    responses((status = 200, body = Vec<Community>), (status = 401, body = kernel::web::ErrorBody)))]
async fn list_communities(State(state): State<AppState>, user: User) -> AppResult<Json<Vec<Community>>> {
    let ids = user.community_ids();
    let filter = if user.superadmin { None } else { Some(ids.as_slice()) };
    Ok(Json(kernel::community::all(&state, filter).await?))
}

/// Headline counts of a community.
#[utoipa::path(get, path = "/api/v1/communities/{slug}", tag = "registry", params(("slug" = String, Path)),
    responses((status = 200, body = Counts), (status = 404, body = kernel::web::ErrorBody)))]
async fn community_counts(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>) -> AppResult<Json<Counts>> {
    let c = service::community(&state, &user, &slug).await?;
    user.require(c.id, &STRUCTURE_READ)?;
    Ok(Json(store::counts(&state, c.id).await?))
}

/// Grids and their workers.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/grids", tag = "registry", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<Grid>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_grids(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>) -> AppResult<Json<Vec<Grid>>> {
    let c = service::community(&state, &user, &slug).await?;
    user.require(c.id, &STRUCTURE_READ)?;
    Ok(Json(store::grids(&state, c.id).await?))
}

/// Buildings with counts (a grid worker sees their grids' buildings).
#[utoipa::path(get, path = "/api/v1/communities/{slug}/buildings", tag = "registry", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<Building>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_buildings(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>) -> AppResult<Json<Vec<Building>>> {
    let c = service::community(&state, &user, &slug).await?;
    user.require(c.id, &STRUCTURE_READ)?;
    let scope = service::scope(&state, &user, c.id).await?;
    Ok(Json(store::buildings(&state, c.id, scope.as_deref()).await?))
}

/// A new building.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewBuilding {
    /// Name, e.g. `翠微新村 33栋`.
    pub name: String,
    /// Grid id.
    pub grid_id: Option<GridId>,
    /// Floors (0–200).
    #[serde(default)]
    pub floors: i64,
    /// Has a lift.
    #[serde(default)]
    pub has_elevator: bool,
}

/// Id of a created record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    /// Id.
    pub id: i64,
}

/// Creates a building (staff, admins).
#[utoipa::path(post, path = "/api/v1/communities/{slug}/buildings", tag = "registry", params(("slug" = String, Path)), request_body = NewBuilding,
    responses((status = 201, body = Created), (status = 409, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn create_building(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiJson(b): ApiJson<NewBuilding>) -> AppResult<(StatusCode, Json<Created>)> {
    let c = service::community(&state, &user, &slug).await?;
    let id = service::create_building(&state, &user, &c, &b.name, b.grid_id, b.floors, b.has_elevator).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HouseholdQuery {
    /// Only this building.
    building_id: Option<BuildingId>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Households with addresses and member counts.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/households", tag = "registry", params(("slug" = String, Path), HouseholdQuery),
    responses((status = 200, body = Page<Household>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_households(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<HouseholdQuery>) -> AppResult<Json<Page<Household>>> {
    let c = service::community(&state, &user, &slug).await?;
    user.require(c.id, &RESIDENTS_READ)?;
    let page = PageQuery { cursor: q.cursor, limit: q.limit };
    let limit = page.limit()?;
    let scope = service::scope(&state, &user, c.id).await?;
    let rows = store::households(&state, c.id, q.building_id, scope.as_deref(), page.after()?, limit).await?;
    Ok(Json(Page::from_rows(rows, limit, |h| h.id)))
}

/// Resident list filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentQuery {
    /// Search words: part of the name, a whole mobile number, its last four digits, or words of the address (`3栋 301`).
    pub q: Option<String>,
    /// Tag code, e.g. `living_alone`.
    pub tag: Option<String>,
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only this household.
    pub household_id: Option<HouseholdId>,
    /// Cursor.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

impl ResidentQuery {
    /// The checked filter.
    pub fn filter(&self) -> AppResult<ResidentFilter> {
        let tag = match self.tag.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(Tag::parse(t).ok_or_else(|| AppError::field("tag", "invalid_choice"))?),
        };
        kernel::validate::at_most("q", self.q.as_deref().unwrap_or(""), 40)?;
        Ok(ResidentFilter { q: self.q.clone().filter(|q| !q.trim().is_empty()), tag, building_id: self.building_id, household_id: self.household_id })
    }
}

/// Residents (masked), filtered and paginated.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/residents", tag = "registry", params(("slug" = String, Path), ResidentQuery),
    responses((status = 200, body = Page<Resident>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_residents(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<ResidentQuery>) -> AppResult<Json<Page<Resident>>> {
    let c = service::community(&state, &user, &slug).await?;
    let filter = q.filter()?;
    let page = PageQuery { cursor: q.cursor.clone(), limit: q.limit };
    let limit = page.limit()?;
    let rows = service::find_residents(&state, &user, c.id, &filter, page.after()?, limit).await?;
    Ok(Json(Page::from_rows(rows, limit, |r| r.id)))
}

/// A new resident and where they live.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewResident {
    /// Details.
    #[serde(flatten)]
    pub resident: ResidentDraft,
    /// Address.
    #[serde(flatten)]
    pub placement: Placement,
}

/// Registers a resident.
#[utoipa::path(post, path = "/api/v1/communities/{slug}/residents", tag = "registry", params(("slug" = String, Path)), request_body = NewResident,
    responses((status = 201, body = Resident), (status = 409, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn create_resident(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiJson(body): ApiJson<NewResident>) -> AppResult<(StatusCode, Json<Resident>)> {
    let c = service::community(&state, &user, &slug).await?;
    let r = service::create_resident(&state, &user, &c, body.resident, &body.placement).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// One resident (masked).
#[utoipa::path(get, path = "/api/v1/communities/{slug}/residents/{id}", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Resident), (status = 404, body = kernel::web::ErrorBody)))]
async fn get_resident(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, ResidentId)>) -> AppResult<Json<Resident>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(service::resident(&state, &user, &c, id).await?))
}

/// Replaces a resident's details (an empty ID number keeps the stored one).
#[utoipa::path(patch, path = "/api/v1/communities/{slug}/residents/{id}", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)), request_body = ResidentDraft,
    responses((status = 200, body = Resident), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn update_resident(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, ResidentId)>, ApiJson(body): ApiJson<ResidentDraft>) -> AppResult<Json<Resident>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(service::edit_resident(&state, &user, &c, id, body).await?))
}

/// Why the full number is needed (kept in the access log).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevealRequest {
    /// Purpose, e.g. `办理居住证明`.
    pub purpose: String,
}

/// A full ID number.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revealed {
    /// The full number, if one is on file.
    pub id_number: Option<String>,
}

/// Shows a full ID number (staff, admins); every call is written to the access log.
#[utoipa::path(post, path = "/api/v1/communities/{slug}/residents/{id}/reveal-id", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)), request_body = RevealRequest,
    responses((status = 200, body = Revealed), (status = 403, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn reveal_id(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, ResidentId)>, ApiJson(body): ApiJson<RevealRequest>) -> AppResult<Json<Revealed>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(Revealed { id_number: service::reveal_id_number(&state, &user, &c, id, &body.purpose).await? }))
}

/// Who changed this resident, when, and what.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/residents/{id}/history", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Vec<service::AuditEntry>), (status = 404, body = kernel::web::ErrorBody)))]
async fn history(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, ResidentId)>) -> AppResult<Json<Vec<service::AuditEntry>>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(service::resident_history(&state, &user, &c, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ReviewQuery {
    /// Only those about this resident (as the one the number was entered for, or its holder).
    resident_id: Option<ResidentId>,
}

/// ID numbers entered for a resident while registered to another, waiting for staff (staff,
/// administrators): the number is held on the resident's record but not registered.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/id-number-reviews", tag = "registry", params(("slug" = String, Path), ReviewQuery),
    responses((status = 200, body = Vec<IdNumberReview>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_id_reviews(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<ReviewQuery>) -> AppResult<Json<Vec<IdNumberReview>>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(id_reviews::open_reviews(&state, &user, &c, q.resident_id).await?))
}

/// Closes a review once the records are sorted out (staff, administrators).
#[utoipa::path(post, path = "/api/v1/communities/{slug}/id-number-reviews/{id}/resolve", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 204), (status = 403, body = kernel::web::ErrorBody), (status = 404, body = kernel::web::ErrorBody)))]
async fn resolve_id_review(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, i64)>) -> AppResult<StatusCode> {
    let c = service::community(&state, &user, &slug).await?;
    id_reviews::resolve(&state, &user, &c, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports residents from an .xlsx or .csv file (multipart field `file`).
#[utoipa::path(post, path = "/api/v1/communities/{slug}/residents/import", tag = "registry", params(("slug" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "Field `file`: the spreadsheet"),
    responses((status = 200, body = ImportReport), (status = 422, body = kernel::web::ErrorBody)))]
async fn import_residents(State(state): State<AppState>, user: User, ReqLocale(locale): ReqLocale, ApiPath(slug): ApiPath<String>, multipart: Multipart) -> AppResult<Json<ImportReport>> {
    let c = service::community(&state, &user, &slug).await?;
    user.require(c.id, &crate::domain::IMPORT_EXPORT)?;
    let bytes = kernel::web::multipart_file(multipart, state.config.upload_limit).await?.bytes;
    Ok(Json(spreadsheet::import(&state, &user, &c, &bytes, locale).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    pub(crate) format: Option<String>,
    /// Asks for full phone and ID numbers, and says why (kept in the access log with every
    /// resident exported). Staff and administrators only; without it both are masked.
    pub(crate) purpose: Option<String>,
}

impl ExportQuery {
    /// The file format asked for.
    pub(crate) fn format(&self) -> AppResult<Format> {
        match self.format.as_deref() {
            None | Some("xlsx") => Ok(Format::Xlsx),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(AppError::field("format", "invalid_choice")),
        }
    }
    /// Masked, or full for the purpose given (an empty purpose is refused, not ignored).
    pub(crate) fn disclosure(&self) -> Disclosure<'_> {
        match self.purpose.as_deref() {
            None => Disclosure::Masked,
            Some(purpose) => Disclosure::Full { purpose },
        }
    }
}

/// Exports residents as .xlsx or .csv, phone and ID numbers masked unless `purpose` asks for
/// them in full.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/residents/export", tag = "registry", params(("slug" = String, Path), ExportQuery),
    responses((status = 200, description = "The spreadsheet", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn export_residents(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiQuery(q): ApiQuery<ExportQuery>) -> AppResult<Response> {
    let c = service::community(&state, &user, &slug).await?;
    export_response(&state, &user, &c, q.format()?, q.disclosure()).await
}

/// The export as a download.
pub async fn export_response(state: &AppState, user: &User, c: &Community, format: Format, disclosure: Disclosure<'_>) -> AppResult<Response> {
    let bytes = spreadsheet::export(state, user, c, format, disclosure).await?;
    let (ctype, ext) = match format {
        Format::Xlsx => ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!("attachment; filename=\"residents-{}.{ext}\"", c.slug);
    Ok(([(header::CONTENT_TYPE, ctype.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// My record and my household.
#[utoipa::path(get, path = "/api/v1/me/household", tag = "registry",
    responses((status = 200, body = MyHousehold), (status = 404, body = kernel::web::ErrorBody)))]
async fn my_household(State(state): State<AppState>, user: User) -> AppResult<Json<std::sync::Arc<MyHousehold>>> {
    service::my_household(&state, user.person()?).await?.map(Json).ok_or(AppError::NotFound)
}

/// People with a staff-side or liaison role.
#[utoipa::path(get, path = "/api/v1/communities/{slug}/members", tag = "registry", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<Member>), (status = 403, body = kernel::web::ErrorBody)))]
async fn list_members(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>) -> AppResult<Json<Vec<Member>>> {
    let c = service::community(&state, &user, &slug).await?;
    Ok(Json(members::list(&state, &user, &c).await?))
}

/// Grants a role (administrators); creates the account if the number is new.
#[utoipa::path(post, path = "/api/v1/communities/{slug}/members", tag = "registry", params(("slug" = String, Path)), request_body = Grant,
    responses((status = 201, body = Created), (status = 403, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn grant_role(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiJson(g): ApiJson<Grant>) -> AppResult<(StatusCode, Json<Created>)> {
    let c = service::community(&state, &user, &slug).await?;
    let id = members::grant(&state, &user, &c, &g).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// Revokes a role (administrators).
#[utoipa::path(delete, path = "/api/v1/communities/{slug}/members/{user_id}/{role}", tag = "registry",
    params(("slug" = String, Path), ("user_id" = i64, Path), ("role" = String, Path)),
    responses((status = 204), (status = 403, body = kernel::web::ErrorBody), (status = 404, body = kernel::web::ErrorBody)))]
async fn revoke_role(State(state): State<AppState>, user: User, ApiPath((slug, user_id, role)): ApiPath<(String, kernel::auth::UserId, String)>) -> AppResult<StatusCode> {
    let c = service::community(&state, &user, &slug).await?;
    let role = kernel::auth::Role::parse(&role).ok_or(AppError::NotFound)?;
    members::revoke(&state, &user, &c, user_id, role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new grid.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewGrid {
    /// Name, e.g. `第五网格`.
    pub name: String,
}

/// Creates a grid (staff, admins).
#[utoipa::path(post, path = "/api/v1/communities/{slug}/grids", tag = "registry", params(("slug" = String, Path)), request_body = NewGrid,
    responses((status = 201, body = Created), (status = 409, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn create_grid(State(state): State<AppState>, user: User, ApiPath(slug): ApiPath<String>, ApiJson(g): ApiJson<NewGrid>) -> AppResult<(StatusCode, Json<Created>)> {
    let c = service::community(&state, &user, &slug).await?;
    let id = members::create_grid(&state, &user, &c, &g.name).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })))
}

/// The grid workers of a grid.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GridWorkers {
    /// User ids; each must hold the grid_worker role in the community.
    pub user_ids: Vec<i64>,
}

/// Replaces the grid workers assigned to a grid (staff, admins).
#[utoipa::path(put, path = "/api/v1/communities/{slug}/grids/{id}/workers", tag = "registry", params(("slug" = String, Path), ("id" = i64, Path)), request_body = GridWorkers,
    responses((status = 204), (status = 404, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn assign_workers(State(state): State<AppState>, user: User, ApiPath((slug, id)): ApiPath<(String, GridId)>, ApiJson(w): ApiJson<GridWorkers>) -> AppResult<StatusCode> {
    let c = service::community(&state, &user, &slug).await?;
    members::assign_workers(&state, &user, &c, id, &w.user_ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_members, grant_role, revoke_role, create_grid, assign_workers, list_communities, community_counts, list_grids, list_buildings, create_building, list_households, list_residents,
    create_resident, get_resident, update_resident, reveal_id, history, list_id_reviews, resolve_id_review, import_residents, export_residents, my_household))]
pub(crate) struct Doc;
