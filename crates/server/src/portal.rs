//! The home page — one section for each role the viewer holds, with what it can do today —
//! the console navigation, and the personal-data download, which span every capability.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::auth::{Role, User};
use kernel::manifest::{Door, Tile};
use kernel::web::{render, PageCtx};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/me/data", get(data_page))
        .route("/me/data.json", get(download_page_data))
        .route("/api/v1/me/data", get(my_data))
}

/// The roles with a part of the home page, in the order the parts are shown; each capability
/// adds its links to them (its manifest's `doors`; the resident's are its `tiles`).
const ROLES: &[&str] = kernel::manifest::HOME_ROLES;

/// A role's part of the home page as shown: its links the viewer may open.
struct Section {
    role: &'static str,
    doors: Vec<(&'static str, &'static str)>,
}

impl Section {
    fn title_key(&self) -> String {
        format!("home.role.{}", self.role)
    }
    fn can_key(&self) -> String {
        format!("home.can.{}", self.role)
    }
    fn coming_key(&self) -> String {
        format!("home.coming.{}", self.role)
    }
}

/// The sections for the viewer: one per role held (staff and admin share one), a visitor's
/// when nobody is logged in, the resident's for a login with no role yet.
fn sections(ctx: &PageCtx, manifests: &[kernel::manifest::Manifest]) -> Vec<Section> {
    let roles: Vec<&'static str> = match &ctx.user {
        None => vec!["visitor"],
        Some(u) => {
            let mut held: Vec<&'static str> = Role::ALL
                .iter()
                .filter(|r| u.memberships.iter().any(|m| m.role == **r))
                .map(|r| if *r == Role::Admin { "staff" } else { r.code() })
                .collect();
            if u.superadmin {
                held.push("staff");
            }
            held.dedup();
            if held.is_empty() {
                held.push("resident");
            }
            held.sort_by_key(|r| ROLES.iter().position(|h| h == r));
            held.dedup();
            held
        }
    };
    roles
        .into_iter()
        .filter(|r| ROLES.contains(r))
        .map(|role| Section {
            role,
            doors: if role == "resident" {
                manifests.iter().flat_map(|m| m.tiles.iter().map(|t: &Tile| (t.href, t.label))).collect()
            } else {
                let mut doors: Vec<&Door> = manifests
                    .iter()
                    .flat_map(|m| m.doors.iter())
                    .filter(|d| d.role == role && d.permission.is_none_or(|p| ctx.may(p)))
                    .collect();
                doors.sort_by_key(|d| d.rank);
                doors.into_iter().map(|d| (d.href, d.label)).collect()
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    ctx: PageCtx,
    sections: Vec<Section>,
    unread: i64,
    /// Back from a report that was filed already (an anonymous one's private link was shown once).
    filed: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
struct HomeQuery {
    filed: Option<String>,
}

async fn home(State(state): State<AppState>, ctx: PageCtx, kernel::web::ApiQuery(q): kernel::web::ApiQuery<HomeQuery>) -> AppResult<Response> {
    let unread = match ctx.user.as_ref().and_then(|u| u.user_id) {
        Some(uid) => notify::service::unread_count(&state, uid).await?,
        None => 0,
    };
    let sections = sections(&ctx, &state.manifests);
    Ok(render(&Home { ctx, sections, unread, filed: q.filed.is_some() }))
}

/// Everything the platform holds about me, as JSON.
#[utoipa::path(get, path = "/api/v1/me/data", tag = "accounts",
    responses((status = 200, description = "All personal data, grouped by capability", body = serde_json::Value),
              (status = 401, body = kernel::web::ErrorBody)))]
async fn my_data(State(state): State<AppState>, user: User) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(crate::app::personal_data(&state, user.person()?).await?))
}

/// One entry of the readable data page: a label in words and its value as text.
struct DataRow {
    label: String,
    value: String,
}

/// One capability's part of the readable data page.
struct DataSection {
    title: String,
    rows: Vec<DataRow>,
    /// Lists (my reports, my messages) as one line per item.
    items: Vec<(String, Vec<String>)>,
}

/// A data key in words (`data.field.<key>`). Machine ids (`id`, `…_id`) are left to the JSON
/// download; any other key has words in the catalogue, and one without shows as its raw key
/// (and is logged) so the gap is seen rather than the value silently hidden.
fn label(ctx: &PageCtx, key: &str) -> Option<String> {
    if machine_key(key) {
        return None;
    }
    Some(ctx.tr.t(&format!("data.field.{key}")).to_string())
}

/// Keys that are references between records (ids, a community's address slug), not
/// information a person reads.
fn machine_key(key: &str) -> bool {
    key == "id" || key == "slug" || key.ends_with("_id") || key.ends_with("_ids")
}

/// Fields of one item joined into a line: `；` between them, except after a field that ends a
/// sentence (`…评价。`), which already closes it.
fn join_fields(parts: &[String]) -> String {
    let mut line = String::new();
    for p in parts {
        if !line.is_empty() {
            match line.chars().last() {
                Some('。' | '！' | '？') => {}
                Some('.' | '!' | '?') => line.push(' '),
                _ => line.push('；'),
            }
        }
        line.push_str(p);
    }
    line
}

/// The catalogue prefix of the words for a key's stored codes.
fn code_words(key: &str) -> Option<&'static str> {
    Some(match key {
        "role" => "role",
        "state" => "case_state",
        "category" => "category",
        "urgency" => "urgency",
        "source" => "source",
        "tags" => "tag",
        "gender" => "data.gender",
        "locale" => "data.locale",
        "status" => "family.status",
        "consent" => "family.how",
        "first_response_clock" | "result_clock" => "clock",
        _ => return None,
    })
}

/// A value in words: codes translated, instants in local time, yes/no, lists joined.
fn value_words(ctx: &PageCtx, key: &str, v: &serde_json::Value) -> String {
    let none = || ctx.tr.t("data.none").to_string();
    match v {
        serde_json::Value::Null => none(),
        serde_json::Value::Bool(b) => ctx.tr.t(if *b { "common.yes" } else { "common.no" }).to_string(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(ms) if key.ends_with("_at") || key.ends_with("_due") || key.ends_with("_since") => kernel::clock::format_local(ms),
            _ => n.to_string(),
        },
        serde_json::Value::String(s) if s.is_empty() => none(),
        serde_json::Value::String(s) => match code_words(key) {
            Some(prefix) => ctx.tr.t(&format!("{prefix}.{s}")).to_string(),
            // A family binding's relation is a code; a household's, and older bindings', free text.
            None if key == "relation" => registry::family::relation_words(ctx.tr.0, s),
            None => s.clone(),
        },
        serde_json::Value::Array(a) if a.is_empty() => none(),
        serde_json::Value::Array(a) => ctx.tr.list(&a.iter().map(|x| if x.is_object() { item_words(ctx, x) } else { value_words(ctx, key, x) }).collect::<Vec<_>>()),
        serde_json::Value::Object(_) => item_words(ctx, v),
    }
}

/// One item (a report, a message, a membership) as a line of its fields that have words.
fn item_words(ctx: &PageCtx, v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(o) => join_fields(&o
            .iter()
            .filter(|(_, x)| !x.is_null() && !x.as_array().is_some_and(|a| a.iter().any(|i| i.is_object())))
            .filter_map(|(k, x)| label(ctx, k).map(|l| format!("{l}：{}", value_words(ctx, k, x))))
            .collect::<Vec<_>>()),
        None => value_words(ctx, "", v),
    }
}

fn section(ctx: &PageCtx, name: &str, v: &serde_json::Value) -> DataSection {
    let title = label(ctx, &format!("section_{name}")).unwrap_or_else(|| name.to_string());
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let add = |key: &str, x: &serde_json::Value, rows: &mut Vec<DataRow>, items: &mut Vec<(String, Vec<String>)>| {
        let Some(l) = label(ctx, key) else { return };
        match x {
            serde_json::Value::Array(list) if list.iter().any(|i| i.is_object()) => items.push((l, list.iter().map(|i| item_words(ctx, i)).collect())),
            serde_json::Value::Object(inner) => {
                for (ik, iv) in inner {
                    if let Some(il) = label(ctx, ik) {
                        rows.push(DataRow { label: format!("{l} · {il}"), value: value_words(ctx, ik, iv) });
                    }
                }
            }
            _ => rows.push(DataRow { label: l, value: value_words(ctx, key, x) }),
        }
    };
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                add(k, x, &mut rows, &mut items);
            }
        }
        serde_json::Value::Array(list) => items.push((title.clone(), list.iter().map(|i| item_words(ctx, i)).collect())),
        _ => {}
    }
    DataSection { title, rows, items }
}

#[derive(Template)]
#[template(path = "portal/data.html")]
struct DataPage {
    ctx: PageCtx,
    sections: Vec<DataSection>,
}

/// What the platform holds about me, readable, section by capability, with the JSON download.
async fn data_page(State(state): State<AppState>, ctx: PageCtx, user: User) -> AppResult<Response> {
    let data = crate::app::personal_data(&state, user.person()?).await?;
    let sections = data.as_object().map(|o| o.iter().map(|(k, v)| section(&ctx, k, v)).collect()).unwrap_or_default();
    Ok(render(&DataPage { ctx, sections }))
}

async fn download_page_data(State(state): State<AppState>, user: User) -> AppResult<Response> {
    let data = crate::app::personal_data(&state, user.person()?).await?;
    let body = serde_json::to_string_pretty(&data).map_err(kernel::AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"linli-my-data.json\""),
        ],
        body,
    )
        .into_response())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(my_data))]
pub(crate) struct Doc;
