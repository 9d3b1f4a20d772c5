//! Open311 GeoReport v2 at `/open311/v2/`, in JSON and XML, for the community whose slug is the
//! `jurisdiction_id` (optional when the deployment has one community). Services are the triage
//! categories; requests are cases. Like the public ledger, a request shows its category and
//! building, not the resident's words.

use crate::domain::{CaseId, State};
use crate::service::{self, NewCase};
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use kernel::i18n::{t, Locale};
use kernel::AppState;
use serde::Deserialize;
use std::collections::HashMap;
use triage::Category;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{resource}", get(collection).post(post_request))
        .route("/open311/v2/services/{code}", get(service_definition))
        .route("/open311/v2/requests/{id}", get(one_request))
        .route("/open311/v2/tokens/{token}", get(token))
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
}

/// Splits `requests.json` into the resource and its format.
fn split(resource: &str) -> Option<(&str, Format)> {
    let (name, ext) = resource.rsplit_once('.')?;
    match ext {
        "json" => Some((name, Format::Json)),
        "xml" => Some((name, Format::Xml)),
        _ => None,
    }
}

type Record = Vec<(&'static str, String)>;

/// Escapes text for an XML element, dropping the characters XML 1.0 cannot hold at all (control
/// characters other than tab and line breaks, U+FFFE, U+FFFF), so old data cannot break the feed.
fn escape(s: &str) -> String {
    s.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_ascii_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders records as the standard's JSON array or XML list.
fn respond(
    status: StatusCode,
    format: Format,
    list: &str,
    item: &str,
    records: &[Record],
) -> Response {
    render(status, format, list, item, records, None)
}

fn json_record(r: &Record) -> serde_json::Map<String, serde_json::Value> {
    r.iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
        .collect()
}

/// Renders records, each optionally with a `notes` list (the history extension: in JSON an
/// array of objects, in XML `<notes><note>…</note></notes>`).
fn render(
    status: StatusCode,
    format: Format,
    list: &str,
    item: &str,
    records: &[Record],
    notes: Option<&[Vec<Record>]>,
) -> Response {
    match format {
        Format::Json => {
            let arr: Vec<serde_json::Map<String, serde_json::Value>> = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut obj = json_record(r);
                    if let Some(n) = notes.and_then(|n| n.get(i)) {
                        obj.insert(
                            "notes".into(),
                            serde_json::Value::Array(
                                n.iter()
                                    .map(|x| serde_json::Value::Object(json_record(x)))
                                    .collect(),
                            ),
                        );
                    }
                    obj
                })
                .collect();
            (status, axum::Json(arr)).into_response()
        }
        Format::Xml => {
            let mut out = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><{list}>");
            for (i, r) in records.iter().enumerate() {
                out.push_str(&format!("<{item}>"));
                for (k, v) in r {
                    out.push_str(&format!("<{k}>{}</{k}>", escape(v)));
                }
                if let Some(n) = notes.and_then(|n| n.get(i)) {
                    out.push_str("<notes>");
                    for note in n {
                        out.push_str("<note>");
                        for (k, v) in note {
                            out.push_str(&format!("<{k}>{}</{k}>", escape(v)));
                        }
                        out.push_str("</note>");
                    }
                    out.push_str("</notes>");
                }
                out.push_str(&format!("</{item}>"));
            }
            out.push_str(&format!("</{list}>"));
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

/// The standard's error answer: `[{"code": 404, "description": "…"}]`.
fn error(format: Format, status: StatusCode, description: &str) -> Response {
    respond(
        status,
        format,
        "errors",
        "error",
        &[vec![
            ("code", status.as_u16().to_string()),
            ("description", description.to_string()),
        ]],
    )
}

async fn jurisdiction(state: &AppState, id: Option<&str>) -> Result<kernel::community::CommunityId, &'static str> {
    let unavailable = |_| "database unavailable";
    match id.filter(|s| !s.is_empty()) {
        Some(slug) => kernel::community::by_slug(state, slug)
            .await
            .map_err(unavailable)?
            .map(|c| c.id)
            .ok_or("unknown jurisdiction_id"),
        None => match kernel::community::all(state, None)
            .await
            .map_err(unavailable)?
            .as_slice()
        {
            [one] => Ok(one.id),
            [] => Err("unknown jurisdiction_id"),
            _ => Err("jurisdiction_id is required"),
        },
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            d.with_timezone(&kernel::clock::shanghai())
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

fn parse_iso(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn service_record(c: Category) -> Record {
    vec![
        ("service_code", c.code().to_string()),
        (
            "service_name",
            t(Locale::ZhCn, &format!("category.{}", c.code())).to_string(),
        ),
        (
            "description",
            t(Locale::En, &format!("category.{}", c.code())).to_string(),
        ),
        ("metadata", "false".into()),
        ("type", "realtime".into()),
        ("keywords", String::new()),
        ("group", String::new()),
    ]
}

fn open_or_closed(s: &str) -> &'static str {
    match State::parse(s) {
        Some(st) if st.has_result() => "closed",
        _ => "open",
    }
}

async fn collection(
    AxState(state): AxState<AppState>,
    Path(resource): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((name, format)) = split(&resource) else {
        return error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "unknown resource or format",
        );
    };
    match name {
        "discovery" => {
            let base = format!("{}/open311/v2/", state.base_url);
            let record: Record = vec![
                ("changeset", "2026-11-28T00:00:00+08:00".into()),
                ("contact", "社区服务中心".into()),
                ("key_service", "linli apikey create".into()),
                (
                    "specification",
                    "http://wiki.open311.org/GeoReport_v2".into(),
                ),
                ("url", base),
                ("type", "production".into()),
                ("formats", "application/json text/xml".into()),
            ];
            respond(StatusCode::OK, format, "discovery", "endpoint", &[record])
        }
        "services" => {
            match jurisdiction(&state, q.get("jurisdiction_id").map(String::as_str)).await {
                Ok(_) => respond(
                    StatusCode::OK,
                    format,
                    "services",
                    "service",
                    &Category::ALL.map(service_record),
                ),
                Err(e) => error(format, StatusCode::NOT_FOUND, e),
            }
        }
        "requests" => requests(&state, format, &q, None).await,
        "servicerequestupdates" => updates(&state, format, &q).await,
        _ => error(format, StatusCode::NOT_FOUND, "unknown resource"),
    }
}

async fn service_definition(Path(code): Path<String>) -> Response {
    let Some((code, format)) = split(&code) else {
        return error(Format::Json, StatusCode::NOT_FOUND, "unknown format");
    };
    match Category::parse(code) {
        // No service takes extra attributes: the definition is empty.
        Some(c) => respond(
            StatusCode::OK,
            format,
            "service_definition",
            "service",
            &[vec![("service_code", c.code().to_string())]],
        ),
        None => error(format, StatusCode::NOT_FOUND, "unknown service_code"),
    }
}

async fn requests(
    state: &AppState,
    format: Format,
    q: &HashMap<String, String>,
    only: Option<i64>,
) -> Response {
    let community = match jurisdiction(state, q.get("jurisdiction_id").map(String::as_str)).await {
        Ok(c) => c,
        Err(e) => return error(format, StatusCode::NOT_FOUND, e),
    };
    let mut filter = crate::store::PublicRequests::default();
    if let Some(id) = only {
        filter.ids.push(id);
    } else if let Some(list) = q.get("service_request_id") {
        for part in list.split(',') {
            match part.trim().parse() {
                Ok(id) => filter.ids.push(id),
                Err(_) => return error(format, StatusCode::BAD_REQUEST, "service_request_id must be numbers"),
            }
        }
    }
    for (param, bound) in [("start_date", &mut filter.from), ("end_date", &mut filter.until)] {
        if let Some(v) = q.get(param) {
            match parse_iso(v) {
                Some(ms) => *bound = Some(ms),
                None => return error(format, StatusCode::BAD_REQUEST, "dates must be W3C date-times"),
            }
        }
    }
    if let (Some(from), Some(until)) = (filter.from, filter.until) {
        if from > until {
            return error(format, StatusCode::BAD_REQUEST, "start_date is after end_date");
        }
    }
    if let Some(code) = q.get("service_code") {
        match Category::parse(code) {
            Some(c) => filter.category = Some(c),
            None => return error(format, StatusCode::BAD_REQUEST, "unknown service_code"),
        }
    }
    match q.get("status").map(String::as_str) {
        None => {}
        Some("open") => filter.closed = Some(false),
        Some("closed") => filter.closed = Some(true),
        Some(_) => return error(format, StatusCode::BAD_REQUEST, "status must be open or closed"),
    }
    let rows = match crate::store::public_requests(&state.db, community, &filter).await {
        Ok(r) => r,
        Err(_) => return error(format, StatusCode::INTERNAL_SERVER_ERROR, "database unavailable"),
    };

    // Photos once staff have responded, as on the public ledger.
    let responded: Vec<CaseId> = rows.iter().filter(|r| r.first_response_at.is_some()).map(|r| r.id).collect();
    let Ok(photos) = crate::photos::of_cases(state, &responded, true).await else {
        return error(format, StatusCode::INTERNAL_SERVER_ERROR, "database unavailable");
    };
    // Rounded to three decimals (about 100 m): a phone's position may be someone's home, and the
    // public sees places at building level, never a flat.
    let coordinate = |v: Option<i64>| v.map(|x| format!("{:.3}", x as f64 / 1e6)).unwrap_or_default();
    let building_ids = kernel::db::distinct_ids(rows.iter().filter_map(|r| r.building_id));
    let Ok(buildings) = registry::places::building_names(&state.db.pool, &building_ids).await else {
        return error(format, StatusCode::INTERNAL_SERVER_ERROR, "database unavailable");
    };
    let records: Vec<Record> = rows
        .iter()
        .map(|r| {
            let media = photos.iter().find(|(c, _)| *c == r.id).map(|(_, p)| format!("{}{}", state.base_url, p.url)).unwrap_or_default();
            let category = r.category.code();
            vec![
                ("service_request_id", r.id.to_string()),
                ("status", if r.state.has_result() { "closed" } else { "open" }.to_string()),
                ("status_notes", t(Locale::ZhCn, &format!("case_state.{}", r.state.code())).to_string()),
                ("service_name", t(Locale::ZhCn, &format!("category.{category}")).to_string()),
                ("service_code", category.to_string()),
                ("description", t(Locale::ZhCn, &format!("category.{category}")).to_string()),
                ("agency_responsible", String::new()),
                ("service_notice", String::new()),
                ("requested_datetime", iso(r.created_at)),
                ("updated_datetime", iso(r.updated_at)),
                ("expected_datetime", iso(r.result_due)),
                ("address", r.building_id.and_then(|b| buildings.get(&b).cloned()).unwrap_or_default()),
                ("address_id", String::new()),
                ("zipcode", String::new()),
                ("lat", coordinate(r.lat_e6)),
                ("long", coordinate(r.lng_e6)),
                ("media_url", media),
            ]
        })
        .collect();
    if only.is_some() && records.is_empty() {
        return error(format, StatusCode::NOT_FOUND, "unknown service_request_id");
    }
    if q.get("extensions").map(String::as_str) != Some("true") {
        return respond(
            StatusCode::OK,
            format,
            "service_requests",
            "request",
            &records,
        );
    }
    kernel::row! {
        /// A state a request moved to, and when.
        struct Step {
            case_id: CaseId,
            at: i64,
            state: String,
        }
    }
    // The `notes` history extension: each request's state changes, oldest first (the state,
    // never staff's words, which may name people or flats).
    let ids: Vec<CaseId> = rows.iter().map(|r| r.id).collect();
    let events = match sqlx::query_as::<_, Step>(&format!(
        "SELECT case_id, at, state FROM case_events WHERE state IS NOT NULL{} ORDER BY id",
        kernel::db::and_in("case_id", Some(&ids))
    ))
    .fetch_all(&state.db.pool)
    .await
    {
        Ok(e) => e,
        Err(_) => {
            return error(
                format,
                StatusCode::INTERNAL_SERVER_ERROR,
                "database unavailable",
            )
        }
    };
    let notes: Vec<Vec<Record>> = ids
        .iter()
        .map(|id| {
            events
                .iter()
                .filter(|e| e.case_id == *id)
                .map(|e| {
                    let st = &e.state;
                    vec![
                        ("datetime", iso(e.at)),
                        ("type", "status_change".to_string()),
                        ("status", open_or_closed(st).to_string()),
                        (
                            "summary",
                            t(Locale::ZhCn, &format!("case_state.{st}")).to_string(),
                        ),
                        (
                            "description",
                            t(Locale::En, &format!("case_state.{st}")).to_string(),
                        ),
                    ]
                })
                .collect()
        })
        .collect();
    render(
        StatusCode::OK,
        format,
        "service_requests",
        "request",
        &records,
        Some(&notes),
    )
}

/// FixMyStreet's `servicerequestupdates` extension: every state change of the jurisdiction's
/// requests in a time window, oldest first.
async fn updates(state: &AppState, format: Format, q: &HashMap<String, String>) -> Response {
    let community = match jurisdiction(state, q.get("jurisdiction_id").map(String::as_str)).await {
        Ok(c) => c,
        Err(e) => return error(format, StatusCode::NOT_FOUND, e),
    };
    let mut window = [i64::MIN, i64::MAX];
    for (i, param) in ["start_date", "end_date"].into_iter().enumerate() {
        if let Some(v) = q.get(param) {
            match parse_iso(v) {
                Some(ms) => window[i] = ms,
                None => {
                    return error(
                        format,
                        StatusCode::BAD_REQUEST,
                        "dates must be W3C date-times",
                    )
                }
            }
        }
    }
    kernel::row! {
        /// A state change of a public request.
        struct Update {
            id: i64,
            case_id: CaseId,
            state: String,
            at: i64,
        }
    }
    let rows = sqlx::query_as::<_, Update>(
        "SELECT e.id, e.case_id, e.state, e.at FROM case_events e JOIN cases c ON c.id = e.case_id \
         WHERE c.community_id = $1 AND e.state IS NOT NULL AND c.state <> 'withdrawn' AND c.private = 0 AND e.at >= $2 AND e.at <= $3 ORDER BY e.id LIMIT 1000",
    )
    .bind(community)
    .bind(window[0])
    .bind(window[1])
    .fetch_all(&state.db.pool)
    .await;
    let Ok(rows) = rows else {
        return error(
            format,
            StatusCode::INTERNAL_SERVER_ERROR,
            "database unavailable",
        );
    };
    let records: Vec<Record> = rows
        .into_iter()
        .map(|r| {
            let st = r.state;
            vec![
                ("update_id", r.id.to_string()),
                ("service_request_id", r.case_id.to_string()),
                ("status", open_or_closed(&st).to_string()),
                ("updated_datetime", iso(r.at)),
                // The state, not staff's note: notes may name people or flats.
                (
                    "description",
                    t(Locale::ZhCn, &format!("case_state.{st}")).to_string(),
                ),
                ("media_url", String::new()),
            ]
        })
        .collect();
    respond(
        StatusCode::OK,
        format,
        "service_request_updates",
        "request_update",
        &records,
    )
}

async fn one_request(
    AxState(state): AxState<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((id, format)) = split(&id) else {
        return error(Format::Json, StatusCode::NOT_FOUND, "unknown format");
    };
    match id.parse::<i64>() {
        Ok(id) => requests(&state, format, &q, Some(id)).await,
        Err(_) => error(format, StatusCode::NOT_FOUND, "unknown service_request_id"),
    }
}

/// A new request, as Open311 clients post it (form-encoded).
#[derive(Debug, Deserialize)]
struct PostRequest {
    api_key: Option<String>,
    jurisdiction_id: Option<String>,
    service_code: Option<String>,
    description: Option<String>,
    address_string: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
}

async fn post_request(
    AxState(state): AxState<AppState>,
    Path(resource): Path<String>,
    form: Result<Form<PostRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(("requests", format)) = split(&resource) else {
        return error(Format::Json, StatusCode::NOT_FOUND, "unknown resource");
    };
    let Ok(Form(form)) = form else {
        return error(
            format,
            StatusCode::BAD_REQUEST,
            "the body must be form-encoded",
        );
    };
    let principal = match form.api_key.as_deref() {
        Some(key) => match kernel::auth::principal_for_api_key(&state, key).await {
            Ok(Some(p)) => p,
            _ => return error(format, StatusCode::FORBIDDEN, "invalid api_key"),
        },
        None => return error(format, StatusCode::FORBIDDEN, "api_key is required"),
    };
    let community = match jurisdiction(&state, form.jurisdiction_id.as_deref()).await {
        Ok(c) => c,
        Err(e) => return error(format, StatusCode::NOT_FOUND, e),
    };
    if !principal.community_ids().contains(&community) {
        return error(
            format,
            StatusCode::FORBIDDEN,
            "the api_key is not for this jurisdiction",
        );
    }
    if form
        .service_code
        .as_deref()
        .is_some_and(|c| Category::parse(c).is_none())
    {
        return error(format, StatusCode::BAD_REQUEST, "unknown service_code");
    }
    let new = NewCase {
        text: form.description.unwrap_or_default(),
        place: form
            .address_string
            .unwrap_or_default()
            .chars()
            .take(100)
            .collect(),
        building_id: None,
        unit_id: None,
        lat: form.lat,
        long: form.long,
        resident_id: None,
        // Reports relayed by an integration carry no account of ours: nobody is named.
        anonymous: true,
        source: None,
        idempotency_key: None,
        danger_now: false,
    };
    match service::file(&state, Some(&principal), community, &new, &[]).await {
        Ok(filed) => respond(
            StatusCode::CREATED,
            format,
            "service_requests",
            "request",
            &[vec![
                ("service_request_id", filed.id.to_string()),
                ("service_notice", String::new()),
                ("account_id", String::new()),
            ]],
        ),
        Err(e) => error(format, StatusCode::BAD_REQUEST, &e.message(Locale::En)),
    }
}

async fn token(Path(token): Path<String>) -> Response {
    let Some((_, format)) = split(&token) else {
        return error(Format::Json, StatusCode::NOT_FOUND, "unknown format");
    };
    // Requests are created at once, so no token ever waits for an id.
    error(format, StatusCode::NOT_FOUND, "unknown token")
}
