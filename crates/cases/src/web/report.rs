//! The report form: a resident's report (by name or anonymously) and the grid worker's quick entry.
//!
//! The form's idempotency key is in its address (`/cases/new?k=…`), so Back after filing comes
//! to the same key and shows the report as filed instead of a blank form that files it again.
//! Whatever the form comes back for — open cases like it, a mistake to mend, a lapsed session —
//! its words and photos are kept with that key ([`crate::draft`]) and never chosen again.

use kernel::community::CommunityId;
use crate::domain::CaseId;
use super::*;
use crate::draft::{self, Fields};

#[derive(Template)]
#[template(path = "cases/new.html")]
pub(super) struct NewPage {
    ctx: PageCtx,
    community: String,
    slug: String,
    places: Vec<PlaceChoice>,
    /// The grid worker's quick entry (on behalf of a resident or the community).
    quick: bool,
    /// The elders a family member may report for (为谁反映).
    elders: Vec<registry::family::Elder>,
    resident_phone: String,
    key: String,
    fields: Fields,
    /// Photos already kept with this report's draft.
    photos_kept: usize,
    /// Names the logged-in author (see [`draft::author_tag`]).
    author_tag: String,
    error: Option<String>,
    /// The field the error is about, when it is shown beside that field (`photos`).
    error_field: String,
    /// Open cases like this one, shown before filing ("已有人反映").
    similar: Vec<crate::ledger::Similar>,
    /// The case just followed from this form.
    followed: Option<CaseId>,
    /// The real service levels: (first reply, result) for a report, first reply with danger.
    promise: String,
    /// This form was filed already: where its case is.
    filed_url: Option<String>,
    /// The session lapsed: where to log in and come back to the kept draft.
    relogin: Option<String>,
}

impl NewPage {
    /// The form's heading: for an elder chosen on the family page, "替{name}反映问题".
    fn heading(&self) -> String {
        match self.elders.iter().find(|e| self.fields.for_resident == Some(e.resident_id)) {
            Some(e) => kernel::i18n::tf(self.ctx.tr.0, "family.report_for", &[("name", e.name.clone())]),
            None => self.ctx.tr.t("cases.report").to_string(),
        }
    }
    fn is_for(&self, resident: &ResidentId) -> bool {
        self.fields.for_resident == Some(*resident)
    }
    /// The error, when it is shown under field `field` rather than above the form.
    fn error_on(&self, field: &str) -> Option<&String> {
        self.error.as_ref().filter(|_| self.error_field == field)
    }
    /// The error shown above the form: one no field shows.
    fn error_above(&self) -> Option<&String> {
        self.error.as_ref().filter(|_| !matches!(self.error_field.as_str(), "photos" | "building_id"))
    }
    fn is_place(&self, value: &str) -> bool {
        self.fields.place_choice == value
    }
    /// The addresses of the kept photos' thumbnails.
    fn kept_urls(&self) -> Vec<String> {
        let c = if self.slug.is_empty() { String::new() } else { format!("&c={}", kernel::web::url_encode(&self.slug)) };
        (0..self.photos_kept).map(|n| format!("/cases/new/kept/{n}?k={}{c}", self.key)).collect()
    }
    fn photos_kept_text(&self) -> String {
        self.ctx.tr.n("cases.photos_kept", self.photos_kept)
    }
    fn suggestion_facts(&self, s: &crate::ledger::Similar) -> String {
        let mut out = self.ctx.label("category", s.case.category.code());
        if let Some(b) = &s.case.building {
            out.push_str(" · ");
            out.push_str(b);
            if let Some(u) = &s.unit {
                out.push(' ');
                out.push_str(u);
            }
        }
        out
    }
    fn filed_ago(&self, s: &crate::ledger::Similar) -> String {
        kernel::i18n::tf(
            self.ctx.tr.0,
            "cases.similar_filed",
            &[("when", self.ctx.when(&s.case.created_at)), ("n", s.followers.to_string())],
        )
    }
    fn latest_step(&self, s: &crate::ledger::Similar) -> String {
        match s.case.steps.last() {
            Some((at, st)) => format!("{} {}", self.ctx.when(at), self.ctx.label("case_state", st.code())),
            None => String::new(),
        }
    }
}

/// A service level in words: "2 小时", "15 分钟", "3 天".
pub(super) fn span(ctx: &PageCtx, ms: i64) -> String {
    let minutes = ms / kernel::clock::MINUTE;
    if minutes % (60 * 24) == 0 && minutes >= 60 * 48 {
        ctx.tr.n("cases.days", minutes / (60 * 24))
    } else if minutes % 60 == 0 {
        ctx.tr.n("ledger.hours", minutes / 60)
    } else {
        ctx.tr.n("ledger.minutes", minutes)
    }
}

/// The promise on the form, from the community's service levels.
async fn promise(state: &AppState, ctx: &PageCtx, community_id: CommunityId) -> AppResult<String> {
    let normal = service::promised(state, community_id, triage::Urgency::Normal).await?;
    let danger = service::promised(state, community_id, triage::Urgency::Critical).await?;
    Ok(kernel::i18n::tf(
        ctx.tr.0,
        "cases.promise_levels",
        &[
            ("first", span(ctx, normal.first_response_ms)),
            ("result", span(ctx, normal.result_ms)),
            ("danger", span(ctx, danger.first_response_ms)),
        ],
    ))
}

/// The report form, empty or as submitted.
pub(super) struct FormState {
    slug: String,
    key: String,
    fields: Fields,
    quick: bool,
    resident_phone: String,
    photos_kept: usize,
}

impl FormState {
    fn empty(slug: String, key: String, quick: bool, anonymous: bool) -> FormState {
        FormState {
            slug,
            key,
            fields: Fields {
                anonymous,
                ..Fields::default()
            },
            quick,
            resident_phone: String::new(),
            photos_kept: 0,
        }
    }
}

/// What else the form page shows.
#[derive(Default)]
pub(super) struct Extras {
    error: Option<String>,
    error_field: String,
    similar: Vec<crate::ledger::Similar>,
    followed: Option<CaseId>,
    filed_url: Option<String>,
    relogin: Option<String>,
}

pub(super) async fn form_page(
    state: &AppState,
    ctx: PageCtx,
    community: &kernel::community::Community,
    form: FormState,
    extras: Extras,
) -> AppResult<NewPage> {
    let author_tag = ctx
        .user
        .as_ref()
        .and_then(|u| u.user_id)
        .filter(|_| !form.quick)
        .map(|id| draft::author_tag(state, id))
        .unwrap_or_default();
    let elders = match ctx.user.as_ref().and_then(|u| u.user_id).filter(|_| !form.quick) {
        Some(uid) => registry::family::elders_of(state, uid).await?.into_iter().filter(|e| e.community_id == community.id).collect(),
        None => Vec::new(),
    };
    Ok(NewPage {
        elders,
        places: places(state, community.id).await?,
        promise: promise(state, &ctx, community.id).await?,
        quick: form.quick,
        resident_phone: form.resident_phone,
        ctx,
        community: community.name.clone(),
        slug: form.slug,
        key: form.key,
        fields: form.fields,
        photos_kept: form.photos_kept,
        author_tag,
        error: extras.error,
        error_field: extras.error_field,
        similar: extras.similar,
        followed: extras.followed,
        filed_url: extras.filed_url,
        relogin: extras.relogin,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NewQuery {
    c: Option<String>,
    /// The form's idempotency key.
    k: Option<String>,
    /// Show open cases like the kept draft ("已有人反映").
    step: Option<String>,
    /// The case just followed from the step.
    followed: Option<CaseId>,
    /// Family reporting for an elder: her resident id, chosen on the family page.
    #[serde(rename = "for")]
    for_resident: Option<ResidentId>,
}

/// What the keyed form shows besides the form: the similar step, and a case just followed.
#[derive(Clone, Copy, Default)]
struct Step {
    similar: bool,
    followed: Option<CaseId>,
    /// The elder chosen on the family page, for a fresh form.
    for_resident: Option<ResidentId>,
}

/// A key as the form may carry it: short, plain characters.
fn usable_key(k: Option<&str>) -> Option<&str> {
    k.filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Where the report filed with this form's key is, for this viewer, if it was filed.
async fn filed_url(state: &AppState, viewer: Option<&kernel::auth::Principal>, community_id: CommunityId, key: &str, quick: bool) -> AppResult<Option<String>> {
    // Answered as the filing was: with the case's page (or its private link, shown again).
    Ok(match service::filed_with_key(state, viewer, false, community_id, key).await? {
        Some(id) if quick => Some(format!("/console/cases/{id}")),
        Some(id) => Some(format!("/cases/{id}")),
        None => service::anonymous_link(state, community_id, key)
            .await?
            .map(|link| format!("{link}?new=1")),
    })
}

/// The form for the key in its address (the page first sends a browser without one to a fresh
/// key): filled in again from the key's draft, or "filed" when the key was used.
#[allow(clippy::too_many_arguments)]
async fn keyed_form(
    state: &AppState,
    ctx: PageCtx,
    viewer: Option<&kernel::auth::Principal>,
    community: &kernel::community::Community,
    slug: String,
    key: &str,
    quick: bool,
    step: Step,
) -> AppResult<Response> {
    let mut form = FormState::empty(slug, key.to_string(), quick, viewer.is_none());
    form.fields.for_resident = step.for_resident;
    let mut extras = Extras::default();
    let reader = viewer.and_then(|p| p.user_id);
    if let Some(url) = filed_url(state, viewer, community.id, key, quick).await? {
        extras.filed_url = Some(url);
    } else if let Some(kept) = draft::readable(state, community.id, key, reader).await? {
        // A draft goes back to the logged-in person who wrote it, or to a visitor's own form.
        {
            form.fields = kept.fields;
            form.photos_kept = kept.photos;
            if viewer.is_none() {
                form.fields.anonymous = true;
            }
            if step.similar && !quick {
                let (building_id, unit_id) = parse_place(&form.fields.place_choice).unwrap_or_default();
                extras.similar =
                    crate::ledger::suggestions(state, community.id, form.fields.text.trim(), building_id, unit_id, reader).await?;
                extras.followed = step.followed;
            }
        }
    }
    let mut res = render(&form_page(state, ctx, community, form, extras).await?);
    // Back comes to the server again, which knows whether the key was used.
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

fn keyed_address(base: &str, slug: &str, key: &str) -> String {
    if slug.is_empty() {
        format!("{base}?k={key}")
    } else {
        format!("{base}?c={}&k={key}", kernel::web::url_encode(slug))
    }
}

pub(super) async fn new_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    viewer: Viewer,
    ApiQuery(q): ApiQuery<NewQuery>,
) -> AppResult<Response> {
    let slug = q.c.clone().unwrap_or_default();
    let Some(key) = usable_key(q.k.as_deref()) else {
        let fresh = keyed_address("/cases/new", &slug, &kernel::crypto::random_token(12));
        return Ok(see_other(&match q.for_resident {
            Some(r) => format!("{fresh}&for={r}"),
            None => fresh,
        }));
    };
    let community = target_community(&state, &viewer, q.c.as_deref()).await?;
    let step = Step { similar: q.step.is_some(), followed: q.followed, for_resident: q.for_resident };
    keyed_form(&state, ctx, viewer.0.as_deref(), &community, slug, key, false, step).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct KeptQuery {
    c: Option<String>,
    k: Option<String>,
}

/// The thumbnail of the `n`-th photo kept with a report's draft, for the form that keeps it.
pub(super) async fn kept_photo(
    AxState(state): AxState<AppState>,
    viewer: Viewer,
    ApiPath(n): ApiPath<usize>,
    ApiQuery(q): ApiQuery<KeptQuery>,
) -> AppResult<Response> {
    let key = usable_key(q.k.as_deref()).ok_or(AppError::NotFound)?;
    let community = target_community(&state, &viewer, q.c.as_deref()).await?;
    let reader = viewer.0.as_ref().and_then(|p| p.user_id);
    draft::readable(&state, community.id, key, reader).await?.ok_or(AppError::NotFound)?;
    let photos = draft::photos(&state, community.id, key).await?;
    let bytes = photos.get(n).ok_or(AppError::NotFound)?.thumbnail(&state).await?;
    let mut res = axum::response::IntoResponse::into_response(bytes);
    let headers = res.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("image/jpeg"));
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("private, no-store"));
    Ok(res)
}

/// The grid worker's quick entry on foot: photo, place, a few words, for a resident or for the
/// community. The same form and the same idempotency key as the resident's.
pub(super) async fn quick_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiQuery(q): ApiQuery<NewQuery>,
) -> AppResult<Response> {
    let community = staff_community(&state, &user, q.c.as_deref()).await?;
    let fresh = kernel::crypto::random_token(12);
    let key = usable_key(q.k.as_deref()).unwrap_or(&fresh);
    keyed_form(&state, ctx, Some(&user.0), &community, community.slug.clone(), key, true, Step::default()).await
}

/// The resident's report (and the grid worker's quick entry): a multipart form with up to nine
/// photos, which are kept with the report's draft as soon as they arrive.
pub(super) async fn submit(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    viewer: Viewer,
    from: kernel::web::ClientIp,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let lapsed = req.extensions().get::<kernel::web::SessionLapsed>().is_some();
    let (form, files, too_many) = photo_form_kept(&state, req).await?;
    let quick = form.has("quick");
    let author_tag = form.get("by").to_string();
    // Someone in danger whose login lapsed chose to send it now, without a name (see the
    // lapsed page): filed at once as an anonymous report, because they chose so.
    let send_now = viewer.0.is_none() && !quick && form.has("send_now") && form.has("danger_now");
    // Filled in by someone logged in who is not any more: file nothing, keep it, ask them in.
    let lapsed = !send_now && (lapsed || (viewer.0.is_none() && !author_tag.is_empty()) || (quick && viewer.0.is_none()));
    let community = if quick && !lapsed {
        let user = viewer.0.as_ref().ok_or(AppError::Unauthorized)?;
        staff_community(&state, &User(user.clone()), Some(form.get("c"))).await?
    } else {
        target_community(&state, &viewer, Some(form.get("c")).filter(|c| !c.is_empty())).await?
    };
    let key = match usable_key(Some(form.get("key"))) {
        Some(k) => k.to_string(),
        None => return Err(AppError::field("key", "invalid")),
    };
    // An unreadable place is refused once the photos are kept (below), never dropped.
    let ((building_id, unit_id), place_refused) = match parse_place(form.get("building_id")) {
        Ok(chosen) => (chosen, None),
        Err(e) => ((None, None), Some(e)),
    };
    let fields = Fields {
        text: form.get("text").to_string(),
        place: form.get("place").to_string(),
        place_choice: form.get("building_id").to_string(),
        danger_now: form.has("danger_now"),
        // The author's own choice, kept as it was when the session lapsed.
        anonymous: form.has("anonymous") || (viewer.0.is_none() && !lapsed),
        lat: form.get("lat").trim().to_string(),
        long: form.get("long").trim().to_string(),
        for_resident: form.get("for_resident").parse().ok().filter(|_| !quick),
    };
    let mut as_sent = FormState {
        slug: form.get("c").to_string(),
        key: key.clone(),
        fields: fields.clone(),
        quick,
        resident_phone: form.get("resident_phone").trim().to_string(),
        photos_kept: 0,
    };
    let new = NewCase {
        text: fields.text.clone(),
        place: fields.place.clone(),
        building_id,
        unit_id,
        lat: fields.lat.parse().ok(),
        long: fields.long.parse().ok(),
        resident_id: fields.for_resident,
        anonymous: fields.anonymous && !quick,
        source: quick.then_some(crate::domain::Source::GridWorker),
        idempotency_key: Some(key.clone()),
        danger_now: fields.danger_now,
    };
    // This very form was filed already: a resubmission goes straight to its case.
    if !lapsed {
        if let Some(url) = filed_url(&state, viewer.0.as_deref(), community.id, &key, quick).await? {
            return Ok(see_other(&url));
        }
    }
    if form.has("drop_kept") {
        draft::drop_photos(&state, community.id, &key).await?;
    }
    // More photos than allowed: the form again, as typed, with the message under the photos.
    if let Some(e) = too_many {
        as_sent.photos_kept = draft::photos(&state, community.id, &key).await?.len();
        return report_error(&state, ctx, &community, as_sent, e).await;
    }
    // The photos that came with this sending join the draft at once: whatever happens next,
    // nobody chooses them again. A visitor's photos are admitted (their quota spent) first.
    let mut admitted = false;
    let mut files = files;
    if !files.is_empty() {
        let spent = if viewer.0.is_none() {
            service::admit(&state, None, &from, community.id, &new).await.map(|()| admitted = true)
        } else if let Some(filer) = viewer.0.as_deref().filter(|_| !lapsed) {
            // Decoding photos is costly: a person has a budget of them an hour.
            crate::photos::admit_photos(&state, filer, files.len(), true).await
        } else {
            Ok(())
        };
        match spent {
            Ok(()) => {}
            // Someone in danger is never turned away over photos: the report goes on without them.
            Err(AppError::TooManyRequests { .. }) if new.danger_now => files.clear(),
            Err(e) => {
                as_sent.photos_kept = draft::photos(&state, community.id, &key).await?.len();
                return report_error(&state, ctx, &community, as_sent, e).await;
            }
        }
    }
    if !files.is_empty() {
        let stored = match crate::photos::prepare(&state, files).await {
            Ok(p) => crate::photos::store(&state, &p, new.anonymous || lapsed).await?,
            Err(e @ AppError::Validation(_)) => return report_error(&state, ctx, &community, as_sent, e).await,
            // The server busy with others' photos: as above, a report of danger goes on without.
            Err(AppError::TooManyRequests { .. }) if new.danger_now => Vec::new(),
            Err(e) => return Err(e),
        };
        let tag = if lapsed { &author_tag } else { &own_tag(&state, &viewer, quick) };
        match draft::keep(&state, community.id, &key, &fields, tag, stored).await {
            Ok(n) => as_sent.photos_kept = n,
            Err(e @ AppError::Validation(_)) => return report_error(&state, ctx, &community, as_sent, e).await,
            Err(e) => return Err(e),
        }
    } else {
        let tag = if lapsed { author_tag.clone() } else { own_tag(&state, &viewer, quick) };
        if lapsed || form.has("follow") {
            if let Err(e) = draft::keep(&state, community.id, &key, &fields, &tag, Vec::new()).await {
                return report_error(&state, ctx, &community, as_sent, e).await;
            }
        }
        as_sent.photos_kept = draft::photos(&state, community.id, &key).await?.len();
    }
    if lapsed {
        let back = if quick {
            keyed_address("/console/cases/quick", &as_sent.slug, &key)
        } else {
            keyed_address("/cases/new", &as_sent.slug, &key)
        };
        let extras = Extras {
            relogin: Some(format!("/login?next={}", kernel::web::url_encode(&back))),
            ..Extras::default()
        };
        return Ok(render(&form_page(&state, ctx, &community, as_sent, extras).await?));
    }
    if let Some(e) = place_refused {
        return report_error(&state, ctx, &community, as_sent, e).await;
    }
    let reader = viewer.0.as_ref().and_then(|p| p.user_id);
    // The step is shown from the keyed address (the draft holds the form), so Back and reload
    // never send the form again.
    let step_address = |followed: Option<CaseId>| {
        let mut to = format!("{}&step=similar", keyed_address("/cases/new", &as_sent.slug, &key));
        if let Some(id) = followed {
            to.push_str(&format!("&followed={id}"));
        }
        to
    };
    // Following one of the open cases like it instead: nothing is filed; the form stays as it was.
    if let Some(follow) = form.get("follow").parse::<CaseId>().ok().filter(|_| !quick) {
        let user = viewer.0.as_ref().ok_or(AppError::Unauthorized)?;
        crate::ledger::follow(&state, User(user.clone()).person()?, follow).await?;
        return Ok(see_other(&step_address(Some(follow))));
    }
    // Before filing, show open cases like this one so people can follow instead of duplicating —
    // never when someone is in danger: that goes straight through.
    if !quick && !form.has("confirm") && !new.danger_now && !new.text.trim().is_empty() {
        let similar = crate::ledger::suggestions(&state, community.id, new.text.trim(), building_id, unit_id, reader).await?;
        if !similar.is_empty() {
            if let Err(e) = draft::keep(&state, community.id, &key, &fields, &own_tag(&state, &viewer, quick), Vec::new()).await {
                return report_error(&state, ctx, &community, as_sent, e).await;
            }
            return Ok(see_other(&step_address(None)));
        }
    }
    // On behalf of a resident: found by their phone number in the registry.
    let mut new = new;
    if quick && !as_sent.resident_phone.is_empty() {
        let viewer_p = viewer.0.as_deref().ok_or(AppError::Unauthorized)?;
        match service::resident_by_phone(&state, viewer_p, community.id, &as_sent.resident_phone).await {
            Ok(r) => new.resident_id = Some(r),
            Err(e @ AppError::Validation(_)) => return report_error(&state, ctx, &community, as_sent, e).await,
            Err(e) => return Err(e),
        }
    }
    if !admitted {
        if let Err(e) = service::admit(&state, viewer.0.as_deref(), &from, community.id, &new).await {
            return report_error(&state, ctx, &community, as_sent, e).await;
        }
    }
    let kept = draft::photos(&state, community.id, &key).await?;
    match service::file_with_kept(&state, viewer.0.as_deref(), community.id, &new, &[], kept).await {
        Ok(filed) => Ok(match filed.follow_token {
            Some(token) => see_other(&format!("/cases/follow/{token}?new=1")),
            None if quick => see_other(&format!("/console/cases/{}", filed.id)),
            None => see_other(&format!("/cases/{}", filed.id)),
        }),
        Err(e @ AppError::Validation(_)) => report_error(&state, ctx, &community, as_sent, e).await,
        Err(e) => Err(e),
    }
}

/// The author tag of the logged-in person sending a resident's form ("" for a visitor).
fn own_tag(state: &AppState, viewer: &Viewer, quick: bool) -> String {
    viewer
        .0
        .as_ref()
        .and_then(|p| p.user_id)
        .filter(|_| !quick)
        .map(|id| draft::author_tag(state, id))
        .unwrap_or_default()
}

/// The report form again, as sent, with what went wrong.
pub(super) async fn report_error(
    state: &AppState,
    ctx: PageCtx,
    community: &kernel::community::Community,
    as_sent: FormState,
    e: AppError,
) -> AppResult<Response> {
    let error_field = e.fields().first().map(|f| f.field.clone()).unwrap_or_default();
    let extras = Extras { error: Some(form_error(&ctx, &e)), error_field, ..Extras::default() };
    let page = form_page(state, ctx, community, as_sent, extras).await?;
    // Too many reports at once is 429 (with the form as typed), a mistake to mend 422.
    Ok(match e {
        AppError::TooManyRequests { retry_after_s } => {
            let mut res = render_status(StatusCode::TOO_MANY_REQUESTS, &page);
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_s.into());
            res
        }
        _ => render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
    })
}
