//! Who may handle which case: staff every case of their community, a grid worker only the cases
//! of their own grids (and those they entered or hold). Every case action is tried by a grid
//! worker of another grid, who must find nothing and change nothing; the same action by the
//! grid's own worker works. Also: idempotency keys belong to their sender, and an anonymous
//! report keeps no original photo.

use serde_json::{json, Value};
use testkit::{Client, TestApp};

/// An admin, staff, the workers of two grids, the resident who reports (李秀英) and her
/// neighbour (王强).
struct World {
    base: testkit::World,
    /// Grid worker of the first grid, where the case is.
    own: Client,
    /// Grid worker of the second grid.
    other: Client,
    neighbour: Client,
    own_id: i64,
    other_id: i64,
}

testkit::extends_world!(World);

/// The world, and a building in each grid: (world, first grid's, second grid's).
async fn world() -> (World, i64, i64) {
    let (own, other) = ("13800000003", "13800000004");
    let base = testkit::World::build()
        .admin("13800000009", "陈主任")
        .staff("13800000001", "周晓梅")
        .grid_worker(own, "网格员小刘")
        .grid_worker(other, "网格员小王")
        .resident("13800000006", "李秀英")
        .resident("13800000007", "王强")
        .start()
        .await;
    let first = base.building_in(base.grid("第一网格", &[own]).await, "翠微新村3栋").await;
    let second = base.building_in(base.grid("第二网格", &[other]).await, "南苑小区6栋").await;
    let w = World {
        own: base.client(own).clone(),
        other: base.client(other).clone(),
        neighbour: base.client("13800000007").clone(),
        own_id: base.user_id(own),
        other_id: base.user_id(other),
        base,
    };
    (w, first, second)
}


async fn add_photo(client: &Client, id: i64, stage: &str) -> reqwest::Response {
    let token = client.csrf().await;
    let form = reqwest::multipart::Form::new().part("photos", reqwest::multipart::Part::bytes(testkit::jpeg(5)).file_name("IMG_0001.jpg"));
    client.http.post(format!("{}/api/v1/cases/{id}/photos?stage={stage}&_csrf={token}", client.base())).multipart(form).send().await.unwrap()
}

async fn file(client: &Client, body: Value) -> Value {
    let res = client.post_json("/api/v1/communities/renjia/cases", &body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

fn ids(v: &Value) -> Vec<i64> {
    v["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

/// What one row of the case as stored says, to prove a refused action changed nothing.
async fn stored(app: &TestApp, id: i64) -> (String, String, Option<i64>, i64, Option<i64>) {
    sqlx::query_as("SELECT state, urgency, assignee_user_id, private, paused_at FROM cases WHERE id = $1").bind(id).fetch_one(&app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn a_grid_worker_of_another_grid_can_neither_see_nor_touch_a_case() {
    let (w, first, _second) = world().await;
    let case = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了,晚上下楼看不见", "building_id": first})).await;
    let id = case["id"].as_i64().unwrap();
    assert_eq!(add_photo(w.resident(), id, "before").await.status(), 201);
    let photo: i64 = sqlx::query_scalar("SELECT id FROM case_photos WHERE case_id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
    // Kept off the ledger, like a care case: the other grid must not be able to publish it.
    assert_eq!(w.staff().post_json(&format!("/api/v1/cases/{id}/visibility"), &json!({"private": true, "note": "涉及个人"})).await.status(), 200);
    let before = stored(&w.app, id).await;
    assert_eq!(before.2, Some(w.own_id), "routed to the grid's own worker");

    // Reads, by every actor: (path, [staff, own grid, other grid, author, neighbour, nobody]).
    let nobody = w.app.client();
    let actors = [w.staff(), &w.own, &w.other, w.resident(), &w.neighbour, &nobody];
    let reads: [(String, [u16; 6]); 5] = [
        (format!("/api/v1/cases/{id}"), [200, 200, 404, 200, 404, 401]),
        (format!("/console/cases/{id}"), [200, 200, 404, 404, 404, 303]),
        (format!("/case-photos/{photo}/original"), [200, 200, 404, 404, 404, 404]),
        (format!("/case-photos/{photo}/shown"), [200, 200, 404, 200, 404, 404]),
        (format!("/case-photos/{photo}/thumb"), [200, 200, 404, 200, 404, 404]),
    ];
    let names = ["staff", "own grid", "other grid", "author", "neighbour", "nobody"];
    for (path, expected) in &reads {
        for (i, actor) in actors.iter().enumerate() {
            let got = actor.get(path).await.status().as_u16();
            assert_eq!(got, expected[i], "{} GET {path}", names[i]);
        }
    }
    // The queue: the other grid's worker does not see it, in the API or on the page.
    assert!(ids(&w.staff().json("/api/v1/communities/renjia/cases").await).contains(&id));
    assert!(ids(&w.own.json("/api/v1/communities/renjia/cases").await).contains(&id));
    assert!(!ids(&w.other.json("/api/v1/communities/renjia/cases").await).contains(&id));
    assert!(!w.other.page("/console/cases?c=renjia").await.contains(&format!("/console/cases/{id}\"")));
    assert!(w.own.page("/console/cases?c=renjia").await.contains(&format!("/console/cases/{id}\"")));

    // Every action, first by the other grid's worker (refused, nothing changes), then by the
    // grid's own worker (done). (path, body).
    let actions: Vec<(String, Value)> = vec![
        (format!("/api/v1/cases/{id}/visibility"), json!({"private": false, "note": "公开"})),
        (format!("/api/v1/cases/{id}/wait"), json!({"waiting": true, "note": "等居民回电"})),
        (format!("/api/v1/cases/{id}/triage"), json!({"urgency": "urgent", "category": "repair", "reason": "夜间无照明"})),
        (format!("/api/v1/cases/{id}/assignment"), json!({"user_id": w.other_id, "note": "转给我"})),
        (format!("/api/v1/case-photos/{photo}/redaction"), json!({"cells": [0], "hidden": false})),
        (format!("/api/v1/cases/{id}/moves"), json!({"to": "acknowledged", "note": "已电话联系"})),
    ];
    for (path, body) in &actions {
        let res = w.other.post_json(path, body).await;
        assert_eq!(res.status(), 404, "other grid POST {path}");
        assert_eq!(stored(&w.app, id).await, before, "other grid POST {path} changed nothing");
    }
    assert_eq!(add_photo(&w.other, id, "after").await.status(), 404);
    let photos: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_photos WHERE case_id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(photos, 1);
    // The console's forms are refused the same way.
    let res = w.other.post_form(&format!("/console/cases/{id}/act"), &[("action", "public"), ("note", "x")]).await;
    assert_eq!(res.status(), 404);
    let res = w.other.post_form(&format!("/console/cases/{id}/moves"), &[("to", "acknowledged"), ("note", "x")]).await;
    assert_eq!(res.status(), 404);
    assert_eq!(stored(&w.app, id).await, before);

    // The grid's own worker does each of them (the assignment last but one: it hands the case on).
    for (path, body) in actions.iter().filter(|(p, _)| !p.ends_with("/assignment")) {
        let res = w.own.post_json(path, body).await;
        assert!(res.status().is_success(), "own grid POST {path}: {}", res.status());
    }
    assert_eq!(add_photo(&w.own, id, "before").await.status(), 201);
    let res = w.own.post_json(&format!("/api/v1/cases/{id}/assignment"), &json!({"user_id": w.other_id, "note": "交给第二网格"})).await;
    assert_eq!(res.status(), 200);
    // Once it is theirs, the other worker may handle it.
    assert_eq!(w.other.get(&format!("/api/v1/cases/{id}")).await.status(), 200);
    let _ = w.admin();
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn a_grid_worker_keeps_the_cases_they_entered_anywhere() {
    let (w, _first, second) = world().await;
    // The first grid's worker logs a problem they found in the second grid.
    let case = file(&w.own, json!({"text": "6栋门口井盖松动", "building_id": second, "source": "grid_worker"})).await;
    let id = case["id"].as_i64().unwrap();
    assert_eq!(w.own.get(&format!("/api/v1/cases/{id}")).await.status(), 200, "the one who entered it follows it");
    assert_eq!(w.other.get(&format!("/api/v1/cases/{id}")).await.status(), 200, "and it is in the second grid");
    // A case without a building belongs to no grid: staff handle it, grid workers do not.
    let loose = file(w.resident(), json!({"text": "小区后门有人乱倒建筑垃圾"})).await["id"].as_i64().unwrap();
    assert_eq!(w.staff().get(&format!("/api/v1/cases/{loose}")).await.status(), 200);
    let assignee: Option<i64> = sqlx::query_scalar("SELECT assignee_user_id FROM cases WHERE id = $1").bind(loose).fetch_one(&w.app.state.db.pool).await.unwrap();
    if assignee != Some(w.own_id) && assignee != Some(w.other_id) {
        assert_eq!(w.own.get(&format!("/api/v1/cases/{loose}")).await.status(), 404);
        assert_eq!(w.other.get(&format!("/api/v1/cases/{loose}")).await.status(), 404);
    }
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_sender_and_every_retry_gets_the_first_answer() {
    let (w, first, _) = world().await;
    let body = json!({"text": "3栋楼道的声控灯坏了", "building_id": first, "idempotency_key": "form-7f3a"});
    let mine = file(w.resident(), body.clone()).await;
    // A stranger who sends the same key files their own report and learns nothing of the first.
    let theirs = file(&w.neighbour, json!({"text": "南苑小区的路灯不亮", "idempotency_key": "form-7f3a"})).await;
    assert_ne!(theirs["id"], mine["id"]);
    // The same key with other words from the same sender is not a retry.
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &json!({"text": "别的事情", "idempotency_key": "form-7f3a"})).await;
    assert_eq!(res.status(), 422);
    // Parallel retries of one filing: one case, every caller gets it.
    let key = json!({"text": "小区垃圾桶满了没人清", "idempotency_key": "burst-1"});
    let mut running = Vec::new();
    for _ in 0..40 {
        let client = w.resident().clone();
        let key = key.clone();
        running.push(tokio::spawn(async move {
            let res = client.post_json("/api/v1/communities/renjia/cases", &key).await;
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }));
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in running {
        let (status, v) = r.await.unwrap();
        assert!(status == 201 || status == 200, "{status} {v}");
        seen.insert(v["id"].as_i64().unwrap());
    }
    assert_eq!(seen.len(), 1, "one case for every retry: {seen:?}");
    // Anonymous retries get the same private link back.
    let visitor = w.app.client();
    let anon = json!({"text": "小区门口井盖没了", "anonymous": true, "idempotency_key": "anon-key-0123456789"});
    let a = file(&visitor, anon.clone()).await;
    let b = file(&visitor, anon).await;
    assert_eq!(a["id"], b["id"]);
    assert!(a["follow_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(a["follow_token"], b["follow_token"]);
    // An anonymous filing's key names nobody, even when the filer is logged in.
    let by_resident = file(w.resident(), json!({"text": "有人在楼道里抽烟", "anonymous": true, "idempotency_key": "anon-while-logged-in"})).await;
    let by_visitor = file(&visitor, json!({"text": "有人在楼道里抽烟", "anonymous": true, "idempotency_key": "anon-while-logged-in"})).await;
    assert_eq!(by_resident["id"], by_visitor["id"], "the key is in the anonymous scope, not the resident's");
    let stored: String = sqlx::query_scalar("SELECT idempotency_key FROM cases WHERE text = '有人在楼道里抽烟'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert!(!stored.contains("anon-while-logged-in"), "the key is kept only as a keyed hash: {stored}");
}

#[tokio::test]
async fn an_anonymous_report_keeps_no_original_photo_nor_its_file_name() {
    let (w, _, _) = world().await;
    let visitor = w.app.client();
    let token = visitor.csrf().await;
    let mut original = testkit::jpeg(9);
    // An EXIF block with the owner's name, as a phone writes it.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    exif.extend_from_slice(&[1, 0, 0x3b, 0x01, 2, 0, 8, 0, 0, 0, 0x1a, 0, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"HUANGJH\0");
    let mut with_exif = original[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&exif);
    with_exif.extend_from_slice(&original[2..]);
    original = with_exif;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token.clone())
        .text("key", "anon-photo-1")
        .text("text", "小区后门有人乱倒建筑垃圾")
        .text("confirm", "1")
        .part("photos", reqwest::multipart::Part::bytes(original).file_name("黄金海_自家窗口_IMG_0001.jpg"));
    let res = visitor.http.post(format!("{}/cases/new?_csrf={token}", visitor.base())).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let photo: i64 = sqlx::query_scalar("SELECT id FROM case_photos").fetch_one(&w.app.state.db.pool).await.unwrap();
    let res = w.staff().get(&format!("/case-photos/{photo}/original")).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers().get("content-disposition").map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
    assert!(!disposition.contains("IMG_0001") && !disposition.contains("%E9%BB%84"), "{disposition}");
    let bytes = res.bytes().await.unwrap();
    assert!(!bytes.windows(7).any(|w| w == b"HUANGJH"), "no EXIF owner in what staff get");
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    let names: Vec<String> = sqlx::query_scalar("SELECT original_name FROM blobs WHERE purpose = 'case_photo'").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert!(names.iter().all(|n| n == "photo.jpg"), "{names:?}");
}

#[tokio::test]
async fn visitors_without_an_account_file_a_bounded_number_of_reports_per_address() {
    let (w, _, _) = world().await;
    let visitor = w.app.client();
    let limit = cases::service::VISITOR_REPORTS.limit;
    for i in 0..limit {
        file(&visitor, json!({"text": format!("小区后门第{i}次有人乱倒垃圾"), "anonymous": true, "idempotency_key": format!("visitor-{i}")})).await;
    }
    let res = visitor.post_json("/api/v1/communities/renjia/cases", &json!({"text": "再报一次", "anonymous": true})).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // Someone in danger is not turned away because others at the address spent its hour.
    let res = visitor.post_json("/api/v1/communities/renjia/cases", &json!({"text": "楼道里有人晕倒了，叫不醒", "anonymous": true, "danger_now": true})).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // Its alerts wait for an SMS gateway this world does not have, and its clocks run on.
    w.app.allow_leftover_jobs();
    // A retry of a report already filed still gets its answer.
    let again = file(&visitor, json!({"text": "小区后门第0次有人乱倒垃圾", "anonymous": true, "idempotency_key": "visitor-0"})).await;
    assert!(again["follow_token"].is_string());
    // Residents who are logged in are not counted, even when they file anonymously.
    file(w.resident(), json!({"text": "楼道里有人抽烟", "anonymous": true})).await;
    // The next hour, the address may file again.
    w.app.clock.advance(cases::service::VISITOR_REPORTS.window_ms);
    file(&visitor, json!({"text": "又有人乱倒垃圾", "anonymous": true})).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quotas").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(rows, 1, "ended windows are purged");
}

#[tokio::test]
async fn a_duplicate_is_merged_only_into_a_case_within_reach() {
    let (w, first, second) = world().await;
    let mine = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": first})).await["id"].as_i64().unwrap();
    let theirs = file(&w.neighbour, json!({"text": "6栋楼道的声控灯也坏了", "building_id": second})).await["id"].as_i64().unwrap();
    let res = w.own.post_json(&format!("/api/v1/cases/{mine}/moves"), &json!({"to": "duplicate", "parent_id": theirs})).await;
    assert_eq!(res.status(), 422, "another grid's case is not a target");
    let missing = w.own.post_json(&format!("/api/v1/cases/{mine}/moves"), &json!({"to": "duplicate", "parent_id": 99_999})).await;
    assert_eq!(missing.status(), 422);
    assert_eq!(res.text().await.unwrap(), missing.text().await.unwrap(), "a case out of reach answers as one that does not exist");
    let followers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_followers WHERE case_id = $1").bind(theirs).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(followers, 0);
    // Staff may merge across grids.
    let res = w.staff().post_json(&format!("/api/v1/cases/{mine}/moves"), &json!({"to": "duplicate", "parent_id": theirs})).await;
    assert_eq!(res.status(), 200);
}
