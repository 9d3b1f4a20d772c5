//! The report form: a resident's report (by name or anonymously) and the grid worker's quick entry.

use super::*;

#[derive(Template)]
#[template(path = "cases/new.html")]
pub(super) struct NewPage {
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
pub(super) struct FormState {
    slug: String,
    key: String,
    text: String,
    place: String,
    anonymous: bool,
    place_choice: String,
    quick: bool,
    resident_phone: String,
}

pub(super) async fn form_page(
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

pub(super) async fn new_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    viewer: Viewer,
    ApiQuery(q): ApiQuery<CommunityQuery>,
) -> AppResult<Response> {
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
    Ok(render(
        &form_page(
            &state,
            ctx,
            &community,
            form,
            None,
            Vec::new(),
            q.followed.is_some(),
        )
        .await?,
    ))
}

/// The grid worker's quick entry on foot: photo, place, a few words, for a resident or for the
/// community. The same form and the same idempotency key as the resident's.
pub(super) async fn quick_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiQuery(q): ApiQuery<CommunityQuery>,
) -> AppResult<Response> {
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
    Ok(render(
        &form_page(&state, ctx, &community, form, None, Vec::new(), false).await?,
    ))
}

/// The resident's report (and the grid worker's quick entry): a multipart form with up to nine
/// photos. A failed check shows the form again as sent (photos must be chosen again).
pub(super) async fn submit(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    viewer: Viewer,
    from: kernel::web::ClientIp,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let form = kernel::web::page_form(
        req,
        "photos",
        crate::photos::MAX_PHOTOS,
        state.config.upload_limit,
        state.config.body_limit,
    )
    .await?;
    let (form, files) = uploads(form);
    let quick = form.has("quick");
    let community = if quick {
        let user = viewer.0.as_ref().ok_or(AppError::Unauthorized)?;
        staff_community(&state, &User(user.clone()), Some(form.get("c"))).await?
    } else {
        target_community(
            &state,
            &viewer,
            Some(form.get("c")).filter(|c| !c.is_empty()),
        )
        .await?
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
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM residents WHERE community_id = $1 AND phone = $2 ORDER BY id LIMIT 1",
        )
        .bind(community.id)
        .bind(&as_sent.resident_phone)
        .fetch_optional(&state.db.pool)
        .await?;
        match found {
            Some(r) => resident_id = Some(r),
            None => {
                return report_error(
                    &state,
                    ctx,
                    &community,
                    as_sent,
                    AppError::field("resident_phone", "not_found_ref"),
                )
                .await
            }
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
    let already = if new.anonymous {
        None
    } else {
        service::filed_with_key(
            &state,
            viewer.0.as_deref(),
            false,
            community.id,
            &as_sent.key,
        )
        .await?
    };
    if let Some(id) = already {
        return Ok(see_other(&if quick {
            format!("/console/cases/{id}")
        } else {
            format!("/cases/{id}")
        }));
    }
    if !quick && !form.has("confirm") && !new.text.trim().is_empty() {
        let similar =
            crate::ledger::similar(&state, community.id, new.text.trim(), new.building_id).await?;
        if !similar.is_empty() {
            return Ok(render(
                &form_page(&state, ctx, &community, as_sent, None, similar, false).await?,
            ));
        }
    }
    if let Err(e) = service::admit(&state, viewer.0.as_deref(), &from, community.id, &new).await {
        return report_error(&state, ctx, &community, as_sent, e).await;
    }
    let photos = match crate::photos::prepare(&state, files).await {
        Ok(p) => p,
        Err(e @ AppError::Validation(_)) => {
            return report_error(&state, ctx, &community, as_sent, e).await
        }
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
pub(super) async fn report_error(
    state: &AppState,
    ctx: PageCtx,
    community: &kernel::community::Community,
    as_sent: FormState,
    e: AppError,
) -> AppResult<Response> {
    let error = Some(form_error(&ctx, &e));
    let page = form_page(state, ctx, community, as_sent, error, Vec::new(), false).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
