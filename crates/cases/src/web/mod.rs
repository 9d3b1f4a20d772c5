//! The needs express's pages: the report form, the author's pages, the staff console and the public
//! ledger, one module each; shared helpers live here.

mod console;
mod family;
mod learning;
mod ledger;
mod report;
mod resident;

use kernel::community::CommunityId;
use console::*;
use ledger::*;
use report::*;
use resident::*;

use crate::domain::State;
use kernel::auth::{User, UserId, Viewer};
use registry::{BuildingId, GridId, ResidentId, UnitId};
use crate::service::{self, CaseView, Move, Mover, NewCase};
use askama::Template;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::web::{render, render_status, see_other, ApiPath, ApiQuery, PageCtx, WebForm};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        // Photos come with the report: the upload limit applies per photo while reading.
        .route(
            "/cases/new",
            get(new_page)
                .post(submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    kernel::web::UPLOAD_CEILING,
                )),
        )
        .route("/cases/new/kept/{n}", get(kept_photo))
        .route("/me/cases", get(my_cases))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/moves", post(author_move))
        .route("/cases/{id}/follow", post(follow_case))
        .route("/cases/{id}/unfollow", post(unfollow_case))
        .route("/ledger/cases/{id}", get(public_case_page))
        .route("/cases/{id}/rate", post(author_rate))
        .route("/cases/follow/{token}", get(follow_page))
        .route("/cases/follow/{token}/moves", post(follow_move))
        .route("/r/{token}", get(rate_page).post(rate_submit))
        .route("/cases/follow/{token}/rate", post(follow_rate))
        .route("/ledger", get(ledger_home))
        .route("/ledger/{slug}", get(ledger_page))
        .route("/console/cases", get(queue_page))
        .route("/console/cases/{id}", get(staff_case_page).post(staff_case_post))
        // After photos come with a resolution.
        .route(
            "/console/cases/{id}/moves",
            post(staff_move).layer(axum::extract::DefaultBodyLimit::max(
                kernel::web::UPLOAD_CEILING,
            )),
        )
        .route("/console/cases/{id}/act", post(staff_act))
        .route("/console/cases/{id}/call", post(staff_call))
        .route("/console/case-photos/{id}/redact", post(staff_redact))
        .route("/console/cases/quick", get(quick_page))
        .route(
            "/console/cases/settings",
            get(settings_page).post(settings_save),
        )
        .route("/case-photos/{id}/{variant}", get(photo))
        .merge(family::router())
        .merge(learning::router())
}

/// The community a report goes to: `?c=slug`, else the viewer's first community, else the only one.
pub(super) async fn target_community(
    state: &AppState,
    viewer: &Viewer,
    slug: Option<&str>,
) -> AppResult<kernel::community::Community> {
    let found = match slug.filter(|s| !s.is_empty()) {
        Some(slug) => kernel::community::by_slug(state, slug).await?,
        None => {
            kernel::community::default_for(
                state,
                &viewer
                    .0
                    .as_ref()
                    .map(|p| p.community_ids())
                    .unwrap_or_default(),
            )
            .await?
        }
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
pub(super) async fn places(state: &AppState, community_id: CommunityId) -> AppResult<Vec<PlaceChoice>> {
    let rows = registry::places::building_units(&state.db.pool, community_id).await?;
    let mut out = Vec::new();
    let mut last = None;
    for registry::places::BuildingUnit { building_id: b, building_name: name, unit_id: u, unit_name: unit } in rows {
        if last != Some(b) {
            out.push(PlaceChoice {
                value: format!("b{b}"),
                label: name.clone(),
                unit: false,
            });
            last = Some(b);
        }
        if let (Some(u), Some(unit)) = (u, unit) {
            out.push(PlaceChoice {
                value: format!("u{u}"),
                label: format!("{name} {unit}"),
                unit: true,
            });
        }
    }
    Ok(out)
}

/// Reads a place choice into (building, unit): none, `b<id>`, `u<id>` or (from an old form) a
/// bare building id. Anything else is refused rather than read as "no place", which would file
/// the report without the place its author chose.
pub(super) fn parse_place(v: &str) -> AppResult<(Option<BuildingId>, Option<UnitId>)> {
    let v = v.trim();
    let read = |id: &str| id.parse::<i64>().map_err(|_| AppError::field("building_id", "invalid_choice"));
    match v.split_at_checked(1) {
        None => Ok((None, None)),
        Some(("b", id)) => Ok((Some(BuildingId::new(read(id)?)), None)),
        Some(("u", id)) => Ok((None, Some(UnitId::new(read(id)?)))),
        _ => Ok((Some(BuildingId::new(read(v)?)), None)),
    }
}

/// Reads a form that may carry photos (up to the case's limit, each within the upload limit)
/// and turns its files into photos to prepare.
pub(super) async fn photo_form(
    state: &AppState,
    req: axum::extract::Request,
) -> AppResult<(kernel::web::MultipartForm, Vec<crate::photos::Upload>)> {
    match photo_form_kept(state, req).await? {
        (_, _, Some(too_many)) => Err(too_many),
        (form, files, None) => Ok((form, files)),
    }
}

/// As [`photo_form`], but a form with more photos than allowed is read to its end (the extra
/// photos dropped, never decoded), so its words can be shown again with the photos' field message,
/// which comes as the third value.
pub(super) async fn photo_form_kept(
    state: &AppState,
    req: axum::extract::Request,
) -> AppResult<(kernel::web::MultipartForm, Vec<crate::photos::Upload>, Option<AppError>)> {
    let mut form = kernel::web::page_form_dropping_extra_files(
        req,
        "photos",
        crate::photos::MAX_PHOTOS,
        state.config.upload_limit,
        state.config.body_limit,
    )
    .await?;
    let files = std::mem::take(&mut form.files);
    let too_many = (form.files_dropped > 0).then(crate::photos::too_many);
    Ok((
        form,
        files
            .into_iter()
            .map(|f| crate::photos::Upload {
                name: f.name,
                bytes: f.bytes,
            })
            .collect(),
        too_many,
    ))
}

pub(super) fn form_error(ctx: &PageCtx, e: &AppError) -> String {
    e.fields()
        .first()
        .map(|f| f.message(ctx.tr.0))
        .unwrap_or_else(|| e.message(ctx.tr.0))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PhotoQuery {
    /// An anonymous author's private link token.
    t: Option<String>,
}

/// A photo of a case, as the viewer may see it.
pub(super) async fn photo(
    AxState(state): AxState<AppState>,
    viewer: Viewer,
    ApiPath((id, variant)): ApiPath<(i64, String)>,
    ApiQuery(q): ApiQuery<PhotoQuery>,
) -> AppResult<Response> {
    let variant = crate::photos::Variant::parse(&variant).ok_or(AppError::NotFound)?;
    crate::photos::serve(&state, viewer.0.as_deref(), q.t.as_deref(), id, variant).await
}

/// The community a staff page is about: `?c=slug`, else the first the viewer handles cases in.
pub(super) async fn staff_community(
    state: &AppState,
    user: &User,
    slug: Option<&str>,
) -> AppResult<kernel::community::Community> {
    kernel::community::all(state, None)
        .await?
        .into_iter()
        .find(|c| {
            slug.is_none_or(|want| want.is_empty() || want == c.slug)
                && user.can(c.id, &crate::domain::CASES_HANDLE)
        })
        .ok_or(AppError::Forbidden)
}

pub(super) fn clock_badge(
    ctx: &PageCtx,
    clock: crate::domain::ClockState,
) -> (String, &'static str) {
    use crate::domain::ClockState::*;
    let (key, class) = match clock {
        OnTrack => ("clock.on_track", "ok"),
        AtRisk => ("clock.at_risk", "warn"),
        Breached => ("clock.breached", "bad"),
        Met => ("clock.met", "ok"),
        MetLate => ("clock.met_late", "warn"),
        Paused => ("clock.paused", "muted"),
        Ended => ("clock.ended", "muted"),
    };
    (ctx.tr.t(key).to_string(), class)
}

/// What a step says, in words (a rating's stored codes translated).
pub(super) fn event_note(ctx: &PageCtx, e: &service::Event) -> String {
    if e.kind == "clock_warning" || e.kind == "clock_breached" {
        return String::new();
    }
    if e.kind == "rated" {
        let r = crate::rating::read_note(&e.note);
        let tr = ctx.tr.0;
        let mut head = r.satisfaction.map(|s| ctx.label("rate", s.code())).unwrap_or_default();
        if !r.solved {
            head = kernel::i18n::tf(tr, "rate.noted_not_solved", &[("rating", head)]);
        }
        return match (head.is_empty(), r.comment.is_empty()) {
            (_, true) => head,
            (true, false) => r.comment,
            (false, false) => kernel::i18n::tf(tr, "rate.noted_comment", &[("rating", head), ("comment", r.comment)]),
        };
    }
    if e.kind == "reclassified" {
        if let Some(words) = reclassified_note(ctx, &e.note) {
            return words;
        }
    }
    e.note.clone()
}

/// A correction's note (`normal/repair → urgent/safety: reason`, as stored) in words; a
/// correction to the same labels is a confirmation.
fn reclassified_note(ctx: &PageCtx, note: &str) -> Option<String> {
    let (codes, reason) = note.split_once(": ")?;
    let (from, to) = codes.split_once(" → ")?;
    let label = |pair: &str| -> Option<String> {
        let (u, c) = pair.split_once('/')?;
        triage::Urgency::parse(u)?;
        triage::Category::parse(c)?;
        Some(format!("{} / {}", ctx.label("urgency", u), ctx.label("category", c)))
    };
    let (from_words, to_words) = (label(from)?, label(to)?);
    let tr = ctx.tr.0;
    Some(if from == to {
        kernel::i18n::tf(tr, "cases.confirmed_note", &[("to", to_words), ("reason", reason.to_string())])
    } else {
        kernel::i18n::tf(tr, "cases.reclassified_note", &[("from", from_words), ("to", to_words), ("reason", reason.to_string())])
    })
}
