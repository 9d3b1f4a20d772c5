//! How a community runs its cases, set by its admins: service levels per urgency (optionally per
//! category, optionally counted in working hours), the working-hours calendar, who is on duty
//! each weekday (the second step of the escalation chain), and who gets which cases by
//! category and grid.

use kernel::community::CommunityId;
use kernel::auth::{Principal, Role, UserId};
use registry::{BuildingId, GridId};
use crate::domain::{default_sla, Calendar, Sla, CASES_CONFIGURE};
use kernel::clock::MINUTE;
use kernel::error::{AppError, AppResult, FieldError};
use kernel::state::AppState;
use serde::{Deserialize, Serialize};
use triage::{Category, Urgency};

/// A service level as admins set it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaPolicy {
    /// `critical`, `urgent`, `normal` or `low`.
    pub urgency: Urgency,
    /// A category this level is for; none means every category.
    pub category: Option<Category>,
    /// Minutes allowed for the first response.
    pub first_response_minutes: i64,
    /// Minutes allowed for the result.
    pub result_minutes: i64,
    /// Count only working hours (per the calendar) instead of clock time.
    #[serde(default)]
    pub working_hours: bool,
}

/// A window of working time on a weekday.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkWindow {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// Start, minutes after midnight (China Standard Time).
    pub start_minute: i64,
    /// End, minutes after midnight.
    pub end_minute: i64,
}

/// A date that departs from the weekly pattern: a public holiday, or a weekend working day (调休).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Whether it is a working day.
    pub working: bool,
}

/// Who is on duty on a weekday.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Duty {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// Staff member's user id.
    pub user_id: UserId,
}

/// Who gets new cases of a category in a grid.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Route {
    /// The category; none means every category.
    pub category: Option<Category>,
    /// The grid; none means every grid.
    pub grid_id: Option<GridId>,
    /// The user who is assigned.
    pub user_id: UserId,
}

/// Everything admins set about cases, read and replaced as one document (every list is
/// required, so that a malformed document cannot wipe the settings).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Service levels; urgencies without one use the defaults.
    pub sla: Vec<SlaPolicy>,
    /// Working hours; empty means Monday to Friday, 8:30–12:00 and 14:00–17:30.
    pub work_hours: Vec<WorkWindow>,
    /// Holidays and weekend working days.
    pub calendar_days: Vec<CalendarDay>,
    /// The duty roster; a weekday without anyone on duty falls back to every staff member.
    pub duty_roster: Vec<Duty>,
    /// Assignment routes; without a match, cases go to the grid worker of the building's grid.
    pub routes: Vec<Route>,
}

/// The unit a service level is entered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days.
    Days,
}

impl SpanUnit {
    /// Every unit, smallest first.
    pub const ALL: [SpanUnit; 3] = [SpanUnit::Minutes, SpanUnit::Hours, SpanUnit::Days];
    /// Code, as a form sends it.
    pub fn code(self) -> &'static str {
        match self {
            SpanUnit::Minutes => "minutes",
            SpanUnit::Hours => "hours",
            SpanUnit::Days => "days",
        }
    }
    /// Minutes in one of it.
    pub fn minutes(self) -> i64 {
        match self {
            SpanUnit::Minutes => 1,
            SpanUnit::Hours => 60,
            SpanUnit::Days => 60 * 24,
        }
    }
    /// Reads a code.
    pub fn parse(s: &str) -> Option<SpanUnit> {
        SpanUnit::ALL.into_iter().find(|u| u.code() == s.trim())
    }
}

/// The longest service level: 90 days.
pub const MAX_SPAN_MINUTES: i64 = 60 * 24 * 90;

/// Reads a service level entered as a number and a unit (`1.5` hours, `3` days) into whole
/// minutes; `field` names the input in the error. Full-width digits are read too.
pub fn parse_span(field: &str, number: &str, unit: &str) -> Result<i64, FieldError> {
    let unit = SpanUnit::parse(unit).ok_or_else(|| FieldError::new(field, "invalid_choice"))?;
    let number: String = number
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' | '。' => '.',
            c => c,
        })
        .collect();
    if number.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    let range = || {
        FieldError::new(field, "sla_span_range")
            .arg("max", (MAX_SPAN_MINUTES / SpanUnit::Days.minutes()).to_string())
    };
    // At most two decimals, so that what is stored is what was meant.
    let (whole, frac) = number.split_once('.').unwrap_or((&number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 9
    {
        return Err(FieldError::new(field, "sla_span_number"));
    }
    let hundredths = whole.parse::<i64>().unwrap_or(0) * 100
        + format!("{frac:0<2}").parse::<i64>().unwrap_or(0);
    let minutes = (hundredths * unit.minutes() + 50) / 100;
    if !(1..=MAX_SPAN_MINUTES).contains(&minutes) {
        return Err(range());
    }
    Ok(minutes)
}

/// A service level shown in the largest unit it is a whole number of.
pub fn span_display(minutes: i64) -> (i64, SpanUnit) {
    let unit = SpanUnit::ALL
        .into_iter()
        .rev()
        .find(|u| minutes % u.minutes() == 0)
        .unwrap_or(SpanUnit::Minutes);
    (minutes / unit.minutes(), unit)
}

/// The service level for a new case: a policy for its urgency and category, else for its
/// urgency, else the default.
pub async fn sla_for(
    state: &AppState,
    community_id: CommunityId,
    urgency: Urgency,
    category: Category,
) -> AppResult<Sla> {
    kernel::row! {
        /// A service level that may apply to a new case.
        struct Level {
            category: String,
            first_response_minutes: i64,
            result_minutes: i64,
            working_hours: i64,
        }
    }
    let rows: Vec<Level> = sqlx::query_as(
        "SELECT category, first_response_minutes, result_minutes, working_hours FROM sla_policies \
         WHERE community_id = $1 AND urgency = $2 AND category IN ($3, '')",
    )
    .bind(community_id)
    .bind(urgency.code())
    .bind(category.code())
    .fetch_all(&state.db.pool)
    .await?;
    let best = rows
        .iter()
        .max_by_key(|r| !r.category.is_empty());
    Ok(match best {
        Some(r) => Sla {
            first_response_ms: r.first_response_minutes * MINUTE,
            result_ms: r.result_minutes * MINUTE,
            working_hours: r.working_hours != 0,
        },
        None => default_sla(urgency),
    })
}

kernel::row! {
    /// A span of working hours on a weekday, as stored.
    struct WindowRow {
        weekday: i64,
        start_minute: i64,
        end_minute: i64,
    }
}

kernel::row! {
    /// A day the calendar makes a working day or a holiday, as stored.
    struct DayRow {
        day: String,
        working: i64,
    }
}

kernel::row! {
    /// Someone on the duty roster on a weekday, as stored.
    struct DutyRow {
        weekday: i64,
        user_id: UserId,
    }
}

kernel::row! {
    /// A routing rule as stored: an empty category and grid 0 mean "any".
    struct StoredRoute {
        category: String,
        grid_id: i64,
        user_id: UserId,
    }
}

/// The community's working-hours calendar.
pub async fn calendar(state: &AppState, community_id: CommunityId) -> AppResult<Calendar> {
    let windows: Vec<(i64, i64, i64)> = sqlx::query_as::<_, WindowRow>("SELECT weekday, start_minute, end_minute FROM work_hours WHERE community_id = $1 ORDER BY weekday, start_minute")
        .bind(community_id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        .map(|w| (w.weekday, w.start_minute, w.end_minute))
        .collect();
    let days: Vec<DayRow> =
        sqlx::query_as("SELECT day, working FROM calendar_days WHERE community_id = $1")
            .bind(community_id)
            .fetch_all(&state.db.pool)
            .await?;
    let mut cal = if windows.is_empty() {
        Calendar::standard()
    } else {
        Calendar {
            windows,
            ..Calendar::default()
        }
    };
    cal.days = days.into_iter().map(|d| (d.day, d.working != 0)).collect();
    Ok(cal)
}

/// The due times of a clock of `span` started at `start` under `sla`.
pub async fn due(
    state: &AppState,
    community_id: CommunityId,
    start: i64,
    span: i64,
    working_hours: bool,
) -> AppResult<i64> {
    if !working_hours {
        return Ok(start + span);
    }
    Ok(calendar(state, community_id).await?.add(start, span))
}

/// The settings of a community (admins and staff may read them).
pub async fn settings(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Settings> {
    p.require(community_id, &crate::domain::CASES_HANDLE)?;
    kernel::row! {
        /// A service level as stored.
        struct Level {
            urgency: String,
            category: String,
            first_response_minutes: i64,
            result_minutes: i64,
            working_hours: i64,
        }
    }
    let sla = sqlx::query_as::<_, Level>("SELECT urgency, category, first_response_minutes, result_minutes, working_hours FROM sla_policies WHERE community_id = $1 ORDER BY id")
        .bind(community_id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        .map(|r| {
            // An empty category is the level for every category; any other must read.
            let category = match r.category.as_str() {
                "" => None,
                code => Some(Category::parse(code).ok_or_else(|| AppError::internal(format!("stored category {code}")))?),
            };
            Ok(SlaPolicy {
                urgency: Urgency::parse(&r.urgency).ok_or_else(|| AppError::internal(format!("stored urgency {}", r.urgency)))?,
                category,
                first_response_minutes: r.first_response_minutes,
                result_minutes: r.result_minutes,
                working_hours: r.working_hours != 0,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let work_hours = sqlx::query_as::<_, WindowRow>("SELECT weekday, start_minute, end_minute FROM work_hours WHERE community_id = $1 ORDER BY weekday, start_minute")
        .bind(community_id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        .map(|w| WorkWindow { weekday: w.weekday, start_minute: w.start_minute, end_minute: w.end_minute })
        .collect();
    let calendar_days = sqlx::query_as::<_, DayRow>(
        "SELECT day, working FROM calendar_days WHERE community_id = $1 ORDER BY day",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .map(|d| CalendarDay {
        day: d.day,
        working: d.working != 0,
    })
    .collect();
    let duty_roster = sqlx::query_as::<_, DutyRow>("SELECT weekday, user_id FROM duty_roster WHERE community_id = $1 ORDER BY weekday, user_id")
        .bind(community_id)
        .fetch_all(&state.db.pool)
        .await?
        .into_iter()
        .map(|d| Duty { weekday: d.weekday, user_id: d.user_id })
        .collect();
    let routes = sqlx::query_as::<_, StoredRoute>(
        "SELECT category, grid_id, user_id FROM case_routes WHERE community_id = $1 ORDER BY id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Route {
            // No category is stored as "": the route applies to every category. Any other code
            // that does not read is an error, never taken as "every category".
            category: match r.category.as_str() {
                "" => None,
                code => Some(Category::parse(code).ok_or_else(|| AppError::internal(format!("stored route category {code}")))?),
            },
            // No grid is stored as 0: the route applies in every grid.
            grid_id: (r.grid_id != 0).then_some(GridId::new(r.grid_id)),
            user_id: r.user_id,
        })
    })
    .collect::<AppResult<_>>()?;
    Ok(Settings {
        sla,
        work_hours,
        calendar_days,
        duty_roster,
        routes,
    })
}

fn check(s: &Settings) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, p) in s.sla.iter().enumerate() {
        if !(1..=60 * 24 * 90).contains(&p.first_response_minutes)
            || !(1..=60 * 24 * 90).contains(&p.result_minutes)
        {
            errors.push(FieldError::new(format!("sla[{i}]"), "out_of_range"));
        } else if p.result_minutes < p.first_response_minutes {
            errors.push(FieldError::new(
                format!("sla[{i}].result_minutes"),
                "sla_result_before_response",
            ));
        }
        if s.sla[..i]
            .iter()
            .any(|q| q.urgency == p.urgency && q.category == p.category)
        {
            errors.push(FieldError::new(format!("sla[{i}]"), "duplicate"));
        }
    }
    for (i, w) in s.work_hours.iter().enumerate() {
        if !(1..=7).contains(&w.weekday)
            || !(0..=1440).contains(&w.start_minute)
            || !(0..=1440).contains(&w.end_minute)
            || w.start_minute >= w.end_minute
        {
            errors.push(FieldError::new(format!("work_hours[{i}]"), "out_of_range"));
        } else if s.work_hours[..i].iter().any(|o| {
            o.weekday == w.weekday && o.start_minute < w.end_minute && w.start_minute < o.end_minute
        }) {
            // Overlapping windows would count the same minutes twice.
            errors.push(FieldError::new(format!("work_hours[{i}]"), "duplicate"));
        }
    }
    for (i, d) in s.calendar_days.iter().enumerate() {
        if chrono::NaiveDate::parse_from_str(&d.day, "%Y-%m-%d").is_err() {
            errors.push(FieldError::new(
                format!("calendar_days[{i}].day"),
                "invalid_date",
            ));
        } else if s.calendar_days[..i].iter().any(|o| o.day == d.day) {
            errors.push(FieldError::new(
                format!("calendar_days[{i}].day"),
                "duplicate",
            ));
        }
    }
    for (i, d) in s.duty_roster.iter().enumerate() {
        if !(1..=7).contains(&d.weekday) {
            errors.push(FieldError::new(
                format!("duty_roster[{i}].weekday"),
                "out_of_range",
            ));
        }
    }
    errors
}

/// Replaces the settings of a community (admins only), in one transaction, with an audit entry.
pub async fn replace(
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    s: &Settings,
) -> AppResult<Settings> {
    p.require(community_id, &CASES_CONFIGURE)?;
    let errors = check(s);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // The people named must be on the community's staff side.
    let staff: Vec<UserId> = kernel::people::with_roles(&state.db.pool, community_id, HANDLERS).await?.into_iter().map(|(id, _)| id).collect();
    for (i, d) in s.duty_roster.iter().enumerate() {
        if !staff.contains(&d.user_id) {
            return Err(AppError::field(
                format!("duty_roster[{i}].user_id"),
                "not_found_ref",
            ));
        }
    }
    let grids: Vec<GridId> = registry::places::grid_names(&state.db.pool, community_id).await?.into_iter().map(|(id, _)| id).collect();
    for (i, r) in s.routes.iter().enumerate() {
        if !staff.contains(&r.user_id) {
            return Err(AppError::field(
                format!("routes[{i}].user_id"),
                "not_found_ref",
            ));
        }
        if r.grid_id.is_some_and(|g| !grids.contains(&g)) {
            return Err(AppError::field(
                format!("routes[{i}].grid_id"),
                "not_found_ref",
            ));
        }
        if s.routes[..i]
            .iter()
            .any(|o| o.category == r.category && o.grid_id == r.grid_id)
        {
            return Err(AppError::field(format!("routes[{i}]"), "duplicate"));
        }
    }
    let before = settings(state, p, community_id).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    for table in [
        "sla_policies",
        "work_hours",
        "calendar_days",
        "duty_roster",
        "case_routes",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE community_id = $1"))
            .bind(community_id)
            .execute(&mut *tx)
            .await?;
    }
    for x in &s.sla {
        sqlx::query(
            "INSERT INTO sla_policies (community_id, urgency, category, first_response_minutes, result_minutes, working_hours, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(community_id)
        .bind(x.urgency.code())
        .bind(x.category.map(|c| c.code()).unwrap_or(""))
        .bind(x.first_response_minutes)
        .bind(x.result_minutes)
        .bind(x.working_hours as i64)
        .bind(p.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for w in &s.work_hours {
        sqlx::query("INSERT INTO work_hours (community_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(community_id)
            .bind(w.weekday)
            .bind(w.start_minute)
            .bind(w.end_minute)
            .execute(&mut *tx)
            .await?;
    }
    for d in &s.calendar_days {
        sqlx::query("INSERT INTO calendar_days (community_id, day, working) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(community_id)
            .bind(&d.day)
            .bind(d.working as i64)
            .execute(&mut *tx)
            .await?;
    }
    for d in &s.duty_roster {
        sqlx::query("INSERT INTO duty_roster (community_id, weekday, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(community_id)
            .bind(d.weekday)
            .bind(d.user_id)
            .execute(&mut *tx)
            .await?;
    }
    for r in &s.routes {
        sqlx::query("INSERT INTO case_routes (community_id, category, grid_id, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(community_id)
            .bind(r.category.map(|c| c.code()).unwrap_or(""))
            .bind(r.grid_id.map_or(0, GridId::get))
            .bind(r.user_id)
            .execute(&mut *tx)
            .await?;
    }
    let old = serde_json::to_value(&before).unwrap_or_default();
    let new = serde_json::to_value(s).unwrap_or_default();
    kernel::audit::record_change(
        &mut tx,
        now,
        Some(p),
        Some(community_id),
        "case_settings",
        community_id,
        "update",
        &kernel::audit::diff(&old, &new),
    )
    .await?;
    tx.commit().await?;
    settings(state, p, community_id).await
}

/// Who a new case goes to: a route for its category and grid, then for its category in any
/// grid, then for any category in its grid, then the grid worker of the building's grid.
pub async fn route(
    state: &AppState,
    community_id: CommunityId,
    category: Category,
    building_id: Option<BuildingId>,
) -> AppResult<Option<UserId>> {
    let grid: Option<GridId> = match building_id {
        Some(b) => registry::places::grid_of_building(&state.db.pool, b).await?,
        None => None,
    };
    kernel::row! {
        /// A route that may apply to a new case.
        struct RouteRow {
            category: String,
            grid_id: i64,
            user_id: UserId,
        }
    }
    let rows: Vec<RouteRow> = sqlx::query_as("SELECT category, grid_id, user_id FROM case_routes WHERE community_id = $1 AND category IN ($2, '') AND grid_id IN ($3, 0)")
        .bind(community_id)
        .bind(category.code())
        .bind(grid.map_or(0, GridId::get))
        .fetch_all(&state.db.pool)
        .await?;
    let rank = |r: &RouteRow| {
        let specific_category = !r.category.is_empty();
        let specific_grid = r.grid_id != 0;
        (specific_category as u8) * 2 + specific_grid as u8
    };
    if let Some(r) = rows.iter().max_by_key(|r| rank(r)) {
        return Ok(Some(r.user_id));
    }
    let Some(grid) = grid else { return Ok(None) };
    registry::places::first_grid_worker(&state.db.pool, grid).await
}

/// The staff on duty on the weekday of `at` (China Standard Time); without a roster for that
/// day, every staff member.
pub async fn on_duty(
    tx: &mut kernel::db::WriteTx,
    community_id: CommunityId,
    at: i64,
) -> AppResult<Vec<UserId>> {
    let weekday = crate::domain::local_weekday(at);
    let ids: Vec<UserId> = sqlx::query_scalar(
        "SELECT user_id FROM duty_roster WHERE community_id = $1 AND weekday = $2 ORDER BY user_id",
    )
    .bind(community_id)
    .bind(weekday)
    .fetch_all(&mut **tx)
    .await?;
    if !ids.is_empty() {
        return Ok(ids);
    }
    all_staff(tx, community_id).await
}

/// The roles that handle cases: who a case can be assigned to or a duty given to.
pub const HANDLERS: &[Role] = &[Role::Staff, Role::Admin, Role::GridWorker];

/// The staff on duty (as [`on_duty`]) who can open a case in these whereabouts — a grid worker
/// on duty handles the cases of their own grids — and, when none of them can, every staff
/// member: an alert never goes only to people its link does not open for.
pub async fn on_duty_for(
    state: &kernel::state::AppState,
    tx: &mut kernel::db::WriteTx,
    community_id: CommunityId,
    at: i64,
    whereabouts: crate::reach::Whereabouts,
) -> AppResult<Vec<UserId>> {
    let mut told = Vec::new();
    for user in on_duty(tx, community_id, at).await? {
        if let Some(p) = kernel::auth::load_user(state, user).await? {
            if crate::reach::covers(state, &p, community_id, whereabouts).await? {
                told.push(user);
            }
        }
    }
    if told.is_empty() {
        told = all_staff(tx, community_id).await?;
    }
    Ok(told)
}

/// Every staff member of the community.
pub async fn all_staff(tx: &mut kernel::db::WriteTx, community_id: CommunityId) -> AppResult<Vec<UserId>> {
    Ok(kernel::people::with_roles(&mut **tx, community_id, &[Role::Staff]).await?.into_iter().map(|(id, _)| id).collect())
}

/// The community's head: its admins.
pub async fn heads(tx: &mut kernel::db::WriteTx, community_id: CommunityId) -> AppResult<Vec<UserId>> {
    Ok(kernel::people::with_roles(&mut **tx, community_id, &[Role::Admin]).await?.into_iter().map(|(id, _)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn service_levels_are_entered_in_minutes_hours_or_days() {
        assert_eq!(parse_span("f", "3", "days"), Ok(4320));
        assert_eq!(parse_span("f", "1.5", "hours"), Ok(90));
        assert_eq!(parse_span("f", "１５", "minutes"), Ok(15));
        assert_eq!(parse_span("f", " 2 ", "hours"), Ok(120));
        assert_eq!(parse_span("f", "", "hours").unwrap_err().code, "required");
        assert_eq!(parse_span("f", "0", "hours").unwrap_err().code, "sla_span_range");
        assert_eq!(parse_span("f", "91", "days").unwrap_err().code, "sla_span_range");
        assert_eq!(parse_span("f", "-1", "hours").unwrap_err().code, "sla_span_number");
        assert_eq!(parse_span("f", "1.234", "hours").unwrap_err().code, "sla_span_number");
        assert_eq!(parse_span("f", "2", "weeks").unwrap_err().code, "invalid_choice");
        assert_eq!(span_display(4320), (3, SpanUnit::Days));
        assert_eq!(span_display(120), (2, SpanUnit::Hours));
        assert_eq!(span_display(15), (15, SpanUnit::Minutes));
    }

    proptest! {
        /// Whatever is typed, the answer is whole minutes in range or a translated field error.
        #[test]
        fn any_input_is_minutes_in_range_or_a_translated_error(
            number in prop_oneof![
                "\\PC{0,40}",
                "[0-9０-９]{0,12}([.．][0-9]{0,4})?",
                "[\\u{4e00}-\\u{9fff}，。！？emoji😀\\u{0301}\\u{0000}-\\u{001f}]{0,20}",
            ],
            unit in prop_oneof![Just("minutes".to_string()), Just("hours".to_string()), Just("days".to_string()), "\\PC{0,10}"],
        ) {
            kernel::i18n::install(&[("cases", crate::CATALOGUE)]).unwrap();
            match parse_span("first_normal", &number, &unit) {
                Ok(m) => prop_assert!((1..=MAX_SPAN_MINUTES).contains(&m)),
                Err(e) => {
                    prop_assert_eq!(e.field.as_str(), "first_normal");
                    for locale in [kernel::i18n::Locale::ZhCn, kernel::i18n::Locale::En] {
                        let key = format!("error.{}", e.code);
                        prop_assert!(kernel::i18n::has(&key), "{}", key);
                        let message = e.message(locale);
                        prop_assert!(!message.contains('{'), "{}", message);
                    }
                }
            }
            // What is shown reads back as the same minutes.
            if let Ok(m) = parse_span("f", &number, &unit) {
                let (n, u) = span_display(m);
                prop_assert_eq!(parse_span("f", &n.to_string(), u.code()), Ok(m));
            }
        }
    }
}
