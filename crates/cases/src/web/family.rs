//! The family page: the elders a person is bound to with their reports and progress, asking
//! for a new binding, and one of an elder's cases.

use crate::domain::CaseId;
use super::*;
use registry::family::Elder;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/family", get(family_page)).route("/family/cases/{id}", get(family_case_page))
}

#[derive(Template)]
#[template(path = "cases/family.html")]
struct FamilyPage {
    ctx: PageCtx,
    elders: Vec<(Elder, Vec<CaseView>)>,
    /// A request was just sent (the same words whoever it named).
    requested: bool,
    ended: bool,
    /// Why the last request was refused.
    refused: Option<String>,
    relation: String,
    /// Whether the viewer may ask, and their own requests (registry's part of the page).
    asking: registry::family::Asking,
}

impl FamilyPage {
    /// The viewer's user id, for the form that ends one of their bindings.
    fn me(&self) -> i64 {
        self.ctx.user.as_ref().and_then(|u| u.user_id).map_or(0, UserId::get)
    }
    fn report_for(&self, elder: &Elder) -> String {
        kernel::i18n::tf(self.ctx.tr.0, "family.report_for", &[("name", elder.name.clone())])
    }
    fn you_are(&self, elder: &Elder) -> String {
        kernel::i18n::tf(self.ctx.tr.0, "family.you_are", &[("relation", elder.relation_in(self.ctx.tr.0))])
    }
}

#[derive(Debug, Default, Deserialize)]
struct FamilyQuery {
    requested: Option<String>,
    ended: Option<String>,
    refused: Option<String>,
    field: Option<String>,
    wait: Option<i64>,
    relation: Option<String>,
}

/// The refusal's words from its code (a field's check, or too many requests with its wait).
fn refusal(ctx: &PageCtx, q: &FamilyQuery) -> Option<String> {
    let code = q.refused.as_deref()?;
    if code == "too_many_requests" {
        return Some(AppError::TooManyRequests { retry_after_s: q.wait.unwrap_or(0).max(1) }.message(ctx.tr.0));
    }
    let known = ["required", "family_elder_format", "too_long", "control_character", "invalid_choice"];
    let code = known.into_iter().find(|k| *k == code).unwrap_or("family_elder_format");
    let (field, max) = match q.field.as_deref() {
        Some("relation") => ("family.relation", "20"),
        _ => ("family.elder", "30"),
    };
    let why = kernel::i18n::tf(ctx.tr.0, &format!("error.{code}"), &[("max", max.into())]);
    Some(kernel::i18n::tf(ctx.tr.0, "family.refused", &[("field", ctx.tr.t(field).to_string()), ("why", why)]))
}

async fn family_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<FamilyQuery>) -> AppResult<Response> {
    let elders = crate::service::elders_with_cases(&state, &user).await?;
    let refused = refusal(&ctx, &q);
    let asking = registry::family::asking(&state, &user).await?;
    Ok(render(&FamilyPage {
        ctx,
        elders,
        requested: q.requested.is_some(),
        ended: q.ended.is_some(),
        refused,
        relation: q.relation.unwrap_or_default().chars().take(20).collect(),
        asking,
    }))
}

#[derive(Template)]
#[template(path = "cases/family_case.html")]
struct FamilyCasePage {
    ctx: PageCtx,
    elder: Elder,
    case: CaseView,
}

impl FamilyCasePage {
    fn clocks_shown(&self) -> bool {
        super::resident::clocks_shown(&self.case)
    }
    fn clock_results(&self) -> Vec<(String, (String, &'static str))> {
        super::resident::clock_results(&self.ctx, &self.case)
    }
    fn event_note(&self, e: &service::Event) -> String {
        super::event_note(&self.ctx, e)
    }
    fn event_label(&self, e: &service::Event) -> String {
        match e.state {
            Some(s) => self.ctx.label("case_state", s.code()),
            None => self.ctx.tr.t(&format!("case_event.{}", e.kind)).to_string(),
        }
    }
}

async fn family_case_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<CaseId>) -> AppResult<Response> {
    let (elder, case) = crate::service::elder_case(&state, &user, id).await?;
    Ok(render(&FamilyCasePage { ctx, elder, case }))
}
