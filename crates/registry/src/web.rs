//! Pages: my profile and household (resident), and the staff console's registry pages.

use crate::{BuildingId, GridId, ResidentId, family};
use crate::api::ResidentQuery;
use crate::domain::{ID_REVEAL, IMPORT_EXPORT, RESIDENTS_READ, RESIDENTS_WRITE, ResidentDraft, STRUCTURE_READ, STRUCTURE_WRITE, Tag};
use crate::id_reviews::{self, IdNumberReview};
use crate::service::{self, AuditEntry, MyHousehold, Placement};
use crate::spreadsheet::{self, Disclosure, Format, ImportReport};
use crate::store::{self, Building, BuildingOption, Community, Counts, Grid, Household, Resident};
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::User;
use kernel::web::{render, render_status, see_other, ApiPath, ApiQuery, PageCtx, WebForm};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me_page))
        .route("/console", get(console_home))
        .route("/console/residents", get(residents_page).post(create_resident))
        .route("/console/residents/new", get(new_resident_page))
        .route("/console/residents/{id}", get(resident_page).post(edit_resident))
        .route("/console/residents/{id}/reveal", post(reveal))
        .route("/console/buildings", get(buildings_page).post(create_building))
        .route("/console/households", get(households_page))
        .route("/console/import", get(import_page).post(import_upload).layer(axum::extract::DefaultBodyLimit::max(kernel::web::UPLOAD_CEILING)))
        .route("/console/export", get(export_file).post(export_full))
        .route("/console/residents/{id}/id-reviews/{review}/resolve", post(resolve_id_review))
        .route("/console/residents/{id}/family/{user}/confirm", post(staff_confirm_family))
        .route("/console/residents/{id}/family/{user}/end", post(staff_end_family))
        .route("/me/family/request", post(request_family))
        .route("/me/family/requests/{id}/withdraw", post(withdraw_family_request))
        .route("/me/family/{user}/{resident}/confirm", post(elder_confirm_family))
        .route("/me/family/{user}/{resident}/end", post(end_family))
}

/// `?c=slug` picks the community; otherwise the first where the viewer works.
#[derive(Debug, Default, Deserialize)]
struct CommunityQuery {
    c: Option<String>,
}

async fn console_community(state: &AppState, user: &User, slug: Option<&str>) -> AppResult<Community> {
    if let Some(slug) = slug.filter(|s| !s.is_empty()) {
        return service::community(state, user, slug).await;
    }
    let all = kernel::community::all(state, None).await?;
    all.into_iter().find(|c| user.can(c.id, &STRUCTURE_READ)).ok_or(AppError::Forbidden)
}

fn tag_label(ctx: &PageCtx, t: &Tag) -> String {
    ctx.tr.t(&t.label_key()).to_string()
}

#[derive(Template)]
#[template(path = "registry/me.html")]
struct MePage {
    ctx: PageCtx,
    household: Option<std::sync::Arc<MyHousehold>>,
    /// Bindings family members asked for or hold with me.
    family: Vec<family::Link>,
    /// What was just done, as a catalogue key.
    notice: Option<&'static str>,
}

impl MePage {
    fn tag(&self, t: &Tag) -> String {
        tag_label(&self.ctx, t)
    }
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    done: Option<String>,
}

/// The notice for `?done=` after a binding was confirmed or ended.
fn family_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "confirmed" => Some("family.confirmed_notice"),
        "ended" => Some("family.ended_notice"),
        "declined" => Some("family.declined_notice"),
        _ => None,
    }
}

async fn me_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<NoticeQuery>) -> AppResult<Response> {
    let uid = user.person()?;
    let household = service::my_household(&state, uid).await?;
    let family = family::links_of_login(&state, uid).await?;
    Ok(render(&MePage { ctx, household, family, notice: family_notice(q.done.as_deref()) }))
}

#[derive(Debug, Deserialize)]
struct FamilyRequestForm {
    #[serde(default)]
    elder: String,
    #[serde(default)]
    relation: String,
}

/// A binding request from the family page. The answer is the page's own, the same whoever
/// the number belongs to; a refusal (a malformed number, too many requests) is shown there.
async fn request_family(State(state): State<AppState>, user: User, WebForm(form): WebForm<FamilyRequestForm>) -> AppResult<Response> {
    match family::request(&state, &user, &form.elder, &form.relation).await {
        Ok(()) => Ok(see_other("/family?requested=1")),
        Err(e @ (AppError::Validation(_) | AppError::TooManyRequests { .. })) => {
            let code = e.fields().first().map(|f| f.code).unwrap_or(if matches!(e, AppError::TooManyRequests { .. }) { "too_many_requests" } else { "invalid" });
            let wait = match e {
                AppError::TooManyRequests { retry_after_s } => retry_after_s,
                _ => 0,
            };
            let field = e.fields().first().map(|f| f.field.clone()).unwrap_or_default();
            Ok(see_other(&format!("/family?refused={code}&field={field}&wait={wait}&relation={}", urlencode(&form.relation))))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
struct EmptyForm {}

/// The requester takes back a request from their list on the family page (again: no change).
async fn withdraw_family_request(State(state): State<AppState>, user: User, ApiPath(id): ApiPath<i64>, WebForm(_): WebForm<EmptyForm>) -> AppResult<Response> {
    family::withdraw(&state, &user, id).await?;
    Ok(see_other("/family#my-requests"))
}

async fn elder_confirm_family(State(state): State<AppState>, user: User, ApiPath((family_user, resident)): ApiPath<(kernel::auth::UserId, ResidentId)>, WebForm(_): WebForm<EmptyForm>) -> AppResult<Response> {
    family::confirm_by_elder(&state, &user, family_user, resident).await?;
    Ok(see_other("/me?done=confirmed#family"))
}

/// Ends a binding from either side's page: the family member goes back to the family page, the
/// elder to her own.
async fn end_family(State(state): State<AppState>, user: User, ApiPath((family_user, resident)): ApiPath<(kernel::auth::UserId, ResidentId)>, WebForm(_): WebForm<EmptyForm>) -> AppResult<Response> {
    let was = family::end(&state, &user, family_user, resident).await?;
    Ok(see_other(match (user.user_id == Some(family_user), was) {
        (true, _) => "/family?ended=1",
        (false, family::Status::Requested) => "/me?done=declined#family",
        (false, _) => "/me?done=ended#family",
    }))
}

async fn staff_confirm_family(State(state): State<AppState>, user: User, ApiPath((id, family_user)): ApiPath<(ResidentId, kernel::auth::UserId)>, ApiQuery(q): ApiQuery<CommunityQuery>, WebForm(_): WebForm<EmptyForm>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    family::confirm_in_person(&state, &user, &community, family_user, id).await?;
    Ok(see_other(&format!("/console/residents/{id}?c={}#family", community.slug)))
}

async fn staff_end_family(State(state): State<AppState>, user: User, ApiPath((id, family_user)): ApiPath<(ResidentId, kernel::auth::UserId)>, ApiQuery(q): ApiQuery<CommunityQuery>, WebForm(_): WebForm<EmptyForm>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    family::end(&state, &user, family_user, id).await?;
    Ok(see_other(&format!("/console/residents/{id}?c={}#family", community.slug)))
}

#[derive(Template)]
#[template(path = "registry/console.html")]
struct ConsoleHome {
    ctx: PageCtx,
    community: Community,
    counts: Counts,
    grids: Vec<Grid>,
    can_import: bool,
    /// Whether the resident and household pages open for the viewer (they are linked only then).
    can_read_residents: bool,
    /// Other capabilities' figures (open cases …).
    figures: Vec<kernel::manifest::Figure>,
}

async fn console_home(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &STRUCTURE_READ)?;
    // A grid worker's figures are his own grids'.
    let reach = crate::places::buildings_in_reach(&state, &user, community.id).await?;
    let counts = store::counts_within(&state, community.id, reach.as_deref()).await?;
    let grids = store::grids(&state, community.id).await?;
    let can_import = user.can(community.id, &IMPORT_EXPORT);
    let can_read_residents = user.can(community.id, &RESIDENTS_READ);
    // Other capabilities' figures come through their manifests: the registry names none of them.
    let mut figures = Vec::new();
    for provide in &state.console_figures {
        figures.extend(provide(&state, &user, &community).await?);
    }
    Ok(render(&ConsoleHome { ctx, community, counts, grids, can_import, can_read_residents, figures }))
}

#[derive(Template)]
#[template(path = "registry/residents.html")]
struct ResidentsPage {
    ctx: PageCtx,
    community: Community,
    residents: Vec<Resident>,
    next_cursor: Option<String>,
    q: String,
    tag: String,
    building_id: Option<BuildingId>,
    buildings: Vec<BuildingOption>,
    tags: Vec<Tag>,
    can_write: bool,
}

impl ResidentsPage {
    fn tag(&self, t: &Tag) -> String {
        tag_label(&self.ctx, t)
    }
    fn next_link(&self, cursor: &str) -> String {
        format!(
            "?c={}&q={}&tag={}&building_id={}&cursor={cursor}",
            self.community.slug,
            urlencode(&self.q),
            self.tag,
            self.building_id.map(|b| b.to_string()).unwrap_or_default()
        )
    }
}

fn urlencode(s: &str) -> String {
    kernel::web::url_encode(s)
}

#[derive(Debug, Default, Deserialize)]
struct ResidentsQuery {
    c: Option<String>,
    q: Option<String>,
    tag: Option<String>,
    building_id: Option<String>,
    cursor: Option<String>,
}

async fn residents_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<ResidentsQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &RESIDENTS_READ)?;
    // An empty select submits `building_id=`; treat it as "all buildings".
    let building_id = match q.building_id.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(b.parse::<BuildingId>().map_err(|_| AppError::field("building_id", "invalid_choice"))?),
    };
    let rq = ResidentQuery { q: q.q.clone(), tag: q.tag.clone(), building_id, household_id: None, cursor: q.cursor.clone(), limit: Some(50) };
    let filter = rq.filter()?;
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(50) };
    let rows = service::find_residents(&state, &user, community.id, &filter, page.after()?, 50).await?;
    let scope = service::scope(&state, &user, community.id).await?;
    let page = kernel::web::Page::from_rows(rows, 50, |r| r.id);
    let buildings = store::building_options(&state, community.id, scope.as_deref()).await?;
    let can_write = user.can(community.id, &RESIDENTS_WRITE);
    Ok(render(&ResidentsPage {
        ctx,
        community,
        residents: page.items,
        next_cursor: page.next_cursor,
        q: q.q.unwrap_or_default(),
        tag: filter.tag.map(|t| t.code().to_string()).unwrap_or_default(),
        building_id,
        buildings,
        tags: Tag::ALL.to_vec(),
        can_write,
    }))
}

#[derive(Template)]
#[template(path = "registry/resident.html")]
struct ResidentPage {
    ctx: PageCtx,
    community: Community,
    r: Resident,
    history: Vec<AuditEntry>,
    revealed: Option<String>,
    can_reveal: bool,
    can_write: bool,
    tags: Vec<Tag>,
    errors: Vec<(String, String)>,
    saved: bool,
    /// Open ID-number reviews about this resident (only for those who may see ID numbers).
    id_reviews: Vec<IdNumberReview>,
    /// Family bindings asked for or held.
    family: Vec<family::Link>,
    can_confirm_family: bool,
}

impl ResidentPage {
    fn tag(&self, t: &Tag) -> String {
        tag_label(&self.ctx, t)
    }
    fn has_tag(&self, t: &Tag) -> bool {
        self.r.tags.contains(t)
    }
    /// The hint under a masked field: what is stored, kept unless changed.
    fn kept(&self, value: &str) -> String {
        kernel::i18n::tf(self.ctx.tr.0, "resident.kept_hint", &[("value", value.to_string())])
    }
    /// Who made a change: their name, or where it came from when nobody logged in did.
    fn actor(&self, e: &AuditEntry) -> String {
        if e.actor.is_empty() { self.ctx.tr.t("history.system").to_string() } else { e.actor.clone() }
    }
    /// What a change did, field by field: `手机号：138****5678 → （空）`. Tags and consent
    /// are shown in words; sensitive fields were kept masked in the trail.
    fn changes(&self, e: &AuditEntry) -> Vec<(String, String)> {
        let Some(m) = e.changes.as_object() else { return Vec::new() };
        let shown = |k: &str, v: &serde_json::Value| -> String {
            match v {
                serde_json::Value::Null => self.ctx.tr.t("history.empty").to_string(),
                serde_json::Value::String(s) if s.is_empty() => self.ctx.tr.t("history.empty").to_string(),
                serde_json::Value::String(s) if k == "consent" => self.ctx.tr.t(&format!("family.how.{s}")).to_string(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) if k == "tags" => {
                    // A code no longer known is shown as written, never dropped from the trail.
                    let words: Vec<String> = items
                        .iter()
                        .map(|t| match t.as_str().and_then(Tag::parse) {
                            Some(tag) => tag_label(&self.ctx, &tag),
                            None => t.as_str().map(str::to_string).unwrap_or_else(|| t.to_string()),
                        })
                        .collect();
                    if words.is_empty() { self.ctx.tr.t("history.empty").to_string() } else { self.ctx.tr.list(&words) }
                }
                other => other.to_string(),
            }
        };
        m.iter()
            .filter(|(k, _)| k.as_str() != "household_id")
            .map(|(k, v)| {
                let label = self.ctx.tr.t(&format!("field.{k}")).to_string();
                let text = match v.as_array().filter(|pair| pair.len() == 2 && e.action != "create") {
                    Some(pair) if pair[0].is_null() => shown(k, &pair[1]),
                    Some(pair) => format!("{} → {}", shown(k, &pair[0]), shown(k, &pair[1])),
                    None => shown(k, v),
                };
                (label, text)
            })
            .collect()
    }
}

async fn load_resident_page(state: &AppState, ctx: PageCtx, user: &User, slug: Option<&str>, id: ResidentId) -> AppResult<ResidentPage> {
    let community = console_community(state, user, slug).await?;
    let r = service::resident(state, user, &community, id).await?;
    let history = service::resident_history(state, user, &community, id).await?;
    let can_reveal = user.can(community.id, &ID_REVEAL);
    let id_reviews = if can_reveal { id_reviews::open_reviews(state, user, &community, Some(id)).await? } else { Vec::new() };
    let family = family::links_of_resident(state, user, &community, id).await?;
    Ok(ResidentPage {
        family,
        can_confirm_family: user.can(community.id, &family::FAMILY_CONFIRM),
        can_reveal,
        id_reviews,
        can_write: user.can(community.id, &RESIDENTS_WRITE),
        ctx,
        community,
        r,
        history,
        revealed: None,
        tags: Tag::ALL.to_vec(),
        errors: Vec::new(),
        saved: false,
    })
}

async fn resident_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<ResidentId>, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    Ok(render(&load_resident_page(&state, ctx, &user, q.c.as_deref(), id).await?))
}

#[derive(Debug, Deserialize)]
struct RevealForm {
    purpose: String,
}

async fn reveal(State(state): State<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<ResidentId>, ApiQuery(q): ApiQuery<CommunityQuery>, WebForm(form): WebForm<RevealForm>) -> AppResult<Response> {
    let mut page = load_resident_page(&state, ctx, &user, q.c.as_deref(), id).await?;
    match service::reveal_id_number(&state, &user, &page.community, id, &form.purpose).await {
        Ok(number) => page.revealed = Some(number.unwrap_or_default()),
        Err(e @ AppError::Validation(_)) => {
            page.errors = field_errors(&page.ctx, &e);
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(e) => return Err(e),
    }
    page.history = service::resident_history(&state, &user, &page.community, id).await?;
    Ok(render(&page))
}

/// The resident form as browsers send it (tags as repeated checkboxes).
#[derive(Debug, Deserialize)]
struct ResidentForm {
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    clear_phone: Option<String>,
    #[serde(default)]
    clear_id_number: Option<String>,
    #[serde(default)]
    building: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    room: String,
}

fn form_tags(raw: &str) -> Vec<String> {
    raw.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "tag")
        .map(|(_, v)| v.to_string())
        .collect()
}

fn field_errors(ctx: &PageCtx, e: &AppError) -> Vec<(String, String)> {
    let fields = e.fields();
    if fields.is_empty() {
        vec![(String::new(), e.message(ctx.tr.0))]
    } else {
        fields.iter().map(|f| (f.field.clone(), f.message(ctx.tr.0))).collect()
    }
}

async fn edit_resident(State(state): State<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<ResidentId>, ApiQuery(q): ApiQuery<CommunityQuery>, body: String) -> AppResult<Response> {
    let form: ResidentForm = serde_urlencoded_form(&body)?;
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    let draft = ResidentDraft {
        name: form.name,
        phone: form.phone,
        id_number: form.id_number,
        relation: form.relation,
        tags: form_tags(&body),
        notes: form.notes,
        clear_phone: form.clear_phone.is_some(),
        clear_id_number: form.clear_id_number.is_some(),
    };
    match service::edit_resident(&state, &user, &community, id, draft).await {
        Ok(_) => {
            let mut page = load_resident_page(&state, ctx, &user, Some(&community.slug), id).await?;
            page.saved = true;
            Ok(render(&page))
        }
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let mut page = load_resident_page(&state, ctx, &user, Some(&community.slug), id).await?;
            page.errors = field_errors(&page.ctx, &e);
            Ok(render_status(e.status(), &page))
        }
        Err(e) => Err(e),
    }
}

fn serde_urlencoded_form<T: serde::de::DeserializeOwned>(body: &str) -> AppResult<T> {
    serde_urlencoded::from_str(body).map_err(|e| AppError::bad_request("malformed_form", e))
}

#[derive(Template)]
#[template(path = "registry/new_resident.html")]
struct NewResidentPage {
    ctx: PageCtx,
    community: Community,
    tags: Vec<Tag>,
    buildings: Vec<BuildingOption>,
    errors: Vec<(String, String)>,
    values: Vec<(String, String)>,
}

impl NewResidentPage {
    fn tag(&self, t: &Tag) -> String {
        tag_label(&self.ctx, t)
    }
    fn value(&self, name: &str) -> String {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
    fn checked(&self, t: &Tag) -> bool {
        self.values.iter().any(|(k, v)| k == "tag" && (v == t.code()))
    }
}

async fn new_resident_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &RESIDENTS_WRITE)?;
    let scope = service::scope(&state, &user, community.id).await?;
    let buildings = store::building_options(&state, community.id, scope.as_deref()).await?;
    Ok(render(&NewResidentPage { ctx, community, tags: Tag::ALL.to_vec(), buildings, errors: Vec::new(), values: Vec::new() }))
}

async fn create_resident(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>, body: String) -> AppResult<Response> {
    let form: ResidentForm = serde_urlencoded_form(&body)?;
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    let at = Placement { building: form.building.clone(), unit: form.unit.clone(), room: form.room.clone() };
    let draft = ResidentDraft {
        name: form.name.clone(),
        phone: form.phone.clone(),
        id_number: form.id_number.clone(),
        relation: form.relation.clone(),
        tags: form_tags(&body),
        notes: form.notes.clone(),
        ..Default::default()
    };
    match service::create_resident(&state, &user, &community, draft, &at).await {
        Ok(r) => Ok(see_other(&format!("/console/residents/{}?c={}", r.id, community.slug))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let scope = service::scope(&state, &user, community.id).await?;
            let buildings = store::building_options(&state, community.id, scope.as_deref()).await?;
            let errors = field_errors(&ctx, &e);
            let values = body
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .filter(|(k, _)| *k != "id_number" && *k != "_csrf")
                .map(|(k, v)| (k.to_string(), urlencoding_decode(v)))
                .collect();
            let page = NewResidentPage { ctx, community, tags: Tag::ALL.to_vec(), buildings, errors, values };
            Ok(render_status(e.status(), &page))
        }
        Err(e) => Err(e),
    }
}

fn urlencoding_decode(v: &str) -> String {
    kernel::web::url_decode(v)
}

#[derive(Template)]
#[template(path = "registry/buildings.html")]
struct BuildingsPage {
    ctx: PageCtx,
    community: Community,
    buildings: Vec<Building>,
    grids: Vec<Grid>,
    can_write: bool,
    /// Whether a building's households open for the viewer (the name links there only then).
    can_read_residents: bool,
    errors: Vec<(String, String)>,
}

async fn buildings_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    Ok(render(&buildings_view(&state, ctx, &user, community, Vec::new()).await?))
}

async fn buildings_view(state: &AppState, ctx: PageCtx, user: &User, community: Community, errors: Vec<(String, String)>) -> AppResult<BuildingsPage> {
    user.require(community.id, &STRUCTURE_READ)?;
    let scope = service::scope(state, user, community.id).await?;
    let buildings = store::buildings(state, community.id, scope.as_deref()).await?;
    let grids = store::grids(state, community.id).await?;
    let can_write = user.can(community.id, &STRUCTURE_WRITE);
    let can_read_residents = user.can(community.id, &RESIDENTS_READ);
    Ok(BuildingsPage { ctx, community, buildings, grids, can_write, can_read_residents, errors })
}

#[derive(Debug, Deserialize)]
struct BuildingForm {
    name: String,
    #[serde(default)]
    grid_id: String,
    #[serde(default)]
    floors: String,
    #[serde(default)]
    has_elevator: Option<String>,
}

async fn create_building(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>, WebForm(form): WebForm<BuildingForm>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    let grid_id = form.grid_id.parse::<GridId>().ok();
    let floors = match form.floors.trim() {
        "" => Ok(0),
        f => f.parse::<i64>().map_err(|_| AppError::field("floors", "floors_range")),
    };
    let result = match floors {
        Ok(floors) => service::create_building(&state, &user, &community, &form.name, grid_id, floors, form.has_elevator.is_some()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/console/buildings?c={}", community.slug))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let errors = field_errors(&ctx, &e);
            let status = e.status();
            Ok(render_status(status, &buildings_view(&state, ctx, &user, community, errors).await?))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "registry/households.html")]
struct HouseholdsPage {
    ctx: PageCtx,
    community: Community,
    households: Vec<Household>,
    buildings: Vec<BuildingOption>,
    building_id: Option<BuildingId>,
    next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct HouseholdsQuery {
    c: Option<String>,
    building_id: Option<String>,
    cursor: Option<String>,
}

async fn households_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<HouseholdsQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &RESIDENTS_READ)?;
    let building_id = q.building_id.as_deref().filter(|b| !b.is_empty()).map(|b| b.parse::<BuildingId>()).transpose().map_err(|_| AppError::field("building_id", "invalid_choice"))?;
    let page = kernel::web::PageQuery { cursor: q.cursor, limit: Some(100) };
    let scope = service::scope(&state, &user, community.id).await?;
    let rows = store::households(&state, community.id, building_id, scope.as_deref(), page.after()?, 100).await?;
    let page = kernel::web::Page::from_rows(rows, 100, |h| h.id);
    let buildings = store::building_options(&state, community.id, scope.as_deref()).await?;
    Ok(render(&HouseholdsPage { ctx, community, households: page.items, buildings, building_id, next_cursor: page.next_cursor }))
}

#[derive(Template)]
#[template(path = "registry/import.html")]
struct ImportPage {
    ctx: PageCtx,
    community: Community,
    report: Option<ImportReport>,
    error: Option<String>,
    can_export_full: bool,
}

impl ImportPage {
    /// The page for `user`, with an import's report or a refusal's reason (its first field's).
    fn new(ctx: PageCtx, user: &User, community: Community, report: Option<ImportReport>, error: Option<&AppError>) -> Self {
        let error = error.map(|e| e.fields().first().map(|f| f.message(ctx.tr.0)).unwrap_or_else(|| e.message(ctx.tr.0)));
        let can_export_full = user.can(community.id, &ID_REVEAL);
        ImportPage { ctx, community, report, error, can_export_full }
    }
}

async fn import_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &IMPORT_EXPORT)?;
    Ok(render(&ImportPage::new(ctx, &user, community, None, None)))
}

async fn import_upload(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>, multipart: Multipart) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    user.require(community.id, &IMPORT_EXPORT)?;
    let result = match kernel::web::multipart_file(multipart, state.config.upload_limit).await {
        Ok(file) => spreadsheet::import(&state, &user, &community, &file.bytes, ctx.tr.0).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => Ok(render(&ImportPage::new(ctx, &user, community, Some(report), None))),
        Err(e @ (AppError::Validation(_) | AppError::BadRequest { .. } | AppError::PayloadTooLarge)) => {
            Ok(render_status(e.status(), &ImportPage::new(ctx, &user, community, None, Some(&e))))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    c: Option<String>,
    format: Option<String>,
}

/// The masked export, from the links on the import page.
async fn export_file(State(state): State<AppState>, user: User, ApiQuery(q): ApiQuery<ExportQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    let format = if q.format.as_deref() == Some("csv") { Format::Csv } else { Format::Xlsx };
    crate::api::export_response(&state, &user, &community, format, Disclosure::Masked).await
}

/// The full export: a form (so the purpose stays out of addresses and logs), refused back to
/// the import page when the purpose is missing.
async fn export_full(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<CommunityQuery>, WebForm(form): WebForm<crate::api::ExportQuery>) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    let purpose = form.purpose.as_deref().unwrap_or("");
    let result = match form.format() {
        Ok(format) => crate::api::export_response(&state, &user, &community, format, Disclosure::Full { purpose }).await,
        Err(e) => Err(e),
    };
    match result {
        Err(e @ AppError::Validation(_)) => Ok(render_status(e.status(), &ImportPage::new(ctx, &user, community, None, Some(&e)))),
        other => other,
    }
}

#[derive(Debug, Deserialize)]
struct ResolveForm {}

async fn resolve_id_review(
    State(state): State<AppState>,
    user: User,
    ApiPath((id, review)): ApiPath<(i64, i64)>,
    ApiQuery(q): ApiQuery<CommunityQuery>,
    WebForm(_): WebForm<ResolveForm>,
) -> AppResult<Response> {
    let community = console_community(&state, &user, q.c.as_deref()).await?;
    id_reviews::resolve(&state, &user, &community, review).await?;
    Ok(see_other(&format!("/console/residents/{id}?c={}", community.slug)))
}
