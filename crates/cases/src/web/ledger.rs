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
    buildings: Vec<(BuildingId, String)>,
    grids: Vec<(GridId, String)>,
    plan: Vec<Placed>,
    by: crate::ledger::By,
    groups: Vec<crate::ledger::FigureGroup>,
    /// Cases matching the filter that are counted but not listed (private).
    private: i64,
}

impl LedgerPage {
    fn pct(&self, v: &Option<f64>) -> String {
        Some(crate::ledger::percent(*v))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "—".into())
    }
    fn group_label(&self, key: &str) -> String {
        crate::ledger::key_label(self.by, key, self.ctx.tr.0)
    }
    /// The plan's buildings by compound (小区), in plan order.
    fn compounds(&self) -> Vec<(&str, Vec<&Placed>)> {
        let mut out: Vec<(&str, Vec<&Placed>)> = Vec::new();
        for p in &self.plan {
            match out.iter_mut().find(|(e, _)| *e == p.building.estate.as_str()) {
                Some((_, list)) => list.push(p),
                None => out.push((p.building.estate.as_str(), vec![p])),
            }
        }
        for (_, list) in &mut out {
            list.sort_by_key(|p| (crate::ledger::natural_key(&p.label), p.building.id));
        }
        out
    }
    /// A plan building's name for screen readers: the building and its open cases.
    fn chip_label(&self, p: &Placed) -> String {
        let open = self.ctx.tr.n("ledger.open_cases", p.building.open_cases);
        kernel::i18n::tf(self.ctx.tr.0, "ledger.building_label", &[("building", p.building.name.clone()), ("open", open)])
    }
    fn private_note(&self) -> String {
        self.ctx.tr.n("ledger.private_counted", self.private)
    }
    fn is_status(&self, v: &str) -> bool {
        self.filter.status.as_deref() == Some(v)
    }
    fn is_category(&self, v: &str) -> bool {
        self.filter.category.as_deref() == Some(v)
    }
    fn is_building(&self, v: &BuildingId) -> bool {
        self.filter.building_id == Some(*v)
    }
    fn is_grid(&self, v: &GridId) -> bool {
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

/// A building on the plan: a link to its open cases, labelled within its compound.
pub(super) struct Placed {
    building: crate::ledger::PlanBuilding,
    /// Its name without the compound's (the compound is the heading above it).
    label: String,
}

/// The plan's buildings, labelled within their compounds, in plan order (rows, then columns).
pub(super) fn lay_out(mut plan: Vec<crate::ledger::PlanBuilding>) -> Vec<Placed> {
    plan.sort_by_key(|b| (b.y, b.x, b.id));
    plan.into_iter()
        .map(|b| Placed {
            label: b
                .name
                .strip_prefix(b.estate.as_str())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or(&b.name)
                .to_string(),
            building: b,
        })
        .collect()
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
    let page = kernel::web::Page::from_rows(rows, 30, |c| c.id.get());
    let figures = crate::ledger::figures(&state, id).await?;
    let (buildings, grids) = crate::ledger::choices(&state, id).await?.as_ref().clone();
    let plan = lay_out(crate::ledger::plan(&state, id).await?);
    let groups = crate::ledger::breakdown(&state, id, by).await?;
    let private = crate::ledger::private_count(&state, id, &filter).await?;
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
        by,
        groups,
        private,
    }))
}
