//! The API contract: the OpenAPI document is complete and self-consistent, and every documented
//! operation answers malformed input with a 4xx in the one error shape — never a 5xx.

use kernel::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};
use testkit::{Client, TestApp};

const SLUG: &str = "t";

async fn document(app: &TestApp) -> Value {
    let res = app.client().get("/api/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    res.json().await.unwrap()
}

/// `(path, method, operation)` for every documented operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// The operation's parameters, with the path item's own.
fn parameters(doc: &Value, path: &str, op: &Value) -> Vec<Value> {
    let mut params: Vec<Value> = doc["paths"][path]["parameters"].as_array().cloned().unwrap_or_default();
    params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
    params.into_iter().map(|p| resolve(doc, &p).clone()).collect()
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("unresolved {r}")),
        None => v,
    }
}

fn template_params(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(name, _)| name.to_string()).collect()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_complete_and_consistent() {
    let app = TestApp::start().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object(), "the error shape is documented");
    // Typed ids are documented as the integers they are sent as.
    assert_eq!(doc["components"]["schemas"]["CaseId"]["type"], "integer", "{}", doc["components"]["schemas"]["CaseId"]);

    let ops = operations(&doc);
    assert!(ops.len() >= 20, "only {} operations documented", ops.len());
    let mut problems = Vec::new();
    let mut ids = Vec::new();
    for (path, method, op) in &ops {
        let at = format!("{} {path}", method.to_uppercase());
        if !path.starts_with("/api/") {
            problems.push(format!("{at}: documented outside /api/"));
        }
        if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
            problems.push(format!("{at}: no responses"));
        }
        if let Some(id) = op["operationId"].as_str() {
            if ids.contains(&id.to_string()) {
                problems.push(format!("{at}: operationId {id} used twice"));
            }
            ids.push(id.to_string());
        }
        let params = parameters(&doc, path, op);
        let in_template = template_params(path);
        for name in &in_template {
            let declared = params.iter().find(|p| p["name"] == name.as_str() && p["in"] == "path");
            match declared {
                None => problems.push(format!("{at}: path parameter {{{name}}} is not declared")),
                Some(p) if p["required"] != true => problems.push(format!("{at}: path parameter {name} is not required")),
                Some(_) => {}
            }
        }
        for p in &params {
            let (name, place) = (p["name"].as_str().unwrap_or(""), p["in"].as_str().unwrap_or(""));
            if !["path", "query", "header", "cookie"].contains(&place) {
                problems.push(format!("{at}: parameter {name} is in {place:?}"));
            }
            if place == "path" && !in_template.iter().any(|t| t == name) {
                problems.push(format!("{at}: parameter {name} is declared in the path, which has no {{{name}}}"));
            }
        }
        let mut seen: Vec<(String, String)> = params.iter().map(|p| (p["name"].to_string(), p["in"].to_string())).collect();
        seen.sort();
        let before = seen.len();
        seen.dedup();
        if seen.len() != before {
            problems.push(format!("{at}: a parameter is declared twice"));
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        if !r.starts_with("#/") || doc.pointer(&r[1..]).is_none() {
            problems.push(format!("$ref {r} does not resolve inside the document"));
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    assert!(problems.is_empty(), "{} problems with the OpenAPI document (listed above)", problems.len());
}

/// How one request is malformed.
struct Case {
    label: String,
    query: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
}

fn body_case(label: &str, content_type: Option<&'static str>, body: Option<&[u8]>) -> Case {
    Case { label: label.into(), query: String::new(), content_type, body: body.map(<[u8]>::to_vec) }
}

/// Bodies every operation with a request body must refuse.
fn bad_bodies() -> Vec<Case> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        body_case("no body, no content type", None, None),
        body_case("empty JSON body", Some("application/json"), Some(b"")),
        body_case("broken JSON", Some("application/json"), Some(b"{\"name\": ")),
        body_case("JSON array", Some("application/json"), Some(b"[]")),
        body_case("JSON string", Some("application/json"), Some(b"\"x\"")),
        body_case("JSON null", Some("application/json"), Some(b"null")),
        body_case("fields of the wrong type", Some("application/json"), Some(b"{\"name\": 5, \"phone\": 5, \"purpose\": 5, \"locale\": 5}")),
        body_case("deeply nested JSON", Some("application/json"), Some(deep.as_bytes())),
        body_case("not UTF-8", Some("application/json"), Some(b"{\"name\": \"\xff\xfe\"}")),
        body_case("text/plain", Some("text/plain"), Some(b"name=x")),
    ]
}

/// Query strings that must be refused wherever the parameter is documented.
const BAD_QUERIES: &[(&str, &str)] = &[
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "201"),
    ("limit", "99999999999"),
    ("limit", "abc"),
    ("cursor", "%%%"),
    ("cursor", "zzz"),
    ("cursor", "aTp4"), // base64 of "i:x"
    ("building_id", "abc"),
    ("building_id", "1.5"),
    ("household_id", "99999999999999999999"),
    ("state", "zzz"),
    ("format", "zzz"),
    ("tag", "zzz"),
    ("q", "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一"),
];

/// Query strings that may be accepted but must never fail the server.
const ODD_QUERIES: &[&str] = &["q=%00", "q=%27%20OR%201%3D1--", "tag=%00", "state=%00", "q=%E4%B8", "limit=1&limit=2", "cursor=", "q=%25_%25", "building_id=-9223372036854775808"];

/// A body shaped like the documented schema, filled with awkward values.
fn shaped(doc: &Value, schema: &Value, string: &str, int: i64) -> Value {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for p in parts {
            if let Value::Object(m) = shaped(doc, p, string, int) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null").to_string(),
        _ if schema["properties"].is_object() => "object".into(),
        _ => "string".into(),
    };
    match ty.as_str() {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .map(|props| props.iter().map(|(k, v)| (k.clone(), shaped(doc, v, string, int))).collect())
                .unwrap_or_default(),
        ),
        "array" => json!([shaped(doc, &schema["items"], string, int)]),
        "integer" | "number" => json!(int),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => json!(string),
    }
}

fn error_shape_ok(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|v| {
        v["error"]["code"].as_str().is_some_and(|c| !c.is_empty())
            && v["error"]["message"].as_str().is_some_and(|m| !m.is_empty())
            && v["error"]["fields"].is_array()
    })
}

struct Probe<'a> {
    base: String,
    admin: &'a Client,
    anonymous: &'a Client,
    offenders: Vec<String>,
    sent: usize,
}

impl Probe<'_> {
    /// Sends one request; `must_refuse` demands a 4xx, and nothing may be a 5xx or leave the shape.
    async fn send(&mut self, method: &str, path: &str, case: &Case, must_refuse: bool) {
        let client = if path.starts_with("/api/v1/auth/") { self.anonymous } else { self.admin };
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if case.query.is_empty() { format!("{}{path}", self.base) } else { format!("{}{path}{sep}{}", self.base, case.query) };
        let mut req = client.http.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &url);
        if let Some(ct) = case.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(bytes) = &case.body {
            req = req.body(bytes.clone());
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        self.sent += 1;
        let status = res.status();
        let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body = res.text().await.unwrap_or_default();
        let what = format!("{} {url} [{}] → {status}", method.to_uppercase(), case.label);
        let short: String = body.chars().take(160).collect();
        if status.is_server_error() {
            self.offenders.push(format!("{what}: server error {short}"));
        } else if must_refuse && !status.is_client_error() {
            self.offenders.push(format!("{what}: accepted malformed input {short}"));
        } else if status.is_client_error() && (!ctype.starts_with("application/json") || !error_shape_ok(&body)) {
            self.offenders.push(format!("{what}: not the error shape ({ctype}) {short}"));
        }
    }
}

#[tokio::test]
async fn malformed_requests_to_every_operation_get_4xx_in_the_error_shape() {
    let app = TestApp::start().await;
    let c = app.community(SLUG, "测试社区").await;
    let admin_id = app.user("13800000090", "陈主任", c, &[Role::Admin]).await;
    let admin = app.login("13800000090").await;
    let anonymous = app.client();

    // Real records, so that path parameters can name something and the body is reached.
    let res = admin.post_json(&format!("/api/v1/communities/{SLUG}/residents"), &json!({"name": "王芳", "building": "翠微新村 1栋", "unit": "1单元", "room": "101"})).await;
    assert_eq!(res.status(), 201);
    let resident_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let welcome = notify::Message {
        community_id: Some(kernel::community::CommunityId::new(c)),
        user_id: Some(kernel::auth::UserId::new(admin_id)),
        channel: notify::Channel::Inbox,
        to: String::new(),
        template: "welcome",
        params: vec![("name", "陈主任".into())],
        secret_params: &[],
        link: None,
        locale: kernel::i18n::Locale::ZhCn,
        idempotency_key: "contract:welcome".into(),
    };
    notify::service::send(&mut tx, app.state.now(), &welcome).await.unwrap();
    tx.commit().await.unwrap();
    let notification_id = admin.json("/api/v1/me/notifications").await["items"][0]["id"].as_i64().unwrap();

    let doc = document(&app).await;
    let mut probe = Probe { base: app.base.clone(), admin: &admin, anonymous: &anonymous, offenders: Vec::new(), sent: 0 };
    for (template, method, op) in operations(&doc) {
        let params = parameters(&doc, &template, &op);
        let has_body = op["requestBody"].is_object();
        let json_schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        let names = template_params(&template);
        let real = |name: &str| -> String {
            match name {
                "slug" => SLUG.into(),
                "id" if template.contains("/notifications/") => notification_id.to_string(),
                "id" => resident_id.to_string(),
                _ => "zzz".into(),
            }
        };
        let fill = |value: &dyn Fn(&str) -> String| {
            names.iter().fold(template.clone(), |p, n| p.replace(&format!("{{{n}}}"), &value(n)))
        };
        let real_path = fill(&real);
        let mut garbage_paths = Vec::new();
        for junk in ["zzz", "-1", "0", "99999999999999999999", "1.5", "%00", "%E4%B8", "..%2F..%2Fetc%2Fpasswd"] {
            for target in &names {
                garbage_paths.push(fill(&|n: &str| if n == target { junk.to_string() } else { real(n) }));
            }
        }

        // Bodies: every malformed one on the real path (where the body is actually read), and on
        // paths naming nothing.
        for case in bad_bodies() {
            probe.send(&method, &real_path, &case, has_body).await;
        }
        for path in &garbage_paths {
            probe.send(&method, path, &body_case("garbage path parameter", Some("application/json"), Some(b"{}")), true).await;
            probe.send(&method, path, &body_case("garbage path parameter, no body", None, None), true).await;
        }
        // Bodies of the documented shape filled with awkward values: accepted or refused, never a 5xx.
        if !json_schema.is_null() {
            for (string, int) in [("a\u{0}b", 1), ("长".repeat(5000).as_str(), i64::MAX), ("", i64::MIN), ("<script>alert(1)</script>'; DROP TABLE users;--", -1)] {
                let body = shaped(&doc, &json_schema, string, int).to_string();
                let case = Case { label: format!("documented shape, {:.12}…/{int}", string), query: String::new(), content_type: Some("application/json"), body: Some(body.into_bytes()) };
                probe.send(&method, &real_path, &case, false).await;
            }
        }
        // Query strings.
        let documented = |name: &str| params.iter().any(|p| p["name"] == name && p["in"] != "path");
        for (name, value) in BAD_QUERIES {
            let case = Case { label: format!("{name}={value}"), query: format!("{name}={value}"), content_type: Some("application/json"), body: has_body.then(|| b"{}".to_vec()) };
            probe.send(&method, &real_path, &case, documented(name)).await;
        }
        for query in ODD_QUERIES {
            let case = Case { label: (*query).into(), query: (*query).into(), content_type: None, body: None };
            probe.send(&method, &real_path, &case, false).await;
        }
    }
    // Spot checks that the probes reached the parsers they aimed at.
    let raw = |method: Method, path: &str, body: &'static str| {
        admin.http.request(method, app.url(path)).header("content-type", "application/json").body(body).send()
    };
    let expect = [
        (raw(Method::POST, &format!("/api/v1/communities/{SLUG}/residents"), "{\"name\": ").await.unwrap(), 400, "malformed_json"),
        (raw(Method::PATCH, &format!("/api/v1/communities/{SLUG}/residents/{resident_id}"), "[]").await.unwrap(), 400, "malformed_json"),
        (raw(Method::GET, &format!("/api/v1/communities/{SLUG}/residents?limit=-1"), "").await.unwrap(), 400, "malformed_query"),
        (raw(Method::GET, &format!("/api/v1/communities/{SLUG}/residents?cursor=zzz"), "").await.unwrap(), 422, "validation_failed"),
        (raw(Method::GET, &format!("/api/v1/communities/{SLUG}/residents/zzz"), "").await.unwrap(), 404, "not_found"),
        (raw(Method::POST, "/api/v1/me/notifications/zzz/read", "{}").await.unwrap(), 404, "not_found"),
    ];
    for (res, status, code) in expect {
        let url = res.url().to_string();
        assert_eq!(res.status(), status, "{url}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], code, "{url}");
    }

    // The admin's session survived everything (so permission was never the reason for a 4xx).
    assert_eq!(admin.get("/api/v1/me").await.status(), 200);
    println!("{} malformed requests sent", probe.sent);
    for o in &probe.offenders {
        eprintln!("{o}");
    }
    assert!(probe.offenders.is_empty(), "{} of {} requests answered wrongly (listed above)", probe.offenders.len(), probe.sent);
}
