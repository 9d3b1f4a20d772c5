//! The console's triage page: which model classifies this community's reports, how many staff
//! corrections it can learn from, the retrainings on record, and the button that retrains.

use super::staff_community;
use askama::Template;
use axum::extract::State as AxState;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use kernel::auth::User;
use kernel::web::{render, ApiQuery, PageCtx};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/console/cases/triage", get(triage_page).post(retrain))
}

#[derive(Template)]
#[template(path = "cases/triage.html")]
struct TriagePage {
    ctx: PageCtx,
    slug: String,
    version: String,
    corrections: usize,
    needed: usize,
    history: Vec<crate::learning::ModelRecord>,
    can_retrain: bool,
    error: Option<String>,
    /// What the retraining just done came to.
    done: Option<String>,
}

impl TriagePage {
    fn when(&self, at: &i64) -> String {
        kernel::clock::format_local(*at)
    }
    /// "Checked on 4 new corrections neither model learned: …"; with fewer than ten, a word
    /// that the check is thin.
    fn scores(&self, m: &crate::learning::ModelRecord) -> String {
        let thin = if m.held_out < 10 { self.ctx.tr.t("triage_page.thin") } else { "" };
        let scores = kernel::i18n::tf(
            self.ctx.tr.0,
            "triage_page.scores",
            &[
                ("n", m.held_out.to_string()),
                ("bu", m.before_urgency.to_string()),
                ("au", m.after_urgency.to_string()),
                ("bc", m.before_category.to_string()),
                ("ac", m.after_category.to_string()),
            ],
        );
        format!("{scores}{thin}")
    }
}

#[derive(Deserialize)]
struct TriageQuery {
    c: Option<String>,
}

async fn view(state: &AppState, ctx: PageCtx, user: &User, slug: Option<&str>, error: Option<String>, done: Option<String>) -> AppResult<TriagePage> {
    let community = staff_community(state, user, slug).await?;
    let can_retrain = user.can(community.id, &crate::domain::CASES_CONFIGURE);
    let history = if can_retrain { crate::learning::history(state, user, community.id).await? } else { Vec::new() };
    Ok(TriagePage {
        version: crate::learning::classifier(state, community.id).await?.version().to_string(),
        corrections: crate::learning::corrections(state, community.id).await?.len(),
        needed: crate::learning::MIN_CORRECTIONS,
        slug: community.slug,
        history,
        can_retrain,
        error,
        done,
        ctx,
    })
}

async fn triage_page(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<TriageQuery>) -> AppResult<Response> {
    Ok(render(&view(&state, ctx, &user, q.c.as_deref(), None, None).await?))
}

async fn retrain(AxState(state): AxState<AppState>, ctx: PageCtx, user: User, req: axum::extract::Request) -> AppResult<Response> {
    let form = kernel::web::page_form(req, "", 0, 0, state.config.body_limit).await?;
    let slug = form.get("c").trim().to_string();
    let community = staff_community(&state, &user, Some(slug.as_str())).await?;
    match crate::learning::retrain(&state, &user, community.id).await {
        Ok(r) => {
            let key = if r.switched { "triage_page.done_switched" } else { "triage_page.done_kept" };
            let done = kernel::i18n::tf(ctx.tr.0, key, &[("version", r.version.clone())]);
            Ok(render(&view(&state, ctx, &user, Some(community.slug.as_str()), None, Some(done)).await?))
        }
        Err(AppError::Validation(fields)) => {
            let message = fields.first().map(|f| f.message(ctx.tr.0)).unwrap_or_default();
            Ok(render(&view(&state, ctx, &user, Some(community.slug.as_str()), Some(message), None).await?))
        }
        Err(e) => Err(e),
    }
}
