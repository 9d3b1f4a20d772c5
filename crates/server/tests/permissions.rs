//! Who may do what: every role of one community (plus a user of another community, an
//! anonymous visitor and two integration keys) against the registry's actions, the outbox
//! and the console pages. The table below is the documentation; the test proves it.
//!
//! Derived from the permissions in `registry::service` and `notify::api`:
//! structure read = staff, admin, grid_worker, liaison; structure write = staff, admin;
//! residents read/write = staff, admin, grid_worker (their grids only); reveal ID and
//! import/export = staff, admin; outbox = admin. Someone without a role in the community
//! gets 404 (the community is hidden), nobody logged in gets 401 on the API and a 303 to
//! the login page on pages. API keys work on the API only; a revoked key is refused at once.

use kernel::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};
use testkit::{Client, TestApp};

const BASE: &str = "/api/v1/communities/renjia";

/// Column order of [`EXPECTED`].
const ACTORS: [&str; 12] =
    ["resident", "family", "grid_worker", "staff", "liaison", "volunteer", "merchant", "admin", "other_community", "anonymous", "key:staff", "key:grid_worker"];

/// Expected status per action (rows) and actor (columns, in [`ACTORS`] order).
/// `key:grid_worker` is an API key with the grid-worker role: it is assigned to no grid, so it
/// lists nothing, finds no resident and may place nobody.
#[rustfmt::skip]
const EXPECTED: &[(&str, [u16; 12])] = &[
    //                        res  fam  grid staf liai vol  merc admn othr anon kSt  kGw
    ("list residents",       [403, 403, 200, 200, 403, 403, 403, 200, 404, 401, 200, 200]),
    ("get resident",         [403, 403, 200, 200, 403, 403, 403, 200, 404, 401, 200, 404]),
    ("resident history",     [403, 403, 200, 200, 403, 403, 403, 200, 404, 401, 200, 404]),
    ("reveal ID",            [403, 403, 403, 200, 403, 403, 403, 200, 404, 401, 200, 403]),
    ("create resident",      [403, 403, 201, 201, 403, 403, 403, 201, 404, 401, 201, 422]),
    ("patch resident",       [403, 403, 200, 200, 403, 403, 403, 200, 404, 401, 200, 404]),
    ("import",               [403, 403, 403, 200, 403, 403, 403, 200, 404, 401, 200, 403]),
    ("export",               [403, 403, 403, 200, 403, 403, 403, 200, 404, 401, 200, 403]),
    ("list buildings",       [403, 403, 200, 200, 200, 403, 403, 200, 404, 401, 200, 200]),
    ("create building",      [403, 403, 403, 201, 403, 403, 403, 201, 404, 401, 201, 403]),
    ("list grids",           [403, 403, 200, 200, 200, 403, 403, 200, 404, 401, 200, 200]),
    ("list households",      [403, 403, 200, 200, 403, 403, 403, 200, 404, 401, 200, 200]),
    ("community counts",     [403, 403, 200, 200, 200, 403, 403, 200, 404, 401, 200, 200]),
    ("read outbox",          [403, 403, 403, 403, 403, 403, 403, 200, 403, 401, 403, 403]),
    // The console opens on the first community where the viewer may see the structure;
    // `other_community` sees their own. Keys are for the API: a page treats a request with a
    // key and no session as anonymous.
    ("page /console",        [403, 403, 200, 200, 200, 403, 403, 200, 200, 303, 303, 303]),
    ("page /console?c=",     [403, 403, 200, 200, 200, 403, 403, 200, 404, 303, 303, 303]),
    ("page residents",       [403, 403, 200, 200, 403, 403, 403, 200, 404, 303, 303, 303]),
    ("page resident",        [403, 403, 200, 200, 403, 403, 403, 200, 404, 303, 303, 303]),
    ("page import",          [403, 403, 403, 200, 403, 403, 403, 200, 404, 303, 303, 303]),
];

/// Someone making requests: a browser session, an integration key, or nobody.
struct Actor {
    name: &'static str,
    client: Client,
    bearer: Option<String>,
}

enum Body {
    None,
    Json(Value),
    Upload(Vec<u8>),
}

impl Actor {
    async fn send(&self, app: &TestApp, method: Method, path: &str, body: Body) -> (u16, String, String) {
        let mut req = self.client.http.request(method, app.url(path));
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        req = match body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Upload(bytes) => {
                let part = reqwest::multipart::Part::bytes(bytes).file_name("花名册.csv");
                // A browser script sends the session's CSRF token in a header.
                let token = self.client.csrf().await;
                req.header("x-csrf-token", token).multipart(reqwest::multipart::Form::new().part("file", part))
            }
        };
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = res.text().await.unwrap_or_default();
        (status, location, text)
    }
}

#[tokio::test]
async fn each_role_can_do_exactly_what_it_should() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let other = app.community("other", "另一个社区").await;
    let people: [(&str, &str, Role); 8] = [
        ("13800000101", "居民", Role::Resident),
        ("13800000102", "家属", Role::Family),
        ("13800000103", "网格员", Role::GridWorker),
        ("13800000104", "社区工作者", Role::Staff),
        ("13800000105", "联络员", Role::Liaison),
        ("13800000106", "志愿者", Role::Volunteer),
        ("13800000107", "商户", Role::Merchant),
        ("13800000108", "管理员", Role::Admin),
    ];
    let mut user_ids = Vec::new();
    for (phone, name, role) in people {
        user_ids.push(app.user(phone, name, c, &[role]).await);
    }
    app.user("13800000109", "外社区工作者", other, &[Role::Staff]).await;

    // One resident in 第一网格, the grid our grid worker walks.
    let staff = app.login("13800000104").await;
    let id = kernel::crypto::IdCardNumber::with_check_digit("32010219500101123");
    let res = staff
        .post_json(&format!("{BASE}/residents"), &json!({"name": "张建国", "id_number": id.as_str(), "building": "翠微新村 3栋", "unit": "2单元", "room": "301"}))
        .await;
    assert_eq!(res.status(), 201);
    let resident_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let grid: i64 = sqlx::query_scalar("INSERT INTO grids (community_id, name, created_at) VALUES ($1, '第一网格', 0) RETURNING id")
        .bind(c)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE buildings SET grid_id = $1 WHERE community_id = $2").bind(grid).bind(c).execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(grid).bind(user_ids[2]).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let mut actors = Vec::new();
    for (phone, _, role) in people {
        actors.push(Actor { name: role.code(), client: app.login(phone).await, bearer: None });
    }
    actors.push(Actor { name: "other_community", client: app.login("13800000109").await, bearer: None });
    actors.push(Actor { name: "anonymous", client: app.client(), bearer: None });
    for (name, role) in [("key:staff", Role::Staff), ("key:grid_worker", Role::GridWorker)] {
        let (_, token) = kernel::auth::create_api_key(&app.state, name, kernel::community::CommunityId::new(c), role, None).await.unwrap();
        actors.push(Actor { name, client: app.client(), bearer: Some(token) });
    }
    assert_eq!(actors.iter().map(|a| a.name).collect::<Vec<_>>(), ACTORS);

    let csv = "\u{feff}姓名,楼栋,单元,房号\r\n李秀英,翠微新村 3栋,2单元,301\r\n".as_bytes().to_vec();
    let mut mismatches = Vec::new();
    let mut table = String::new();
    for (action, expected) in EXPECTED {
        table.push_str(&format!("{action:<22}"));
        for (i, actor) in actors.iter().enumerate() {
            let (method, path, body) = match *action {
                "list residents" => (Method::GET, format!("{BASE}/residents"), Body::None),
                "get resident" => (Method::GET, format!("{BASE}/residents/{resident_id}"), Body::None),
                "resident history" => (Method::GET, format!("{BASE}/residents/{resident_id}/history"), Body::None),
                "reveal ID" => (Method::POST, format!("{BASE}/residents/{resident_id}/reveal-id"), Body::Json(json!({"purpose": "办理居住证明"}))),
                "create resident" => (
                    Method::POST,
                    format!("{BASE}/residents"),
                    Body::Json(json!({"name": format!("新住户{i}"), "building": "翠微新村 3栋", "unit": "2单元", "room": format!("9{i:02}")})),
                ),
                "patch resident" => (
                    Method::PATCH,
                    format!("{BASE}/residents/{resident_id}"),
                    Body::Json(json!({"name": "张建国", "relation": "户主", "notes": format!("第 {i} 次核对")})),
                ),
                "import" => (Method::POST, format!("{BASE}/residents/import"), Body::Upload(csv.clone())),
                "export" => (Method::GET, format!("{BASE}/residents/export?format=csv"), Body::None),
                "list buildings" => (Method::GET, format!("{BASE}/buildings"), Body::None),
                "create building" => (Method::POST, format!("{BASE}/buildings"), Body::Json(json!({"name": format!("新楼 {i}栋"), "floors": 6}))),
                "list grids" => (Method::GET, format!("{BASE}/grids"), Body::None),
                "list households" => (Method::GET, format!("{BASE}/households"), Body::None),
                "community counts" => (Method::GET, BASE.to_string(), Body::None),
                "read outbox" => (Method::GET, "/api/v1/admin/outbox".to_string(), Body::None),
                "page /console" => (Method::GET, "/console".to_string(), Body::None),
                "page /console?c=" => (Method::GET, "/console?c=renjia".to_string(), Body::None),
                "page residents" => (Method::GET, "/console/residents?c=renjia".to_string(), Body::None),
                "page resident" => (Method::GET, format!("/console/residents/{resident_id}?c=renjia"), Body::None),
                "page import" => (Method::GET, "/console/import?c=renjia".to_string(), Body::None),
                other => panic!("no request for {other}"),
            };
            let (status, location, text) = actor.send(&app, method.clone(), &path, body).await;
            table.push_str(&format!(" {status}"));
            if status != expected[i] {
                let excerpt: String = text.chars().take(160).collect();
                mismatches.push(format!("  {action:<20} {:<16} {method} {path}: expected {}, got {status} {excerpt}", actor.name, expected[i]));
            }
            // The shape of a refusal is part of the contract.
            if status == 303 {
                assert!(location.starts_with("/login?next="), "{action} as {}: redirected to {location}", actor.name);
            }
            if path.starts_with("/api/") && status >= 400 {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert!(v["error"]["code"].is_string(), "{action} as {}: error shape: {text}", actor.name);
            }
        }
        table.push('\n');
    }
    if !mismatches.is_empty() {
        println!("actions × {ACTORS:?}\n{table}");
        panic!("{} permission mismatch(es):\n{}", mismatches.len(), mismatches.join("\n"));
    }

    // What was allowed really happened: the full ID number was shown to three actors (staff,
    // admin, staff key), each view logged; the grid-worker key saw an empty list.
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_log").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(logged, 3);
    let key_gw = &actors[11];
    let (_, _, list) = key_gw.send(&app, Method::GET, &format!("{BASE}/residents"), Body::None).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap()["items"], json!([]));
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let (id, token) = kernel::auth::create_api_key(&app.state, "区级平台", kernel::community::CommunityId::new(c), Role::Staff, None).await.unwrap();
    let (other_id, other_token) = kernel::auth::create_api_key(&app.state, "巡查终端", kernel::community::CommunityId::new(c), Role::GridWorker, None).await.unwrap();
    let client = app.client();
    let get = |path: String, token: String| {
        let req = client.http.get(app.url(&path)).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    // Used once, so anything that remembers keys has this one in hand.
    assert_eq!(get(format!("{BASE}/residents"), token.clone()).await.status(), 200);

    assert!(kernel::auth::revoke_api_key(&app.state, id).await.unwrap());
    let res = get(format!("{BASE}/residents"), token.clone()).await;
    assert_eq!(res.status(), 401, "the revoked key, on its very next request");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");
    assert_eq!(get(format!("{BASE}/buildings"), other_token).await.status(), 200, "other keys keep working");

    let keys = kernel::auth::list_api_keys(&app.state).await.unwrap();
    let listed: Vec<(i64, &str, Option<i64>)> = keys.iter().map(|k| (k.id, k.name.as_str(), k.revoked_at)).collect();
    assert_eq!(listed, [(id, "区级平台", Some(testkit::T0)), (other_id, "巡查终端", None)]);
    assert_eq!(keys[0].community, "renjia");
    assert!(!kernel::auth::revoke_api_key(&app.state, other_id + 100).await.unwrap(), "an unknown id is reported");
}

/// The hrefs on a page, resolved against `path` (`?…` keeps the path), same-site only.
fn links(path: &str, html: &str) -> Vec<String> {
    let here = path.split('?').next().unwrap_or(path);
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .filter_map(|h| match h.chars().next() {
            Some('/') if !h.starts_with("//") => Some(h),
            Some('?') => Some(format!("{here}{h}")),
            _ => None,
        })
        .filter(|h| !h.starts_with("/static/") && !h.contains("logout"))
        .collect()
}

/// A link's shape with its numbers taken out (`/console/residents/N?c=…`), so a crawl opens a
/// few of each kind of link rather than every resident.
fn shape(link: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in link.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('N');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out
}

/// Every link on every console page a demo role may open leads to a page that role may open
/// too: a page shows a link only when the permission its target checks is held (a liaison sees
/// buildings, but not the households and residents behind them).
#[tokio::test]
async fn every_link_on_a_page_a_role_may_open_opens_for_that_role() {
    let app = TestApp::start().await;
    linli::demo::seed(&app.state).await.unwrap();
    for (role, phone, _) in registry::demo::DEMO_LOGINS {
        let client = app.client();
        let res = client
            .post_json("/api/v1/auth/login", &json!({"phone": phone, "password": registry::demo::DEMO_PASSWORD}))
            .await;
        assert_eq!(res.status(), 200, "{role:?} logs in");
        let mut queue: Vec<(String, String)> = ["/", "/console", "/me", "/me/data"].iter().map(|p| (p.to_string(), "start".to_string())).collect();
        let mut seen_shapes: std::collections::HashMap<String, usize> = Default::default();
        let mut seen = std::collections::HashSet::new();
        let mut opened = 0;
        while let Some((path, from)) = queue.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let count = seen_shapes.entry(shape(&path)).or_default();
            *count += 1;
            if *count > 2 || opened > 80 {
                continue;
            }
            opened += 1;
            let res = client.get(&path).await;
            let status = res.status().as_u16();
            if from != "start" {
                assert_ne!(status, 403, "{role:?}: {from} links to {path}, which answers 403");
            }
            let is_page = res.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
            if status != 200 || !is_page {
                continue;
            }
            let html = res.text().await.unwrap();
            // Follow the console and the home pages; other pages' links are checked, not crawled.
            if path == "/" || path.starts_with("/console") || from == "start" {
                for link in links(&path, &html) {
                    queue.push((link, path.clone()));
                }
            }
        }
        assert!(opened > 3, "{role:?} opened pages");
    }
    app.stop().await;
}
