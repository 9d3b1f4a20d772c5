//! The home page — one section for each role the viewer holds, with what it can do today —
//! the console navigation, and the personal-data download, which span every capability.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::auth::{Permission, Role, User};
use kernel::manifest::Tile;
use kernel::web::{render, NavEntry, PageCtx};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    kernel::web::set_console_nav(console_nav());
    Router::new()
        .route("/", get(home))
        .route("/me/data", get(data_page))
        .route("/me/data.json", get(download_page_data))
        .route("/api/v1/me/data", get(my_data))
}

/// The console's pages, each with the permission its handler requires.
fn console_nav() -> Vec<NavEntry> {
    use registry::service::{IMPORT_EXPORT, RESIDENTS_READ, STRUCTURE_READ};
    vec![
        NavEntry { href: "/console", label: "nav.console", permission: &STRUCTURE_READ },
        NavEntry { href: "/console/cases", label: "nav.cases", permission: &cases::service::CASES_HANDLE },
        NavEntry { href: "/console/residents", label: "nav.residents", permission: &RESIDENTS_READ },
        NavEntry { href: "/console/buildings", label: "nav.buildings", permission: &STRUCTURE_READ },
        NavEntry { href: "/console/households", label: "nav.households", permission: &RESIDENTS_READ },
        NavEntry { href: "/console/import", label: "nav.import", permission: &IMPORT_EXPORT },
        NavEntry { href: "/console/outbox", label: "nav.outbox", permission: &notify::api::OUTBOX_READ },
    ]
}

/// A link on a role's part of the home page, shown only to those who may open it.
struct Door {
    href: &'static str,
    label: &'static str,
    permission: Option<&'static Permission>,
}

const fn open(href: &'static str, label: &'static str) -> Door {
    Door { href, label, permission: None }
}

const fn guarded(href: &'static str, label: &'static str, permission: &'static Permission) -> Door {
    Door { href, label, permission: Some(permission) }
}

/// What one role can do on the platform today, and (in words, not links) what is still to come.
struct RoleHome {
    /// The role's code (`resident` … `visitor`), for its catalogue keys `home.role.<code>`,
    /// `home.can.<code>` and `home.coming.<code>`.
    role: &'static str,
    doors: &'static [Door],
}

static HOMES: &[RoleHome] = &[
    // The resident's links are the shortcuts every capability offers (its manifest's tiles).
    RoleHome { role: "resident", doors: &[] },
    RoleHome { role: "family", doors: &[open("/family", "home.door.family"), open("/cases/new", "cases.report")] },
    RoleHome {
        role: "grid_worker",
        doors: &[
            guarded("/console/cases", "nav.cases", &cases::service::CASES_HANDLE),
            guarded("/console/cases/quick", "cases.quick", &cases::service::CASES_HANDLE),
            guarded("/console/residents", "nav.residents", &registry::service::RESIDENTS_READ),
            guarded("/console/households", "nav.households", &registry::service::RESIDENTS_READ),
        ],
    },
    RoleHome {
        role: "staff",
        doors: &[
            guarded("/console", "nav.console", &registry::service::STRUCTURE_READ),
            guarded("/console/cases", "nav.cases", &cases::service::CASES_HANDLE),
            guarded("/console/residents", "nav.residents", &registry::service::RESIDENTS_READ),
            guarded("/console/import", "nav.import", &registry::service::IMPORT_EXPORT),
            guarded("/console/outbox", "nav.outbox", &notify::api::OUTBOX_READ),
        ],
    },
    RoleHome {
        role: "liaison",
        doors: &[
            guarded("/console/buildings", "nav.buildings", &registry::service::STRUCTURE_READ),
            open("/cases/new", "cases.report"),
            open("/ledger", "ledger.title"),
        ],
    },
    RoleHome { role: "volunteer", doors: &[open("/cases/new", "cases.report"), open("/ledger", "ledger.title"), open("/me/cases", "cases.mine")] },
    RoleHome { role: "merchant", doors: &[open("/cases/new", "cases.report"), open("/ledger", "ledger.title"), open("/me/cases", "cases.mine")] },
    RoleHome { role: "visitor", doors: &[open("/cases/new", "home.door.anonymous_report"), open("/ledger", "ledger.title"), open("/login", "nav.login")] },
];

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
fn sections(ctx: &PageCtx) -> Vec<Section> {
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
            held.sort_by_key(|r| HOMES.iter().position(|h| h.role == *r));
            held.dedup();
            held
        }
    };
    roles
        .into_iter()
        .filter_map(|r| HOMES.iter().find(|h| h.role == r))
        .map(|h| Section {
            role: h.role,
            doors: if h.role == "resident" {
                crate::app::manifests().iter().flat_map(|m| m.tiles.iter().map(|t: &Tile| (t.href, t.label))).collect()
            } else {
                h.doors.iter().filter(|d| d.permission.is_none_or(|p| ctx.may(p))).map(|d| (d.href, d.label)).collect()
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
    let sections = sections(&ctx);
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
