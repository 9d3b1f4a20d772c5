//! The public ledger (问题台账): every case of a community, as far as the public may see it —
//! category, building (never a flat), state and its steps — and the figures that make the
//! community's work accountable. The report's own words and staff notes stay off it: they may
//! name people or flats.

use kernel::community::CommunityId;
use kernel::auth::UserId;
use registry::{BuildingId, GridId, ResidentId, UnitId};
use crate::domain::{CaseId, State};
use crate::store::{FACTS, FIRST_PAGE, PLAN};
use kernel::query::{col, Alias, Cond, Expr, Order, Query};
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::{Deserialize, Serialize};
use triage::{Category, Urgency};

/// A case as the public sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicCase {
    /// Id.
    pub id: CaseId,
    /// Category.
    pub category: Category,
    /// Urgency.
    pub urgency: Urgency,
    /// Building name, if the case is tied to one.
    pub building: Option<String>,
    /// State.
    pub state: State,
    /// Filed at (epoch ms).
    pub created_at: i64,
    /// The states it went through, oldest first, with when.
    pub steps: Vec<(i64, State)>,
    /// Photos (redacted; none before staff have responded, none hidden).
    pub photos: Vec<crate::photos::Photo>,
}

/// The community's accountability figures.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Cases filed.
    pub cases: i64,
    /// First responses within their due time ÷ cases whose first response is due or given.
    pub response_rate: Option<f64>,
    /// Rated solved ÷ rated.
    pub resolution_rate: Option<f64>,
    /// Satisfied or basically satisfied ÷ rated.
    pub satisfaction_rate: Option<f64>,
    /// Results within their due time ÷ cases with a result.
    pub on_time_rate: Option<f64>,
    /// Median minutes to the first response.
    pub median_first_response_minutes: Option<i64>,
    /// Median minutes to the result.
    pub median_result_minutes: Option<i64>,
}

pub(crate) fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// One case's facts that the figures are made of.
struct FigureRow {
    id: i64,
    created: i64,
    first_due: i64,
    first_at: Option<i64>,
    result_due: i64,
    resolved_at: Option<i64>,
    state: State,
    category: String,
    grid: Option<String>,
    /// The grid's place in natural order (see [`natural_key`]).
    grid_order: Option<(u64, GridId)>,
}

/// The facts the figures are computed from.
struct Facts {
    rows: Vec<FigureRow>,
    rated: Vec<(i64, Option<i64>, Option<String>)>,
}


async fn facts(state: &AppState, community_id: CommunityId) -> AppResult<std::sync::Arc<Facts>> {
    if let Some(f) = state.db.reads.get::<Facts>(FACTS, community_id) {
        return Ok(f);
    }
    let (rows, rated) = figure_rows(state, community_id).await?;
    let f = std::sync::Arc::new(Facts { rows, rated });
    state.db.reads.put(FACTS, community_id, f.clone());
    Ok(f)
}

async fn figure_rows(
    state: &AppState,
    community_id: CommunityId,
) -> AppResult<(Vec<FigureRow>, Vec<(i64, Option<i64>, Option<String>)>)> {
    kernel::row! {
        /// A case as the figures count it.
        struct FigureCase {
            id: i64,
            created_at: i64,
            first_response_due: i64,
            first_response_at: Option<i64>,
            result_due: i64,
            resolved_at: Option<i64>,
            state: String,
            category: String,
            building_id: Option<BuildingId>,
        }
    }
    // The grid of each building, as the registry has it.
    let grid_of: std::collections::HashMap<BuildingId, (GridId, String)> = registry::places::buildings_of(&state.db.pool, community_id)
        .await?
        .into_iter()
        .filter_map(|b| Some((b.id, (b.grid_id?, b.grid_name?))))
        .collect();
    let mut rows = Vec::new();
    for r in sqlx::query_as::<_, FigureCase>(
        "SELECT c.id, c.created_at, c.first_response_due, c.first_response_at, c.result_due, c.resolved_at, c.state, c.category, c.building_id \
         FROM cases c WHERE c.community_id = $1",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?
    {
        let grid = r.building_id.and_then(|b| grid_of.get(&b));
        let stored = r.state;
        rows.push(FigureRow {
            id: r.id,
            created: r.created_at,
            first_due: r.first_response_due,
            first_at: r.first_response_at,
            result_due: r.result_due,
            resolved_at: r.resolved_at,
            state: State::parse(&stored).ok_or_else(|| AppError::internal(format!("stored state {stored}")))?,
            category: r.category,
            grid_order: grid.map(|(id, name)| (natural_key(name), *id)),
            grid: grid.map(|(_, name)| name.clone()),
        });
    }
    let rated = sqlx::query_as(
        "SELECT r.case_id, r.solved, r.satisfaction FROM case_ratings r JOIN cases c ON c.id = r.case_id WHERE c.community_id = $1 AND r.used_at IS NOT NULL",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    Ok((rows, rated))
}

fn compute(
    now: i64,
    rows: &[&FigureRow],
    rated: &[&(i64, Option<i64>, Option<String>)],
) -> Figures {
    let (mut due_or_given, mut in_time, mut with_result, mut result_in_time) = (0, 0, 0, 0);
    let (mut first_times, mut result_times) = (Vec::new(), Vec::new());
    for r in rows {
        if matches!(r.state, State::Withdrawn | State::Duplicate) {
            continue;
        }
        if r.first_at.is_some() || now > r.first_due {
            due_or_given += 1;
            if r.first_at.is_some_and(|at| at <= r.first_due) {
                in_time += 1;
            }
        }
        if let Some(at) = r.first_at {
            first_times.push((at - r.created) / 60_000);
        }
        if let Some(at) = r.resolved_at {
            with_result += 1;
            result_times.push((at - r.created) / 60_000);
            if at <= r.result_due {
                result_in_time += 1;
            }
        }
    }
    let solved = rated.iter().filter(|r| r.1 == Some(1)).count() as i64;
    let satisfied = rated
        .iter()
        .filter(|r| matches!(r.2.as_deref(), Some("satisfied" | "basic")))
        .count() as i64;
    Figures {
        cases: rows.len() as i64,
        response_rate: ratio(in_time, due_or_given),
        resolution_rate: ratio(solved, rated.len() as i64),
        satisfaction_rate: ratio(satisfied, rated.len() as i64),
        on_time_rate: ratio(result_in_time, with_result),
        median_first_response_minutes: median(first_times),
        median_result_minutes: median(result_times),
    }
}

/// The figures of a community, computed from its cases and ratings.
pub async fn figures(state: &AppState, community_id: CommunityId) -> AppResult<Figures> {
    let f = facts(state, community_id).await?;
    Ok(compute(
        state.now(),
        &f.rows.iter().collect::<Vec<_>>(),
        &f.rated.iter().collect::<Vec<_>>(),
    ))
}

/// How figures are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// Per calendar month of filing (China Standard Time), newest first.
    Month,
    /// Per grid of the case's building.
    Grid,
    /// Per category.
    Category,
}

impl By {
    /// Every breakdown.
    pub const ALL: [By; 3] = [By::Month, By::Grid, By::Category];
    /// Code.
    pub fn code(self) -> &'static str {
        match self {
            By::Month => "month",
            By::Grid => "grid",
            By::Category => "category",
        }
    }
}

/// Figures for one month, grid or category.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FigureGroup {
    /// `2026-11`, a grid's name (empty: no building given), or a category code.
    pub key: String,
    /// The figures of its cases.
    pub figures: Figures,
}

/// The figures broken down by month, grid or category.
pub async fn breakdown(state: &AppState, community_id: CommunityId, by: By) -> AppResult<Vec<FigureGroup>> {
    let f = facts(state, community_id).await?;
    let (rows, rated) = (&f.rows, &f.rated);
    let key = |r: &FigureRow| match by {
        By::Month => crate::domain::local_date(r.created)
            .format("%Y-%m")
            .to_string(),
        By::Grid => r.grid.clone().unwrap_or_default(),
        By::Category => r.category.clone(),
    };
    let mut groups: std::collections::BTreeMap<
        String,
        (Vec<&FigureRow>, Vec<&(i64, Option<i64>, Option<String>)>),
    > = Default::default();
    let mut key_of = std::collections::HashMap::new();
    for r in rows {
        let k = key(r);
        key_of.insert(r.id, k.clone());
        groups.entry(k).or_default().0.push(r);
    }
    for r in rated {
        if let Some(k) = key_of.get(&r.0) {
            groups.entry(k.clone()).or_default().1.push(r);
        }
    }
    let now = state.now();
    let order: std::collections::HashMap<&str, (u64, GridId)> = rows
        .iter()
        .filter_map(|r| Some((r.grid.as_deref()?, r.grid_order?)))
        .collect();
    let mut out: Vec<FigureGroup> = groups
        .into_iter()
        .map(|(key, (cases, rated))| FigureGroup {
            figures: compute(now, &cases, &rated),
            key,
        })
        .collect();
    match by {
        By::Month => out.reverse(),
        // Grids in their natural order (第一, 第二 … 第十), cases with no grid last.
        By::Grid => out.sort_by_key(|g| {
            (
                g.key.is_empty(),
                order.get(g.key.as_str()).copied().unwrap_or((u64::MAX, GridId::new(i64::MAX))),
            )
        }),
        By::Category => {}
    }
    Ok(out)
}

/// A name's place in natural order: the first number in it, in digits or Chinese numerals
/// (第一网格 1, 第十二网格 12, 3号楼 3); names without one come after, by the caller's tie-break.
pub fn natural_key(name: &str) -> u64 {
    fn digit(c: char) -> Option<u64> {
        match c {
            '0'..='9' => c.to_digit(10).map(u64::from),
            '０'..='９' => Some(c as u64 - '０' as u64),
            '零' | '〇' => Some(0),
            '一' => Some(1),
            '二' | '两' => Some(2),
            '三' => Some(3),
            '四' => Some(4),
            '五' => Some(5),
            '六' => Some(6),
            '七' => Some(7),
            '八' => Some(8),
            '九' => Some(9),
            _ => None,
        }
    }
    let chars: Vec<char> = name.chars().collect();
    let Some(start) = chars
        .iter()
        .position(|c| digit(*c).is_some() || matches!(c, '十' | '百'))
    else {
        return u64::MAX;
    };
    let run: Vec<char> = chars[start..]
        .iter()
        .copied()
        .take_while(|c| digit(*c).is_some() || matches!(c, '十' | '百'))
        .take(12)
        .collect();
    if run.iter().all(|c| c.is_ascii_digit() || ('０'..='９').contains(c)) {
        return run.iter().fold(0u64, |n, c| n.saturating_mul(10).saturating_add(digit(*c).unwrap_or(0)));
    }
    // Chinese numerals: 十二 = 12, 二十 = 20, 二十三 = 23, 一百零五 = 105.
    let (mut total, mut current) = (0u64, 0u64);
    for c in run {
        match c {
            '十' => {
                total += current.max(1) * 10;
                current = 0;
            }
            '百' => {
                total += current.max(1) * 100;
                current = 0;
            }
            c => current = current * 10 + digit(c).unwrap_or(0),
        }
    }
    total + current
}

/// The community's grids as (id, name), in natural order.
pub async fn grids(state: &AppState, community_id: CommunityId) -> AppResult<Vec<(GridId, String)>> {
    Ok(choices(state, community_id).await?.1.clone())
}

/// A breakdown's key as a person reads it: a category's name, 未分网格 for no grid.
pub fn key_label(by: By, key: &str, locale: kernel::i18n::Locale) -> String {
    match by {
        By::Category => kernel::i18n::t(locale, &format!("category.{key}")).to_string(),
        _ if key.is_empty() => kernel::i18n::t(locale, "ledger.no_grid").to_string(),
        _ => key.to_string(),
    }
}

/// A rate as a whole percentage (`87%`), or "" when there is nothing to rate.
pub fn percent(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_default()
}

/// The breakdowns as CSV (one table, a `by` column first, the figures in the order the page
/// shows them), for spreadsheets and reports.
pub fn to_csv(groups: &[(By, Vec<FigureGroup>)], locale: kernel::i18n::Locale) -> String {
    let t = |k: &str| kernel::i18n::t(locale, k).to_string();
    let cell = |v: &str| {
        let v = kernel::spreadsheet::formula_safe(v);
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.into_owned()
        }
    };
    let headers = [
        t("ledger.breakdown"),
        t("ledger.group"),
        t("ledger.cases"),
        t("ledger.response_rate"),
        t("ledger.on_time_rate"),
        t("ledger.resolution_rate"),
        t("ledger.satisfaction_rate"),
        t("ledger.median_first_minutes"),
        t("ledger.median_result_minutes"),
    ];
    let mut out = String::from("\u{feff}");
    out.push_str(&headers.iter().map(|h| cell(h)).collect::<Vec<_>>().join(","));
    out.push('\n');
    let opt_i = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (by, rows) in groups {
        for g in rows {
            let f = &g.figures;
            let line = [
                t(&format!("ledger.by_{}", by.code())),
                key_label(*by, &g.key, locale),
                f.cases.to_string(),
                percent(f.response_rate),
                percent(f.on_time_rate),
                percent(f.resolution_rate),
                percent(f.satisfaction_rate),
                opt_i(f.median_first_response_minutes),
                opt_i(f.median_result_minutes),
            ];
            out.push_str(&line.iter().map(|v| cell(v)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

/// The breakdowns as an XLSX workbook, one sheet each, with headers in `locale`.
pub fn to_xlsx(
    groups: &[(By, Vec<FigureGroup>)],
    locale: kernel::i18n::Locale,
) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let t = |k: &str| kernel::i18n::t(locale, k).to_string();
    let mut book = Workbook::new();
    let pct = Format::new().set_num_format("0.0%");
    let bold = Format::new().set_bold();
    for (by, rows) in groups {
        let sheet = book.add_worksheet();
        sheet
            .set_name(t(&format!("ledger.by_{}", by.code())))
            .map_err(AppError::internal)?;
        let headers = [
            t(&format!("ledger.by_{}", by.code())),
            t("ledger.cases"),
            t("ledger.response_rate"),
            t("ledger.on_time_rate"),
            t("ledger.resolution_rate"),
            t("ledger.satisfaction_rate"),
            t("ledger.median_first_minutes"),
            t("ledger.median_result_minutes"),
        ];
        for (c, h) in headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, h, &bold)
                .map_err(AppError::internal)?;
        }
        for (i, g) in rows.iter().enumerate() {
            let row = (i + 1) as u32;
            let f = &g.figures;
            let key = key_label(*by, &g.key, locale);
            sheet
                .write_string(row, 0, kernel::spreadsheet::formula_safe(&key))
                .map_err(AppError::internal)?;
            sheet
                .write_number(row, 1, f.cases as f64)
                .map_err(AppError::internal)?;
            for (c, v) in [
                f.response_rate,
                f.on_time_rate,
                f.resolution_rate,
                f.satisfaction_rate,
            ]
            .into_iter()
            .enumerate()
            {
                if let Some(v) = v {
                    sheet
                        .write_number_with_format(row, (c + 2) as u16, v, &pct)
                        .map_err(AppError::internal)?;
                }
            }
            for (c, v) in [f.median_first_response_minutes, f.median_result_minutes]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v {
                    sheet
                        .write_number(row, (c + 6) as u16, v as f64)
                        .map_err(AppError::internal)?;
                }
            }
        }
        sheet.set_column_width(0, 16).map_err(AppError::internal)?;
    }
    book.save_to_buffer().map_err(AppError::internal)
}

/// A building on the community plan, with its open cases.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanBuilding {
    /// Building id.
    pub id: BuildingId,
    /// Name.
    pub name: String,
    /// The compound (小区) it stands in.
    pub estate: String,
    /// Position on the plan (0–1000).
    pub x: i64,
    /// Position on the plan (0–1000).
    pub y: i64,
    /// Open cases tied to it.
    pub open_cases: i64,
}

/// The community's buildings that have a place on the plan, with their open cases.
pub async fn plan(state: &AppState, community_id: CommunityId) -> AppResult<Vec<PlanBuilding>> {
    if let Some(p) = state.db.reads.get::<Vec<PlanBuilding>>(PLAN, community_id) {
        return Ok(p.as_ref().clone());
    }
    kernel::row! {
        /// A building's open public cases.
        struct OpenIn {
            building_id: BuildingId,
            open_cases: i64,
        }
    }
    let open: Vec<OpenIn> = sqlx::query_as(
        "SELECT c.building_id, COUNT(*) AS open_cases FROM cases c WHERE c.community_id = $1 AND c.building_id IS NOT NULL AND c.private = 0 \
         AND c.state IN ('new', 'acknowledged', 'in_progress', 'scheduled', 'referred') GROUP BY c.building_id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let plan: Vec<PlanBuilding> = registry::places::buildings_of(&state.db.pool, community_id)
        .await?
        .into_iter()
        .filter_map(|b| {
            Some(PlanBuilding {
                x: b.plan_x?,
                y: b.plan_y?,
                open_cases: open.iter().find(|o| o.building_id == b.id).map_or(0, |o| o.open_cases),
                id: b.id,
                name: b.name,
                estate: b.estate,
            })
        })
        .collect();
    state
        .db
        .reads
        .put(PLAN, community_id, std::sync::Arc::new(plan.clone()));
    Ok(plan)
}

const CHOICES: &str = "cases.ledger_choices";

/// The buildings and grids the ledger can be narrowed to, as (id, name); cached for the read
/// cache's TTL (they change rarely, through the registry).
pub async fn choices(
    state: &AppState,
    community_id: CommunityId,
) -> AppResult<std::sync::Arc<(Vec<(BuildingId, String)>, Vec<(GridId, String)>)>> {
    if let Some(c) = state.db.reads.get(CHOICES, community_id) {
        return Ok(c);
    }
    let buildings: Vec<(BuildingId, String)> =
        registry::store::building_options(state, community_id, None).await?.into_iter().map(|b| (b.id, b.name)).collect();
    let mut grids = registry::places::grid_names(&state.db.pool, community_id).await?;
    grids.sort_by_key(|(id, name)| (natural_key(name), *id));
    let c = std::sync::Arc::new((buildings, grids));
    state.db.reads.put(CHOICES, community_id, c.clone());
    Ok(c)
}

/// What the public ledger can be narrowed to.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// `open` (not yet resolved) or `done` (resolved or closed).
    pub status: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// A building id.
    pub building_id: Option<BuildingId>,
    /// A grid id.
    pub grid_id: Option<GridId>,
    /// A month, `YYYY-MM` (China Standard Time).
    pub month: Option<String>,
}

impl Filter {
    /// Whether nothing narrows the ledger.
    pub fn is_empty(&self) -> bool {
        self.status.as_deref().unwrap_or("").is_empty()
            && self.category.as_deref().unwrap_or("").is_empty()
            && self.building_id.is_none()
            && self.grid_id.is_none()
            && self.month.as_deref().unwrap_or("").is_empty()
    }

    /// The filter as a condition on `cases c`; `grid_buildings` are the buildings of the
    /// filter's grid, as the registry has them. An unknown status or category, or a month that
    /// is not `YYYY-MM`, is a field error.
    fn condition(&self, grid_buildings: &[BuildingId]) -> AppResult<Cond> {
        let mut all = Cond::all();
        match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => {}
            Some("open") => all = all.add(col("c", "state").is_in(["new", "acknowledged", "in_progress", "scheduled", "referred"])),
            Some("done") => all = all.add(col("c", "state").is_in(["resolved", "verified", "closed"])),
            Some(_) => return Err(AppError::field("status", "invalid_choice")),
        }
        if let Some(c) = self.category.as_deref().filter(|s| !s.is_empty()) {
            let c = Category::parse(c).ok_or_else(|| AppError::field("category", "invalid_choice"))?;
            all = all.add(col("c", "category").eq(c.code()));
        }
        if let Some(b) = self.building_id {
            all = all.add(col("c", "building_id").eq(b));
        }
        if self.grid_id.is_some() {
            all = all.add(col("c", "building_id").is_in(grid_buildings.iter().copied()));
        }
        if let Some(m) = self.month.as_deref().filter(|s| !s.is_empty()) {
            // `YYYY-MM` exactly, as the month picker sends it.
            let shaped = m.len() == 7 && m.as_bytes()[4] == b'-' && m.chars().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
            let start = chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| shaped)
                .ok_or_else(|| AppError::field("month", "invalid_date"))?;
            let end = start.checked_add_months(chrono::Months::new(1)).unwrap_or(start);
            let ms = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default() - crate::domain::LOCAL_OFFSET;
            all = all.add(col("c", "created_at").gte(ms(start))).add(col("c", "created_at").lt(ms(end)));
        }
        Ok(all)
    }
}

/// The condition of `filter`, with its grid's buildings looked up in the registry.
async fn condition(state: &AppState, filter: &Filter) -> AppResult<Cond> {
    let grid_buildings = match filter.grid_id {
        Some(g) => registry::places::buildings_of_grid(&state.db.pool, g).await?,
        None => Vec::new(),
    };
    filter.condition(&grid_buildings)
}

/// The cases of a community the public ledger may count: all but those withdrawn.
fn counted(community_id: CommunityId) -> Cond {
    Cond::all().add(col("c", "community_id").eq(community_id)).add(col("c", "state").ne("withdrawn"))
}

/// How many cases matching `filter` are kept off the list (private: care cases and those staff
/// marked so) while counted in the figures (ADR 008).
pub async fn private_count(state: &AppState, community_id: CommunityId, filter: &Filter) -> AppResult<i64> {
    let mut q = Query::select();
    q.expr(Expr::cust("COUNT(*)"))
        .from_as(Alias::new("cases"), Alias::new("c"))
        .cond_where(counted(community_id).add(col("c", "private").eq(1)).add(condition(state, filter).await?));
    let (sql, values) = state.db.build(&q);
    Ok(sqlx::query_scalar_with(&sql, values).fetch_one(&state.db.pool).await?)
}

/// A page of the public ledger, newest first.
pub async fn cases(
    state: &AppState,
    community_id: CommunityId,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<PublicCase>> {
    // The first page as everyone first sees it is cached with the figures.
    let first_page = before.is_none() && filter.is_empty() && limit <= 200;
    let key = community_id.get() * 1000 + limit;
    if first_page {
        if let Some(page) = state.db.reads.get::<Vec<PublicCase>>(FIRST_PAGE, key) {
            return Ok(page.as_ref().clone());
        }
    }
    let page = load_cases(state, community_id, filter, before, limit).await?;
    if first_page {
        state
            .db
            .reads
            .put(FIRST_PAGE, key, std::sync::Arc::new(page.clone()));
    }
    Ok(page)
}

async fn load_cases(
    state: &AppState,
    community_id: CommunityId,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<PublicCase>> {
    load_public(state, community_id, condition(state, filter).await?, before, limit).await
}

/// Public cases matching `only`, newest first.
async fn load_public(state: &AppState, community_id: CommunityId, only: Cond, before: Option<i64>, limit: i64) -> AppResult<Vec<PublicCase>> {
    kernel::row! {
        /// A public case as read.
        struct Listed {
            id: CaseId,
            category: String,
            urgency: String,
            building_id: Option<BuildingId>,
            state: String,
            created_at: i64,
            first_response_at: Option<i64>,
        }
    }
    kernel::row! {
        /// A state a case moved to, and when.
        struct Step {
            case_id: CaseId,
            at: i64,
            state: String,
        }
    }
    let mut q = Query::select();
    for column in ["id", "category", "urgency", "building_id", "state", "created_at", "first_response_at"] {
        q.column((Alias::new("c"), Alias::new(column)));
    }
    q.from_as(Alias::new("cases"), Alias::new("c"))
        .cond_where(counted(community_id).add(col("c", "private").eq(0)).add(col("c", "id").lt(before.unwrap_or(i64::MAX))).add(only))
        .order_by((Alias::new("c"), Alias::new("id")), Order::Desc)
        .limit(u64::try_from(limit + 1).unwrap_or(1));
    let (sql, values) = state.db.build(&q);
    let rows: Vec<Listed> = sqlx::query_as_with(&sql, values).fetch_all(&state.db.pool).await?;
    let ids: Vec<CaseId> = rows.iter().map(|r| r.id).collect();
    let steps: Vec<Step> = sqlx::query_as(&format!(
        "SELECT case_id, at, state FROM case_events WHERE state IS NOT NULL{} ORDER BY id",
        kernel::db::and_in("case_id", Some(&ids))
    ))
    .fetch_all(&state.db.pool)
    .await?;
    // Photos go public once staff have responded (and could redact or hide them).
    let responded: Vec<CaseId> = rows
        .iter()
        .filter(|r| r.first_response_at.is_some())
        .map(|r| r.id)
        .collect();
    let photos = crate::photos::of_cases(state, &responded, true).await?;
    let building_ids = kernel::db::distinct_ids(rows.iter().filter_map(|r| r.building_id));
    let buildings = registry::places::building_names(&state.db.pool, &building_ids).await?;
    let stored = |what: &str, code: String| AppError::internal(format!("stored {what} {code}"));
    rows.into_iter()
        .map(|r| {
            let id = r.id;
            Ok(PublicCase {
                photos: photos
                    .iter()
                    .filter(|(c, _)| *c == id)
                    .map(|(_, p)| p.clone())
                    .collect(),
                id,
                category: Category::parse(&r.category).ok_or_else(|| stored("category", r.category.clone()))?,
                urgency: Urgency::parse(&r.urgency).ok_or_else(|| stored("urgency", r.urgency.clone()))?,
                building: r.building_id.and_then(|b| buildings.get(&b).cloned()),
                state: State::parse(&r.state).ok_or_else(|| stored("state", r.state.clone()))?,
                created_at: r.created_at,
                steps: steps
                    .iter()
                    .filter(|e| e.case_id == id)
                    .map(|e| State::parse(&e.state).map(|s| (e.at, s)).ok_or_else(|| stored("step state", e.state.clone())))
                    .collect::<AppResult<Vec<_>>>()?,
            })
        })
        .collect()
}

/// An open case like a new report, with what the public may know that tells whether it is the
/// same problem: its category, building and unit, state, progress, public photos, the words it
/// shares with the new report, and how many people follow it — never its author or
/// anything of a private case.
#[derive(Debug, Clone, Serialize)]
pub struct Similar {
    /// The case as the public ledger shows it.
    pub case: PublicCase,
    /// The words it shares with the report being written (see [`shared_words`]); empty on its own page.
    pub summary: String,
    /// Its unit (entrance), if it is tied to one.
    pub unit: Option<String>,
    /// In the very unit of the new report.
    pub same_unit: bool,
    /// People following it.
    pub followers: i64,
    /// The reader follows it already.
    pub followed: bool,
}

/// Open cases like a new report, as the public ledger shows them (see [`suggestions`]).
pub async fn similar(
    state: &AppState,
    community_id: CommunityId,
    text: &str,
    building_id: Option<BuildingId>,
) -> AppResult<Vec<PublicCase>> {
    Ok(suggestions(state, community_id, text, building_id, None, None)
        .await?
        .into_iter()
        .map(|s| s.case)
        .collect())
}

/// What a report shares with words someone is typing, to tell whether it is the same problem
/// without showing anything of it they did not write themselves: the runs of its letters (two
/// or more) that also stand in `typed`, in its order, up to four, numbers hidden. Never a name,
/// a room or a sentence of someone else's (the ledger's promise).
pub fn shared_words(typed: &str, other: &str) -> String {
    // Letters only; anything else breaks a run, so a run never joins across punctuation.
    let letters = |t: &str| -> Vec<char> { kernel::query::fold(t).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect() };
    let (typed, other) = (letters(typed), letters(other));
    let stands_in_typed = |run: &[char]| typed.windows(run.len()).any(|w| w == run);
    let mut runs: Vec<String> = Vec::new();
    let mut i = 0;
    while i + 1 < other.len() && runs.len() < 4 {
        let mut end = i;
        while end < other.len() && other[end] != ' ' && stands_in_typed(&other[i..=end]) {
            end += 1;
        }
        if end - i >= 2 {
            let run: String = other[i..end].iter().take(24).map(|c| if c.is_numeric() { '*' } else { *c }).collect();
            if !runs.contains(&run) {
                runs.push(run);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    runs.join(" … ")
}

/// The pairs of neighbouring letters (Chinese characters, digits, letters) of a text.
fn bigrams(text: &str) -> std::collections::BTreeSet<(char, char)> {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// How alike two reports' words are: the share of their letter pairs they have in common
/// (Dice's coefficient, 0 to 1), and how many they share.
fn likeness(a: &str, b: &str) -> (f64, usize) {
    let (a, b) = (bigrams(a), bigrams(b));
    let shared = a.intersection(&b).count();
    if a.is_empty() || b.is_empty() {
        return (0.0, 0);
    }
    (2.0 * shared as f64 / (a.len() + b.len()) as f64, shared)
}

/// Letter pairs two reports must share to be offered as the same problem: one ("坏了") is
/// what any two repairs share.
const SHARED_PAIRS: usize = 2;

/// Open cases like a new report — the same category in the same building (the building of the
/// chosen unit), or anywhere in the community when no place is given, whose words share
/// something with the report's — most alike first, a case in the same unit counted as more
/// alike — so the resident can follow one instead of filing the same thing again.
pub async fn suggestions(
    state: &AppState,
    community_id: CommunityId,
    text: &str,
    building_id: Option<BuildingId>,
    unit_id: Option<UnitId>,
    reader: Option<UserId>,
) -> AppResult<Vec<Similar>> {
    let building_id = match unit_id {
        Some(u) => registry::places::building_of_unit(&state.db.pool, community_id, u).await?.or(building_id),
        None => building_id,
    };
    kernel::row! {
        /// An open case that may be the same problem.
        struct Candidate {
            id: CaseId,
            unit_id: Option<UnitId>,
            author_user_id: Option<UserId>,
            resident_id: Option<ResidentId>,
            anonymous: i64,
            text: String,
        }
    }
    kernel::row! {
        /// Someone following a case.
        struct Follower {
            case_id: CaseId,
            user_id: UserId,
        }
    }
    let category = crate::classify::triage(state, text).0.category;
    let building = if building_id.is_some() { " AND c.building_id = $3" } else { "" };
    let sql = format!(
        "SELECT c.id, c.unit_id, c.author_user_id, c.resident_id, c.anonymous, c.text FROM cases c WHERE c.community_id = $1 AND c.category = $2{building} \
         AND c.private = 0 AND c.state IN ('new', 'acknowledged', 'in_progress', 'scheduled', 'referred') ORDER BY c.id DESC LIMIT 100"
    );
    let mut q = sqlx::query_as::<_, Candidate>(&sql).bind(community_id).bind(category.code());
    if let Some(b) = building_id {
        q = q.bind(b);
    }
    let found = q.fetch_all(&state.db.pool).await?;
    // The reader's own reports (filed by her or for her) are not offered back to her.
    let her_residents: Vec<ResidentId> = match reader {
        Some(u) => registry::people::of_login(&state.db.pool, u).await?.into_iter().map(|r| r.id).collect(),
        None => Vec::new(),
    };
    let own = |r: &Candidate| {
        reader.is_some()
            && (r.author_user_id == reader || (r.anonymous == 0 && r.resident_id.is_some_and(|id| her_residents.contains(&id))))
    };
    let unit_ids = kernel::db::distinct_ids(found.iter().filter_map(|r| r.unit_id));
    let units = registry::places::unit_names(&state.db.pool, &unit_ids).await?;
    // Only cases whose words share something with the report's: the same category in the
    // same building alone is not the same problem.
    let mut rows: Vec<(CaseId, Option<UnitId>, Option<String>, f64, String)> = found
        .iter()
        .filter(|r| !own(r))
        .filter_map(|r| {
            let (score, shared) = likeness(text, &r.text);
            let unit = r.unit_id;
            let same_unit = unit.is_some() && unit == unit_id;
            (shared >= SHARED_PAIRS).then(|| (r.id, unit, unit.and_then(|u| units.get(&u).cloned()), score + if same_unit { 0.25 } else { 0.0 }, shared_words(text, &r.text)))
        })
        .collect();
    // Nor those she follows already.
    if let Some(reader) = reader {
        let ids: Vec<CaseId> = rows.iter().map(|r| r.0).collect();
        let followed: Vec<CaseId> = sqlx::query_scalar(&format!(
            "SELECT case_id FROM case_followers WHERE user_id = $1{}",
            kernel::db::and_in("case_id", Some(&ids))
        ))
        .bind(reader)
        .fetch_all(&state.db.pool)
        .await?;
        rows.retain(|r| !followed.contains(&r.0));
    }
    // The most alike first, then the newest.
    rows.sort_by(|a, b| b.3.total_cmp(&a.3).then(b.0.cmp(&a.0)));
    rows.truncate(5);
    let ids: Vec<CaseId> = rows.iter().map(|r| r.0).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cases = load_public(state, community_id, Cond::all().add(col("c", "id").is_in(ids.iter().copied())), None, 5).await?;
    let follows: Vec<Follower> = sqlx::query_as(&format!(
        "SELECT case_id, user_id FROM case_followers WHERE 1 = 1{}",
        kernel::db::and_in("case_id", Some(&ids))
    ))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, unit, unit_name, _, summary)| {
            let case = cases.iter().find(|c| c.id == id)?.clone();
            let of_case = follows.iter().filter(|f| f.case_id == id);
            Some(Similar {
                case,
                summary,
                unit: unit_name,
                same_unit: unit.is_some() && unit == unit_id,
                followers: of_case.clone().count() as i64,
                followed: reader.is_some() && of_case.clone().any(|f| Some(f.user_id) == reader),
            })
        })
        .collect())
}

/// One case as the public ledger shows it, with the start of its words (numbers hidden), how
/// many follow it and whether `reader` does; not found when the public may not see it.
pub async fn public_case(state: &AppState, id: CaseId, reader: Option<UserId>) -> AppResult<Similar> {
    kernel::row! {
        /// Where a public case is.
        struct Placed {
            community_id: CommunityId,
            unit_id: Option<UnitId>,
        }
    }
    let row: Option<Placed> = sqlx::query_as(
        "SELECT c.community_id, c.unit_id FROM cases c WHERE c.id = $1 AND c.private = 0 AND c.state <> 'withdrawn'",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Placed { community_id, unit_id } = row.ok_or(AppError::NotFound)?;
    let unit = match unit_id {
        Some(u) => registry::places::unit_names(&state.db.pool, &[u]).await?.remove(&u),
        None => None,
    };
    let case = load_public(state, community_id, Cond::all().add(col("c", "id").eq(id)), None, 1)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let follows: Vec<UserId> = sqlx::query_scalar("SELECT user_id FROM case_followers WHERE case_id = $1")
        .bind(id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(Similar {
        case,
        // Read without anything typed: nothing of its words.
        summary: String::new(),
        unit,
        same_unit: false,
        followers: follows.len() as i64,
        followed: reader.is_some_and(|r| follows.contains(&r)),
    })
}

/// The cases a person follows that the public may still see, most recently followed first.
pub async fn followed(state: &AppState, user_id: UserId) -> AppResult<Vec<PublicCase>> {
    let her_residents: Vec<ResidentId> = registry::people::of_login(&state.db.pool, user_id).await?.into_iter().map(|r| r.id).collect();
    kernel::row! {
        /// A followed case and its community.
        struct Followed {
            id: CaseId,
            community_id: CommunityId,
        }
    }
    let rows: Vec<Followed> = sqlx::query_as(&format!(
        "SELECT c.id, c.community_id FROM case_followers f JOIN cases c ON c.id = f.case_id WHERE f.user_id = $1 \
         AND (c.author_user_id IS NULL OR c.author_user_id <> $1) \
         AND NOT (c.anonymous = 0 AND c.resident_id IS NOT NULL AND {}) ORDER BY f.created_at DESC, c.id DESC LIMIT 100",
        kernel::db::in_list("c.resident_id", &her_residents)
    ))
    .bind(user_id)
    .fetch_all(&state.db.pool)
    .await?;
    let communities = kernel::db::distinct_ids(rows.iter().map(|r| r.community_id));
    let mut found = Vec::new();
    for c in communities {
        let ids: Vec<CaseId> = rows.iter().filter(|r| r.community_id == c).map(|r| r.id).collect();
        found.extend(load_public(state, c, Cond::all().add(col("c", "id").is_in(ids.iter().copied())), None, 100).await?);
    }
    Ok(rows
        .iter()
        .filter_map(|r| found.iter().find(|p| p.id == r.id).cloned())
        .collect())
}

/// Follows a case: its progress reaches the follower's inbox. Following one's own report does
/// nothing: its author hears about it already.
pub async fn follow(state: &AppState, user_id: UserId, case_id: CaseId) -> AppResult<()> {
    kernel::row! {
        /// What following a case depends on.
        struct Followable {
            state: String,
            private: i64,
            author_user_id: Option<UserId>,
            resident_id: Option<ResidentId>,
            anonymous: i64,
        }
    }
    // Only what the public ledger shows can be followed.
    let c: Option<Followable> =
        sqlx::query_as("SELECT c.state, c.private, c.author_user_id, c.resident_id, c.anonymous FROM cases c WHERE c.id = $1")
            .bind(case_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let Some(c) = c else { return Err(kernel::AppError::NotFound) };
    // Its author, or the resident it was filed for, hears about it already.
    let subject = match c.resident_id.filter(|_| c.anonymous == 0) {
        Some(resident) => registry::people::contact(&state.db.pool, resident).await?.and_then(|r| r.user_id),
        None => None,
    };
    if c.author_user_id == Some(user_id) || subject == Some(user_id) {
        return Ok(());
    }
    if c.state == "withdrawn" || c.private != 0 {
        return Err(kernel::AppError::NotFound);
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO case_followers (case_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (case_id, user_id) DO NOTHING")
        .bind(case_id)
        .bind(user_id)
        .bind(state.now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Stops following a case (no error when not following it; 404 when there is no such case).
pub async fn unfollow(state: &AppState, user_id: UserId, case_id: CaseId) -> AppResult<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&state.db.pool)
        .await?;
    exists.ok_or(kernel::AppError::NotFound)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM case_followers WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::shared_words;

    #[test]
    fn a_suggestion_shows_only_the_words_in_common() {
        let other = "电梯坏了，我是王小明，电话13912345678，住2单元1102";
        assert_eq!(shared_words("电梯坏了好几天了", other), "电梯坏了");
        assert_eq!(shared_words("2单元的电梯坏了", other), "电梯坏了 … *单元");
        assert_eq!(shared_words("路灯不亮", other), "");
        assert!(!shared_words("王", other).contains('王'), "one letter is not a run");
    }

    proptest::proptest! {
        #[test]
        fn shared_words_never_show_a_letter_not_typed(typed in "\\PC{0,60}", other in "\\PC{0,200}") {
            let shown = shared_words(&typed, &other);
            let folded = kernel::query::fold(&typed);
            for c in shown.chars().filter(|c| c.is_alphanumeric() && *c != '*') {
                proptest::prop_assert!(folded.contains(c), "{} in {:?}", c, shown);
            }
        }
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(super::median(vec![30, 10, 20]), Some(20));
        assert_eq!(super::median(vec![10, 20, 30, 40]), Some(25));
        assert_eq!(super::median(vec![]), None);
        assert_eq!(super::ratio(2, 3), Some(0.667));
        assert_eq!(super::ratio(0, 0), None);
    }

    #[test]
    fn grids_sort_by_their_number_not_their_characters() {
        let mut names = ["第三网格", "第十二网格", "第一网格", "第四网格", "第二网格", "东区", "第10网格"];
        names.sort_by_key(|n| (super::natural_key(n), n.to_string()));
        assert_eq!(names, ["第一网格", "第二网格", "第三网格", "第四网格", "第10网格", "第十二网格", "东区"]);
        assert_eq!(super::natural_key("二十三"), 23);
        assert_eq!(super::natural_key("一百零五号"), 105);
        assert_eq!(super::percent(Some(0.867)), "87%");
        assert_eq!(super::percent(None), "");
    }

    #[test]
    fn the_csv_speaks_the_readers_language() {
        kernel::i18n::install(&[("cases", crate::CATALOGUE)]).unwrap();
        use kernel::i18n::Locale;
        let groups = vec![(
            super::By::Grid,
            vec![
                super::FigureGroup { key: "第一网格".into(), figures: super::Figures { cases: 2, satisfaction_rate: Some(0.5), ..Default::default() } },
                super::FigureGroup { key: String::new(), figures: super::Figures { cases: 1, ..Default::default() } },
            ],
        )];
        let zh = super::to_csv(&groups, Locale::ZhCn);
        assert!(zh.starts_with("\u{feff}分项统计,"), "{zh}");
        assert!(zh.contains("按网格,第一网格,2,,,,50%,"), "{zh}");
        assert!(zh.contains("按网格,未分网格,1,"), "{zh}");
        let en = super::to_csv(&groups, Locale::En);
        assert!(en.contains("Grid,No grid,1,") && !en.contains("satisfaction_rate"), "{en}");
    }
}
