//! Staff pages: the queue, a case with its actions, service levels and the roster.

use super::*;

#[derive(Template)]
#[template(path = "cases/queue.html")]
pub(super) struct QueuePage {
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
        let clock = if c.state == State::New {
            c.first_response_clock
        } else {
            c.result_clock
        };
        clock_badge(&self.ctx, clock)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    c: Option<String>,
    cursor: Option<String>,
    mine: Option<String>,
}

pub(super) async fn queue_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> AppResult<Response> {
    let kernel::community::Community {
        id,
        slug,
        name: community,
        ..
    } = staff_community(&state, &user, q.c.as_deref()).await?;
    let page = kernel::web::PageQuery {
        cursor: q.cursor,
        limit: Some(30),
    };
    let offset = page.after()?.unwrap_or(0);
    let mine = q.mine.is_some();
    let assignee = if mine { Some(user.person()?) } else { None };
    let mut cases = service::queue(&state, &user, id, assignee, Some(offset), 30).await?;
    let next_cursor = (cases.len() > 30).then(|| kernel::web::encode_cursor(offset + 30));
    cases.truncate(30);
    Ok(render(&QueuePage {
        ctx,
        community,
        slug,
        cases,
        next_cursor,
        mine,
    }))
}

#[derive(Template)]
#[template(path = "cases/staff_case.html")]
pub(super) struct StaffCasePage {
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
            Some(s) if e.kind != "clock_warning" && e.kind != "clock_breached" => {
                self.ctx.label("case_state", s.code())
            }
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

pub(super) async fn staff_case_view(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    id: i64,
    error: Option<String>,
) -> AppResult<StaffCasePage> {
    let case = service::read_as_staff(state, user, id).await?;
    let moves = case.state.staff_moves().to_vec();
    let people = sqlx::query_as(
        "SELECT DISTINCT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role IN ('staff', 'admin', 'grid_worker') ORDER BY u.id",
    )
    .bind(case.community_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(StaffCasePage {
        ctx,
        case,
        moves,
        error,
        people,
        cells: (0..16).collect(),
    })
}

pub(super) async fn staff_case_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    user: User,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Response> {
    Ok(render(
        &staff_case_view(&state, ctx, &user, id, None).await?,
    ))
}

/// Shows the staff page again with what went wrong, or goes back to it.
pub(super) async fn after_staff_action(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    id: i64,
    result: AppResult<()>,
) -> AppResult<Response> {
    match result {
        Ok(()) => Ok(see_other(&format!("/console/cases/{id}"))),
        Err(
            e @ (AppError::Validation(_) | AppError::Conflict { .. } | AppError::PayloadTooLarge),
        ) => {
            let msg = form_error(&ctx, &e);
            let status = e.status();
            Ok(render_status(
                status,
                &staff_case_view(state, ctx, user, id, Some(msg)).await?,
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
    ApiPath(id): ApiPath<i64>,
    req: axum::extract::Request,
) -> AppResult<Response> {
    let result = async {
        let form = kernel::web::page_form(
            req,
            "photos",
            crate::photos::MAX_PHOTOS,
            state.config.upload_limit,
            state.config.body_limit,
        )
        .await?;
        let (form, files) = uploads(form);
        let to =
            State::parse(form.get("to")).ok_or_else(|| AppError::field("to", "invalid_choice"))?;
        let parent_id = form
            .get("parent_id")
            .trim()
            .trim_start_matches('#')
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
        service::move_case(&state, Mover::Person(&user), id, &m, &photos)
            .await
            .map(|_| ())
    }
    .await;
    after_staff_action(&state, ctx, &user, id, result).await
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
    ApiPath(id): ApiPath<i64>,
    WebForm(form): WebForm<ActForm>,
) -> AppResult<Response> {
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
    after_staff_action(&state, ctx, &user, id, result).await
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
    let case_id: i64 = form.get("case").parse().map_err(|_| AppError::NotFound)?;
    let result = crate::photos::redact(
        &state,
        &user,
        photo_id,
        &crate::photos::Redaction { cells, hidden },
    )
    .await
    .map(|_| ());
    after_staff_action(&state, ctx, &user, case_id, result).await
}

#[derive(Template)]
#[template(path = "cases/settings.html")]
pub(super) struct SettingsPage {
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
pub(super) struct SettingsQuery {
    c: Option<String>,
    saved: Option<String>,
}

pub(super) async fn settings_view(
    state: &AppState,
    ctx: PageCtx,
    user: &User,
    slug: Option<&str>,
    saved: bool,
    error: Option<String>,
) -> AppResult<SettingsPage> {
    let community = staff_community(state, user, slug).await?;
    let s = crate::policy::settings(state, user, community.id).await?;
    let levels = [
        triage::Urgency::Critical,
        triage::Urgency::Urgent,
        triage::Urgency::Normal,
        triage::Urgency::Low,
    ]
    .into_iter()
    .map(|u| {
        let d = crate::domain::default_sla(u);
        match s
            .sla
            .iter()
            .find(|p| p.urgency == u && p.category.is_none())
        {
            Some(p) => (
                u.code(),
                p.first_response_minutes,
                p.result_minutes,
                p.working_hours,
            ),
            None => (
                u.code(),
                d.first_response_ms / kernel::clock::MINUTE,
                d.result_ms / kernel::clock::MINUTE,
                false,
            ),
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
    let days = |working: bool| {
        s.calendar_days
            .iter()
            .filter(|d| d.working == working)
            .map(|d| d.day.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(SettingsPage {
        can_edit: user.can(community.id, &crate::policy::CASES_CONFIGURE),
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
    let result = async {
        // The page edits the levels that hold for every category; per-category ones stay.
        s.sla.retain(|p| p.category.is_some());
        for u in [
            triage::Urgency::Critical,
            triage::Urgency::Urgent,
            triage::Urgency::Normal,
            triage::Urgency::Low,
        ] {
            let minutes = |k: String| {
                get(&k)
                    .parse::<i64>()
                    .map_err(|_| AppError::field(k, "out_of_range"))
            };
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
        Err(e @ AppError::Validation(_)) => {
            let msg = form_error(&ctx, &e);
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &settings_view(
                    &state,
                    ctx,
                    &user,
                    Some(community.slug.as_str()),
                    false,
                    Some(msg),
                )
                .await?,
            ))
        }
        Err(e) => Err(e),
    }
}
