//! The public ledger: figures, the plan and the cases of a community.

use super::*;

#[derive(Template)]
#[template(path = "cases/ledger.html")]
pub(super) struct LedgerPage {
    ctx: PageCtx,
    community: String,
    slug: String,
    figures: crate::ledger::Figures,
    cases: Vec<crate::ledger::PublicCase>,
    next_cursor: Option<String>,
    filter: crate::ledger::Filter,
    /// The query string of the filter, for the next page's link.
    filter_query: String,
    buildings: Vec<(i64, String)>,
    grids: Vec<(i64, String)>,
    plan: Vec<Placed>,
    /// Height of the plan's view box (its width is 1000).
    plan_height: i64,
    by: crate::ledger::By,
    groups: Vec<crate::ledger::FigureGroup>,
}

impl LedgerPage {
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{:.0}%", x * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    fn group_label(&self, key: &str) -> String {
        match self.by {
            crate::ledger::By::Category => self.ctx.label("category", key),
            _ if key.is_empty() => self.ctx.tr.t("ledger.no_grid").to_string(),
            _ => key.to_string(),
        }
    }
    fn is_status(&self, v: &str) -> bool {
        self.filter.status.as_deref() == Some(v)
    }
    fn is_category(&self, v: &str) -> bool {
        self.filter.category.as_deref() == Some(v)
    }
    fn is_building(&self, v: &i64) -> bool {
        self.filter.building_id == Some(*v)
    }
    fn is_grid(&self, v: &i64) -> bool {
        self.filter.grid_id == Some(*v)
    }
    fn categories(&self) -> Vec<&'static str> {
        triage::Category::ALL.iter().map(|c| c.code()).collect()
    }
    fn by_code(&self) -> &'static str {
        self.by.code()
    }
    fn all_by(&self) -> [crate::ledger::By; 3] {
        crate::ledger::By::ALL
    }
    /// A building's marker radius: bigger with more open cases.
    fn radius(&self, p: &Placed) -> i64 {
        18 + 4 * p.building.open_cases.min(6)
    }
    fn minutes(&self, v: &Option<i64>) -> String {
        match v {
            None => "—".into(),
            Some(m) if *m < 120 => self.ctx.tr.n("ledger.minutes", m),
            Some(m) => self.ctx.tr.n("ledger.hours", (m + 30) / 60),
        }
    }
}

pub(super) async fn ledger_home(
    AxState(state): AxState<AppState>,
    viewer: Viewer,
) -> AppResult<Response> {
    let community = target_community(&state, &viewer, None).await?;
    Ok(see_other(&format!("/ledger/{}", community.slug)))
}

/// A building drawn on the plan: its place scaled into the view box, and a short label.
pub(super) struct Placed {
    building: crate::ledger::PlanBuilding,
    x: i64,
    y: i64,
    label: String,
}

/// Scales the buildings' plan positions (any units) into a 1000-wide view box, keeping their
/// proportions; returns them with the view box's height.
pub(super) fn lay_out(plan: Vec<crate::ledger::PlanBuilding>) -> (Vec<Placed>, i64) {
    let (min_x, max_x) = (
        plan.iter().map(|b| b.x).min().unwrap_or(0),
        plan.iter().map(|b| b.x).max().unwrap_or(0),
    );
    let (min_y, max_y) = (
        plan.iter().map(|b| b.y).min().unwrap_or(0),
        plan.iter().map(|b| b.y).max().unwrap_or(0),
    );
    let scale = (840.0 / (max_x - min_x).max(1) as f64)
        .min(600.0 / (max_y - min_y).max(1) as f64)
        .min(240.0);
    let placed = plan
        .into_iter()
        .map(|b| Placed {
            x: 80 + ((b.x - min_x) as f64 * scale) as i64,
            y: 70 + ((b.y - min_y) as f64 * scale) as i64,
            label: b
                .name
                .split_whitespace()
                .last()
                .unwrap_or(&b.name)
                .to_string(),
            building: b,
        })
        .collect();
    (placed, 150 + ((max_y - min_y) as f64 * scale) as i64)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LedgerQuery {
    cursor: Option<String>,
    by: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    building_id: String,
    #[serde(default)]
    grid_id: String,
    #[serde(default)]
    month: String,
}

pub(super) async fn ledger_page(
    AxState(state): AxState<AppState>,
    ctx: PageCtx,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> AppResult<Response> {
    let kernel::community::Community {
        id,
        name: community,
        ..
    } = kernel::community::by_slug(&state, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let filter = crate::ledger::Filter {
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        category: Some(q.category.clone()).filter(|s| !s.is_empty()),
        building_id: q.building_id.parse().ok(),
        grid_id: q.grid_id.parse().ok(),
        month: Some(q.month.clone()).filter(|s| !s.is_empty()),
    };
    let filter_query = [
        ("status", &q.status),
        ("category", &q.category),
        ("building_id", &q.building_id),
        ("grid_id", &q.grid_id),
        ("month", &q.month),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("&{k}={}", kernel::web::url_encode(v)))
    .collect::<String>();
    let by = match q.by.as_deref() {
        Some("grid") => crate::ledger::By::Grid,
        Some("category") => crate::ledger::By::Category,
        _ => crate::ledger::By::Month,
    };
    let page = kernel::web::PageQuery {
        cursor: q.cursor,
        limit: Some(30),
    };
    let rows = crate::ledger::cases(&state, id, &filter, page.after()?, 30).await?;
    let page = kernel::web::Page::from_rows(rows, 30, |c| c.id);
    let figures = crate::ledger::figures(&state, id).await?;
    let (buildings, grids) = crate::ledger::choices(&state, id).await?.as_ref().clone();
    let (plan, plan_height) = lay_out(crate::ledger::plan(&state, id).await?);
    let groups = crate::ledger::breakdown(&state, id, by).await?;
    Ok(render(&LedgerPage {
        ctx,
        community,
        slug,
        figures,
        cases: page.items,
        next_cursor: page.next_cursor,
        filter,
        filter_query,
        buildings,
        grids,
        plan,
        plan_height,
        by,
        groups,
    }))
}
