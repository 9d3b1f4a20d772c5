//! Working a case: photos (metadata stripped, thumbnails, redaction), places, assignment and the
//! escalation chain, admin service levels with working hours, waiting on the resident,
//! duplicate merge, triage overrides, the ledger's filters, plan, breakdowns and exports, and
//! Open311's notes.

use image::{DynamicImage, RgbImage};
use kernel::auth::Role;
use kernel::clock::{HOUR, MINUTE};
use testkit::World;

/// 周晓梅, the staff member the tests put on duty.
const STAFF: &str = "13800000001";
/// 网格员小刘, the worker of the grid [`grid_building`] makes.
const WORKER: &str = "13800000003";

async fn world() -> World {
    World::build()
        .sms()
        .admin("13800000009", "陈主任")
        .staff(STAFF, "周晓梅")
        .staff("13800000002", "孙立")
        .grid_worker(WORKER, "网格员小刘")
        .resident("13800000006", "李秀英")
        .start()
        .await
}

async fn file(client: &testkit::Client, body: serde_json::Value) -> serde_json::Value {
    let res = client.post_json("/api/v1/communities/renjia/cases", &body).await;
    let status = res.status();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

async fn mv(client: &testkit::Client, id: i64, body: serde_json::Value) -> reqwest::Response {
    client.post_json(&format!("/api/v1/cases/{id}/moves"), &body).await
}

/// A grid with a grid worker, and a building in it placed on the plan, with one unit.
async fn grid_building(w: &World) -> (i64, i64, i64) {
    let grid = w.grid("第一网格", &[WORKER]).await;
    let building = w.building_in(grid, "翠微新村3栋").await;
    w.place_on_plan(building, 200, 300).await;
    (grid, building, w.unit(building, "2单元").await)
}

/// A JPEG whose EXIF block carries a GPS position (and a marker to look for).
fn photo_with_gps(seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, 128]));
    let mut plain = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut plain), image::ImageFormat::Jpeg).unwrap();
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    exif.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPSMARKER-32.0603N118.7969E");
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&plain[2..]);
    out
}

async fn add_photos(client: &testkit::Client, id: i64, stage: &str, photos: Vec<Vec<u8>>) -> reqwest::Response {
    let token = client.csrf().await;
    let mut form = reqwest::multipart::Form::new();
    for (i, p) in photos.into_iter().enumerate() {
        form = form.part("photos", reqwest::multipart::Part::bytes(p).file_name(format!("IMG_{i}.jpg")));
    }
    client.http.post(client_url(client, &format!("/api/v1/cases/{id}/photos?stage={stage}&_csrf={token}"))).multipart(form).send().await.unwrap()
}

fn client_url(client: &testkit::Client, path: &str) -> String {
    format!("{}{path}", client.base())
}

async fn bytes(client: &testkit::Client, path: &str) -> (u16, Vec<u8>) {
    let res = client.get(path).await;
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn photos_lose_their_location_get_thumbnails_and_go_public_only_after_a_response() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "3栋门口的路面塌了一个坑"})).await["id"].as_i64().unwrap();
    let res = add_photos(w.resident(), id, "before", vec![photo_with_gps(1), photo_with_gps(2)]).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    let photos = case["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    let (shown, thumb, photo_id) = (photos[0]["url"].as_str().unwrap(), photos[0]["thumb_url"].as_str().unwrap(), photos[0]["id"].as_i64().unwrap());
    // What is shown carries no metadata; the original (staff only) keeps it.
    for path in [shown, thumb] {
        let (status, body) = bytes(w.staff(), path).await;
        assert_eq!(status, 200);
        assert!(body.starts_with(&[0xFF, 0xD8]) && !body.windows(9).any(|x| x == b"GPSMARKER") && !body.windows(4).any(|x| x == b"Exif"));
    }
    let (status, original) = bytes(w.staff(), &format!("/case-photos/{photo_id}/original")).await;
    assert_eq!(status, 200);
    assert!(original.windows(9).any(|x| x == b"GPSMARKER"));
    assert_eq!(bytes(w.resident(), &format!("/case-photos/{photo_id}/original")).await.0, 404, "originals are for staff");
    assert_eq!(bytes(w.resident(), shown).await.0, 200, "the author sees their photos");
    // The public: nothing before staff have responded, then the shown photo and thumbnail.
    let public = w.app.client();
    assert_eq!(bytes(&public, thumb).await.0, 404);
    let ledger = public.json("/api/v1/communities/renjia/ledger").await;
    assert!(ledger["cases"]["items"][0]["photos"].as_array().unwrap().is_empty());
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已电话联系,今天下午去看"})).await.status(), 200);
    assert_eq!(bytes(&public, thumb).await.0, 200);
    let ledger = public.json("/api/v1/communities/renjia/ledger").await;
    assert_eq!(ledger["cases"]["items"][0]["photos"].as_array().unwrap().len(), 2);
    // Redaction: blurred cells change the shown photo; hiding takes it off the ledger.
    let (_, before) = bytes(w.staff(), shown).await;
    let res = w.staff().post_json(&format!("/api/v1/case-photos/{photo_id}/redaction"), &serde_json::json!({"cells": [0, 5]})).await;
    assert_eq!(res.status(), 200);
    let red: serde_json::Value = res.json().await.unwrap();
    assert_eq!(red["redacted_cells"], serde_json::json!([0, 5]));
    let (_, after) = bytes(w.staff(), red["url"].as_str().unwrap()).await;
    assert_ne!(before, after, "the shown photo is made again");
    let res = w.staff().post_json(&format!("/api/v1/case-photos/{photo_id}/redaction"), &serde_json::json!({"cells": [], "hidden": true})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(bytes(&public, thumb).await.0, 404, "a hidden photo is off the ledger");
    let ledger = public.json("/api/v1/communities/renjia/ledger").await;
    assert_eq!(ledger["cases"]["items"][0]["photos"].as_array().unwrap().len(), 1);
    assert_eq!(w.resident().post_json(&format!("/api/v1/case-photos/{photo_id}/redaction"), &serde_json::json!({"cells": [1]})).await.status(), 404);
    let timeline = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert!(timeline["events"].as_array().unwrap().iter().any(|e| e["kind"] == "photo_redacted"));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn only_real_images_and_at_most_nine_are_taken() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "单元门口的垃圾没人收"})).await["id"].as_i64().unwrap();
    let res = add_photos(w.resident(), id, "before", vec![b"<html><script>alert(1)</script>".to_vec()]).await;
    assert_eq!(res.status(), 422);
    let res = add_photos(w.resident(), id, "before", vec![b"\xFF\xD8\xFFnot really a jpeg".to_vec()]).await;
    assert_eq!(res.status(), 422, "a broken image is refused");
    let res = add_photos(w.resident(), id, "before", (0..10).map(photo_with_gps).collect()).await;
    assert_eq!(res.status(), 422);
    assert_eq!(add_photos(w.resident(), id, "before", (0..9).map(photo_with_gps).collect()).await.status(), 201);
    assert_eq!(add_photos(w.resident(), id, "before", vec![photo_with_gps(50)]).await.status(), 422, "nine per stage");
    assert_eq!(add_photos(w.resident(), id, "after", vec![photo_with_gps(51)]).await.status(), 403, "after photos come from staff");
    let other = w.app.client();
    assert_eq!(add_photos(&other, id, "before", vec![photo_with_gps(52)]).await.status(), 401);
}

#[tokio::test]
async fn a_report_with_photos_is_filed_from_the_page_and_resolved_with_an_after_photo() {
    let w = world().await;
    let (_, _, unit) = grid_building(&w).await;
    let page = w.resident().page("/cases/new?k=form-1").await;
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains(&format!("value=\"u{unit}\"")));
    let token = w.resident().csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token.clone())
        .text("key", "page-key-1")
        .text("text", "楼道里的扶手松了,老人扶着很危险")
        .text("building_id", format!("u{unit}"))
        .text("confirm", "1")
        .part("photos", reqwest::multipart::Part::bytes(photo_with_gps(3)).file_name("a.jpg"))
        .part("photos", reqwest::multipart::Part::bytes(Vec::new()).file_name(""));
    let res = w.resident().http.post(client_url(w.resident(), &format!("/cases/new?_csrf={token}"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let id: i64 = res.headers()["location"].to_str().unwrap().trim_start_matches("/cases/").parse().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["photos"].as_array().unwrap().len(), 1);
    assert_eq!((case["unit"].as_str(), case["building"].as_str()), (Some("2单元"), Some("翠微新村3栋")), "a unit implies its building");
    assert_eq!(case["assignee"], "网格员小刘", "routed to the grid worker of the building's grid");
    // Staff resolve on the console with an after photo and no note.
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已联系"})).await.status(), 200);
    let res = mv(w.staff(), id, serde_json::json!({"to": "resolved"})).await;
    assert_eq!(res.status(), 422, "a result needs a note or a photo");
    let form = reqwest::multipart::Form::new()
        .text("_csrf", w.staff().csrf().await)
        .text("to", "resolved")
        .part("photos", reqwest::multipart::Part::bytes(photo_with_gps(4)).file_name("after.jpg"));
    let token = w.staff().csrf().await;
    let res = w.staff().http.post(client_url(w.staff(), &format!("/console/cases/{id}/moves?_csrf={token}"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "resolved");
    let stages: Vec<&str> = case["photos"].as_array().unwrap().iter().map(|p| p["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["before", "after"]);
    let staff_page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(staff_page.contains("redact-grid") && staff_page.contains("name=\"cell\""));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn places_are_checked_against_the_registry() {
    let w = world().await;
    let (_, building, unit) = grid_building(&w).await;
    let other = w.app.community("other", "别的社区").await;
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let foreign_building: i64 = sqlx::query_scalar("INSERT INTO buildings (community_id, name, estate, floors, has_elevator, created_at, updated_at) VALUES ($1, 'X', '', 6, 0, 0, 0) RETURNING id")
        .bind(other)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let foreign_unit: i64 = sqlx::query_scalar("INSERT INTO units (building_id, name) VALUES ($1, '1单元') RETURNING id").bind(foreign_building).fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "门禁坏了", "unit_id": foreign_unit})).await;
    assert_eq!(res.status(), 422);
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "门禁坏了", "lat": 132.0, "long": 118.8})).await;
    assert_eq!(res.status(), 422);
    let filed = file(w.resident(), serde_json::json!({"text": "门禁坏了", "unit_id": unit, "lat": 32.060312, "long": 118.796877})).await;
    let case = w.staff().json(&format!("/api/v1/cases/{}", filed["id"])).await;
    assert_eq!(case["building_id"], building);
    assert_eq!(case["point"], serde_json::json!([32.060312, 118.796877]));
}

async fn settings(w: &World, body: serde_json::Value) -> reqwest::Response {
    w.admin().put_json("/api/v1/communities/renjia/case-settings", &body).await
}

fn empty_settings() -> serde_json::Value {
    serde_json::json!({"sla": [], "work_hours": [], "calendar_days": [], "duty_roster": [], "routes": []})
}

#[tokio::test]
async fn admins_set_service_levels_and_new_cases_follow_them() {
    let w = world().await;
    let mut s = empty_settings();
    s["sla"] = serde_json::json!([
        {"urgency": "normal", "first_response_minutes": 30, "result_minutes": 600},
        {"urgency": "normal", "category": "sanitation", "first_response_minutes": 60, "result_minutes": 1200},
    ]);
    assert_eq!(w.staff().put_json("/api/v1/communities/renjia/case-settings", &s).await.status(), 403, "admins only");
    let res = settings(&w, s.clone()).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let a = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了"})).await;
    let case = w.staff().json(&format!("/api/v1/cases/{}", a["id"])).await;
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 30 * MINUTE);
    assert_eq!(case["result_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 10 * HOUR);
    let b = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清,臭得很"})).await;
    assert_eq!(b["category"], "sanitation");
    let case = w.staff().json(&format!("/api/v1/cases/{}", b["id"])).await;
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), HOUR, "a category's own level wins");
    // Nonsense is refused, whole, and the settings stay.
    let mut bad = empty_settings();
    bad["sla"] = serde_json::json!([{"urgency": "low", "first_response_minutes": 120, "result_minutes": 60}]);
    assert_eq!(settings(&w, bad).await.status(), 422);
    let res = settings(&w, serde_json::json!({"sla": []})).await;
    assert_eq!(res.status(), 422, "every list is required");
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["fields"][0]["code"], "required");
    assert_eq!(w.staff().json("/api/v1/communities/renjia/case-settings").await["sla"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn working_hours_clocks_skip_the_night_and_holidays() {
    let w = world().await;
    let mut s = empty_settings();
    s["sla"] = serde_json::json!([{"urgency": "normal", "first_response_minutes": 120, "result_minutes": 480, "working_hours": true}]);
    // The fake clock starts at T0; make the day after T0 a holiday.
    let tomorrow = chrono::DateTime::from_timestamp_millis(testkit::T0 + 8 * HOUR + 24 * HOUR).unwrap().format("%Y-%m-%d").to_string();
    s["calendar_days"] = serde_json::json!([{"day": tomorrow, "working": false}]);
    assert_eq!(settings(&w, s).await.status(), 200);
    let filed = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了"})).await;
    let case = w.staff().json(&format!("/api/v1/cases/{}", filed["id"])).await;
    let (created, first_due) = (case["created_at"].as_i64().unwrap(), case["first_response_due"].as_i64().unwrap());
    assert!(first_due - created >= 2 * HOUR, "never earlier than clock time");
    // The due time falls inside working hours, on a working day that is not the holiday.
    let local = chrono::DateTime::from_timestamp_millis(first_due + 8 * HOUR).unwrap();
    use chrono::{Datelike, Timelike};
    let minute = local.hour() * 60 + local.minute();
    assert!((8 * 60 + 30..=17 * 60 + 30).contains(&minute), "{local}");
    assert!(local.weekday().number_from_monday() <= 5, "{local}");
    assert_ne!(local.format("%Y-%m-%d").to_string(), tomorrow);
}

#[tokio::test]
async fn a_missed_case_escalates_from_the_assignee_to_the_staff_on_duty_to_the_head() {
    let w = world().await;
    let (_, building, _) = grid_building(&w).await;
    // Only 周晓梅 is on duty, every day.
    let mut s = empty_settings();
    s["duty_roster"] = serde_json::json!((1..=7).map(|d| serde_json::json!({"weekday": d, "user_id": w.user_id(STAFF)})).collect::<Vec<_>>());
    assert_eq!(settings(&w, s).await.status(), 200);
    let id = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了", "building_id": building})).await["id"].as_i64().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["assignee"], "网格员小刘");
    assert_eq!(case["escalation_level"], 0);
    w.app.run_jobs().await;
    let worker = w.app.login("13800000003").await;
    let inbox = worker.json("/api/v1/me/notifications").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|m| m["title"].as_str().unwrap().contains(&format!("#{id}"))), "the assignee hears of it");
    // The first response is missed: the staff on duty get a text.
    w.app.clock.advance(2 * HOUR + MINUTE);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["escalation_level"], 1);
    let to: Vec<String> = w.sms().sent().iter().map(|t| t.to.clone()).collect();
    assert!(to.contains(&"13800000001".to_string()), "{to:?}");
    assert!(!to.contains(&"13800000002".to_string()), "not on duty: {to:?}");
    assert!(!to.contains(&"13800000009".to_string()), "the head is not bothered yet: {to:?}");
    // Still nothing an hour later (half the span again): the community head.
    w.app.clock.advance(HOUR);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["escalation_level"], 2);
    assert!(w.sms().sent().iter().any(|t| t.to == "13800000009"), "the head gets a text");
    let kinds: Vec<&str> = case["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "escalated").count(), 2, "{kinds:?}");
    // Reassigned, the first owner stays accountable.
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/assignment"), &serde_json::json!({"user_id": w.user_id(STAFF), "note": "网格员请假"})).await;
    assert_eq!(res.status(), 200);
    let case: serde_json::Value = res.json().await.unwrap();
    assert_eq!((case["assignee"].as_str(), case["owner"].as_str()), (Some("周晓梅"), Some("网格员小刘")));
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/assignment"), &serde_json::json!({"user_id": 999_999})).await;
    assert_eq!(res.status(), 422);
}

async fn assignee(w: &World, filed: &serde_json::Value) -> serde_json::Value {
    w.staff().json(&format!("/api/v1/cases/{}", filed["id"])).await["assignee"].clone()
}

async fn wait(w: &World, id: i64, waiting: bool, note: &str) -> reqwest::Response {
    w.staff().post_json(&format!("/api/v1/cases/{id}/wait"), &serde_json::json!({"waiting": waiting, "note": note})).await
}

#[tokio::test]
async fn routes_by_category_and_grid_decide_who_gets_a_case() {
    let w = world().await;
    let (grid, building, _) = grid_building(&w).await;
    let mut s = empty_settings();
    s["routes"] = serde_json::json!([{"category": "safety", "user_id": w.user_id(STAFF)}, {"category": "repair", "grid_id": grid, "user_id": w.user_id(STAFF)}]);
    assert_eq!(settings(&w, s).await.status(), 200);
    let repair = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了", "building_id": building})).await;
    let sanitation = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清", "building_id": building})).await;
    let nowhere = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清"})).await;
    assert_eq!(assignee(&w, &repair).await, "周晓梅", "category and grid");
    assert_eq!(assignee(&w, &sanitation).await, "网格员小刘", "no route: the grid's worker");
    assert_eq!(assignee(&w, &nowhere).await, serde_json::Value::Null, "no building, no route: the staff pool");
}

#[tokio::test]
async fn waiting_on_the_resident_stops_the_clocks() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "家里厨房水龙头一直滴水"})).await["id"].as_i64().unwrap();
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已联系,约上门时间"})).await.status(), 200);
    let before = w.staff().json(&format!("/api/v1/cases/{id}")).await["result_due"].as_i64().unwrap();
    assert_eq!(wait(&w, id, true, "").await.status(), 422, "say what is awaited");
    assert_eq!(wait(&w, id, true, "居民出差,下周二在家").await.status(), 200);
    assert_eq!(wait(&w, id, true, "again").await.status(), 409);
    w.app.clock.advance(30 * HOUR);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["result_clock"], "paused");
    assert!(case["events"].as_array().unwrap().iter().all(|e| e["kind"] != "clock_breached"), "no breach while waiting");
    assert_eq!(wait(&w, id, false, "").await.status(), 200);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["result_due"].as_i64().unwrap(), before + 30 * HOUR, "the wait is added to the due time");
    assert_eq!(case["result_clock"], "on_track");
    // The old checks do nothing; the new ones fire at the new due time.
    w.app.clock.advance(HOUR);
    w.app.run_jobs().await;
    assert!(w.staff().json(&format!("/api/v1/cases/{id}")).await["events"].as_array().unwrap().iter().all(|e| e["kind"] != "clock_breached"));
    w.app.clock.advance(24 * HOUR);
    w.app.run_jobs().await;
    assert!(w.staff().json(&format!("/api/v1/cases/{id}")).await["events"].as_array().unwrap().iter().any(|e| e["kind"] == "clock_breached"));
}

#[tokio::test]
async fn a_duplicate_merges_into_its_parent_and_its_followers_move_with_it() {
    let w = world().await;
    w.app.user("13800000007", "王强", w.community_id, &[Role::Resident]).await;
    let follower = w.app.login("13800000007").await;
    let parent = file(w.resident(), serde_json::json!({"text": "5栋门口的路灯坏了"})).await["id"].as_i64().unwrap();
    let child = file(w.staff(), serde_json::json!({"text": "5栋那边路灯不亮", "source": "phone"})).await["id"].as_i64().unwrap();
    assert_eq!(follower.post_json(&format!("/api/v1/cases/{child}/follow"), &serde_json::json!({})).await.status(), 204);
    assert_eq!(mv(w.staff(), child, serde_json::json!({"to": "duplicate"})).await.status(), 422, "merging needs the parent");
    assert_eq!(mv(w.staff(), child, serde_json::json!({"to": "duplicate", "parent_id": child})).await.status(), 422, "not into itself");
    let res = mv(w.staff(), child, serde_json::json!({"to": "duplicate", "parent_id": parent})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let merged: serde_json::Value = w.staff().json(&format!("/api/v1/cases/{child}")).await;
    assert_eq!(merged["parent_id"], parent);
    let p = w.staff().json(&format!("/api/v1/cases/{parent}")).await;
    assert!(p["events"].as_array().unwrap().iter().any(|e| e["kind"] == "merged_in" && e["note"] == format!("#{child}")));
    // The follower now hears of the parent's progress.
    assert_eq!(mv(w.staff(), parent, serde_json::json!({"to": "acknowledged", "note": "已报修"})).await.status(), 200);
    w.app.run_jobs().await;
    let inbox = follower.json("/api/v1/me/notifications").await;
    // In words for someone who follows it, not as if they had reported it, with its public page.
    assert!(
        inbox["items"].as_array().unwrap().iter().any(|m| m["title"].as_str().unwrap().contains(&format!("您关注的问题 #{parent}")) && m["link"] == format!("/ledger/cases/{parent}")),
        "{inbox}"
    );
}

#[tokio::test]
async fn two_cases_merged_into_each_other_at_once_leave_one_open() {
    let w = world().await;
    let (a, b) = (w.staff(), w.app.login("13800000002").await);
    for round in 0..4 {
        let one = file(w.resident(), serde_json::json!({"text": format!("{round}号楼电梯坏了")})).await["id"].as_i64().unwrap();
        let two = file(w.resident(), serde_json::json!({"text": format!("{round}号楼电梯又坏了")})).await["id"].as_i64().unwrap();
        let (x, y) = tokio::join!(
            mv(a, one, serde_json::json!({"to": "duplicate", "parent_id": two})),
            mv(&b, two, serde_json::json!({"to": "duplicate", "parent_id": one})),
        );
        let (x, y) = (x.status().as_u16(), y.status().as_u16());
        assert!(!(x == 200 && y == 200), "round {round}: both merges went through");
        assert!(x == 200 || y == 200, "round {round}: one of them goes through ({x}, {y})");
        let mut states = Vec::new();
        for id in [one, two] {
            states.push(w.staff().json(&format!("/api/v1/cases/{id}")).await["state"].as_str().unwrap().to_string());
        }
        assert_eq!(states.iter().filter(|s| *s == "duplicate").count(), 1, "round {round}: {states:?}");
    }
    w.app.run_jobs().await;
}

#[tokio::test]
async fn staff_override_the_triage_with_a_reason_and_the_clocks_follow() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "楼下有个东西一直响"})).await["id"].as_i64().unwrap();
    let body = serde_json::json!({"urgency": "critical", "category": "safety", "reason": ""});
    assert_eq!(w.staff().post_json(&format!("/api/v1/cases/{id}/triage"), &body).await.status(), 422, "a reason is required");
    assert_eq!(w.resident().post_json(&format!("/api/v1/cases/{id}/triage"), &serde_json::json!({"urgency": "low", "category": "suggestion", "reason": "x"})).await.status(), 404);
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/triage"), &serde_json::json!({"urgency": "critical", "category": "safety", "reason": "电话回访:是燃气报警器在响"})).await;
    assert_eq!(res.status(), 200);
    let case: serde_json::Value = res.json().await.unwrap();
    assert_eq!((case["urgency"].as_str(), case["category"].as_str()), (Some("critical"), Some("safety")));
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 15 * MINUTE);
    let e = case["events"].as_array().unwrap().iter().find(|e| e["kind"] == "reclassified").unwrap().clone();
    assert!(e["note"].as_str().unwrap().contains("燃气报警器") && e["by"] == "staff");
    w.app.run_jobs().await;
    assert!(!w.sms().sent().is_empty(), "now critical: the staff on duty get a text");
}

#[tokio::test]
async fn the_ledger_filters_draws_the_plan_and_exports_its_figures() {
    let w = world().await;
    let (grid, building, _) = grid_building(&w).await;
    let light = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了", "building_id": building})).await["id"].as_i64().unwrap();
    let bins = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清"})).await["id"].as_i64().unwrap();
    assert_eq!(mv(w.staff(), bins, serde_json::json!({"to": "acknowledged", "note": "已安排"})).await.status(), 200);
    assert_eq!(mv(w.staff(), bins, serde_json::json!({"to": "resolved", "note": "已清运"})).await.status(), 200);
    let public = w.app.client();
    let ids = |v: serde_json::Value| v["cases"]["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(public.json("/api/v1/communities/renjia/ledger?category=repair").await), [light]);
    assert_eq!(ids(public.json("/api/v1/communities/renjia/ledger?status=done").await), [bins]);
    assert_eq!(ids(public.json(&format!("/api/v1/communities/renjia/ledger?grid_id={grid}")).await), [light]);
    assert_eq!(ids(public.json(&format!("/api/v1/communities/renjia/ledger?building_id={building}&status=open")).await), [light]);
    assert_eq!(public.get("/api/v1/communities/renjia/ledger?status=maybe").await.status(), 422);
    assert_eq!(public.get("/api/v1/communities/renjia/ledger?month=2026-13").await.status(), 422);
    assert_eq!(public.get("/api/v1/communities/renjia/ledger?month=2026-1").await.status(), 422, "YYYY-MM exactly");
    let plan = public.json("/api/v1/communities/renjia/ledger/plan").await;
    assert_eq!(plan[0]["open_cases"], 1);
    let by_category = public.json("/api/v1/communities/renjia/ledger/figures?by=category").await;
    let keys: Vec<&str> = by_category.as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["repair", "sanitation"]);
    let by_grid = public.json("/api/v1/communities/renjia/ledger/figures?by=grid").await;
    assert!(by_grid.as_array().unwrap().iter().any(|g| g["key"] == "第一网格" && g["figures"]["cases"] == 1));
    let csv = public.get("/api/v1/communities/renjia/ledger/figures?format=csv").await;
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("分项统计,分组,反映总数,按时响应率") && csv.contains("按类别,环境卫生,1,100%"), "{csv}");
    let xlsx = public.get("/api/v1/communities/renjia/ledger/figures?format=xlsx").await.bytes().await.unwrap();
    let book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    use calamine::Reader;
    assert_eq!(book.sheet_names().len(), 3);
    let page = public.page(&format!("/ledger/renjia?building_id={building}")).await;
    assert!(page.contains("data-testid=\"plan\"") && page.contains("data-open=\"1\"") && page.contains("data-testid=\"breakdown\""));
    assert!(page.contains(&format!("id=\"case-{light}\"")) && !page.contains(&format!("id=\"case-{bins}\"")));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn open311_carries_points_photos_and_the_notes_history() {
    let w = world().await;
    let (_, key) = kernel::auth::create_api_key(&w.app.state, "fixmystreet", kernel::community::CommunityId::new(w.community_id), Role::Resident, None).await.unwrap();
    let public = w.app.client();
    let res = public
        .http
        .post(client_url(&public, "/open311/v2/requests.json"))
        .form(&[("api_key", key.as_str()), ("service_code", "municipal"), ("description", "路灯不亮了"), ("lat", "32.06"), ("long", "118.79")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let id = res.json::<serde_json::Value>().await.unwrap()[0]["service_request_id"].as_str().unwrap().parse::<i64>().unwrap();
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已报市政"})).await.status(), 200);
    let one = public.json(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!((one[0]["lat"].as_str(), one[0]["long"].as_str()), (Some("32.060"), Some("118.790")), "rounded to about 100 m");
    assert!(one[0].get("notes").is_none(), "plain clients get the plain standard");
    let ext = public.json(&format!("/open311/v2/requests/{id}.json?extensions=true")).await;
    let notes = ext[0]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2, "{ext}");
    assert_eq!(notes[1]["summary"], "已响应");
    assert!(!ext.to_string().contains("已报市政"), "staff's words stay private");
    let xml = public.get(&format!("/open311/v2/requests/{id}.xml?extensions=true")).await.text().await.unwrap();
    assert!(xml.contains("<notes><note><datetime>"), "{xml}");
}

#[tokio::test]
async fn a_grid_worker_files_on_foot_for_a_resident() {
    let w = world().await;
    let (_, building, unit) = grid_building(&w).await;
    let resident_user = w.app.user("13900000123", "赵奶奶", w.community_id, &[Role::Resident]).await;
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let household: i64 = sqlx::query_scalar("INSERT INTO households (community_id, building_id, unit_id, room, created_at, updated_at) VALUES ($1, $2, $3, '301', 0, 0) RETURNING id")
        .bind(w.community_id)
        .bind(building)
        .bind(unit)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO residents (community_id, household_id, user_id, name, gender, phone, relation, notes, created_at, updated_at) VALUES ($1, $2, $3, '赵奶奶', 'female', '13900000123', '', '', 0, 0)")
        .bind(w.community_id)
        .bind(household)
        .bind(resident_user)
        .execute(&mut *tx)
        .await
        .unwrap();
    // Registered, but in no building of the grid worker's grids.
    sqlx::query("INSERT INTO residents (community_id, name, gender, phone, relation, notes, created_at, updated_at) VALUES ($1, '钱大爷', 'male', '13900000456', '', '', 0, 0)")
        .bind(w.community_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let worker = w.app.login("13800000003").await;
    let page = worker.page("/console/cases/quick").await;
    assert!(page.contains("name=\"quick\"") && page.contains("capture=\"environment\""));
    assert_eq!(w.resident().get("/console/cases/quick").await.status(), 403);
    let token = worker.csrf().await;
    let send = |phone: &'static str, key: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("quick", "1")
            .text("key", key)
            .text("text", "赵奶奶家门口的台阶碎了")
            .text("building_id", format!("b{building}"))
            .text("resident_phone", phone)
            .part("photos", reqwest::multipart::Part::bytes(photo_with_gps(9)).file_name("x.jpg"));
        worker.http.post(client_url(&worker, &format!("/cases/new?_csrf={token}"))).multipart(form).send()
    };
    // An unknown number, and a resident out of the grid worker's grids, are answered alike, in words.
    for (phone, key) in [("13900000999", "q1"), ("139 0000 0456", "q0")] {
        let res = send(phone, key).await.unwrap();
        assert_eq!(res.status(), 422, "{phone}");
        let body = res.text().await.unwrap();
        assert!(body.contains("没有找到登记这个手机号的居民（可不填）") && !body.contains("引用的记录不存在"), "{phone}");
    }
    let res = send("139-0000", "q9").await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("请输入 11 位手机号"));
    // Spaces and wide digits are the same number.
    let res = send("１３９　００００ ０１２３", "q8").await.unwrap();
    assert_eq!(res.status(), 303, "wide digits");
    let res = send("139 0000 0123", "q2").await.unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/console/cases/"));
    // Sent again on a poor connection: the same case.
    assert_eq!(send("13900000123", "q2").await.unwrap().headers()["location"].to_str().unwrap(), location);
    let id: i64 = location.trim_start_matches("/console/cases/").parse().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["source"], "grid_worker");
    assert_eq!((case["for_resident"].as_str(), case["entered_by"].as_str()), (Some("赵奶奶"), Some("网格员小刘")));
    assert_eq!(case["photos"].as_array().unwrap().len(), 1);
    // The resident follows it as their own.
    let grandma = w.app.login("13900000123").await;
    assert_eq!(grandma.json("/api/v1/me/cases").await[0]["id"], id);
}

#[tokio::test]
async fn admins_edit_levels_and_the_roster_on_the_console() {
    let w = world().await;
    let page = w.staff().page("/console/cases/settings").await;
    assert!(page.contains("data-testid=\"levels\"") && page.contains("disabled"), "staff read the settings");
    let mut fields: Vec<(String, String)> = vec![("c".into(), "renjia".into())];
    for (u, first, result) in [("critical", "10", "120"), ("urgent", "60", "1440"), ("normal", "90", "1440"), ("low", "120", "4320")] {
        fields.push((format!("first_{u}"), first.into()));
        fields.push((format!("result_{u}"), result.into()));
    }
    fields.push(("hours_low".into(), "1".into()));
    fields.push(("duty".into(), format!("1:{}", w.user_id(STAFF))));
    fields.push(("holidays".into(), "2027-01-01\n2027-02-16".into()));
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(w.staff().post_form("/console/cases/settings", &form).await.status(), 403, "admins only");
    let res = w.admin().post_form("/console/cases/settings", &form).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let s = w.admin().json("/api/v1/communities/renjia/case-settings").await;
    let critical = s["sla"].as_array().unwrap().iter().find(|p| p["urgency"] == "critical").unwrap().clone();
    assert_eq!((critical["first_response_minutes"].as_i64(), critical["result_minutes"].as_i64()), (Some(10), Some(120)));
    assert!(s["sla"].as_array().unwrap().iter().any(|p| p["urgency"] == "low" && p["working_hours"] == true));
    assert_eq!(s["duty_roster"], serde_json::json!([{"weekday": 1, "user_id": w.user_id(STAFF)}]));
    assert_eq!(s["calendar_days"].as_array().unwrap().len(), 2);
    // A bad value shows the page again with the reason; nothing changes.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "result_low");
    bad.push(("result_low", "5"));
    let res = w.admin().post_form("/console/cases/settings", &bad).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("role=\"alert\""));
    let page = w.admin().page("/console/cases/settings").await;
    assert!(page.contains("name=\"first_critical\" id=\"first_critical\" inputmode=\"decimal\" maxlength=\"12\" value=\"10\""));
    assert!(page.contains("<option value=\"hours\" selected>小时</option>"), "120 minutes shown as 2 hours");
}

#[tokio::test]
async fn a_resident_without_an_account_hears_of_the_first_response_and_the_result_by_text() {
    let w = world().await;
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let resident: i64 = sqlx::query_scalar(
        "INSERT INTO residents (community_id, name, gender, phone, relation, notes, created_at, updated_at) VALUES ($1, '钱爷爷', 'male', '13900000777', '', '', 0, 0) RETURNING id",
    )
    .bind(w.community_id)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = file(w.staff(), serde_json::json!({"text": "钱爷爷家厨房水龙头一直滴水", "source": "phone", "resident_id": resident})).await["id"].as_i64().unwrap();
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已回电,明早上门"})).await.status(), 200);
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "in_progress"})).await.status(), 200);
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "resolved", "note": "换了阀芯"})).await.status(), 200);
    w.app.run_jobs().await;
    let texts: Vec<String> = w.sms().sent().iter().filter(|t| t.to == "13900000777").map(|t| t.text.clone()).collect();
    assert_eq!(texts.len(), 2, "the first response and the result, not every step: {texts:?}");
    assert!(texts[1].contains("/r/"), "the rating link works without an account: {texts:?}");
}

#[tokio::test]
async fn a_grid_worker_sees_the_cases_assigned_to_them() {
    let w = world().await;
    let (_, building, _) = grid_building(&w).await;
    let theirs = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了", "building_id": building})).await["id"].as_i64().unwrap();
    let pool = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清"})).await["id"].as_i64().unwrap();
    let worker = w.app.login("13800000003").await;
    let ids = |v: serde_json::Value| v["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(worker.json("/api/v1/communities/renjia/cases?assignee=me").await), [theirs]);
    assert_eq!(ids(w.staff().json("/api/v1/communities/renjia/cases").await).len(), 2);
    assert_eq!(w.staff().get("/api/v1/communities/renjia/cases?assignee=someone").await.status(), 422);
    let page = worker.page("/console/cases?mine=1").await;
    assert!(page.contains(&format!("href=\"/console/cases/{theirs}\"")) && !page.contains(&format!("href=\"/console/cases/{pool}\"")));
}

#[tokio::test]
async fn an_anonymous_visitor_files_with_a_photo_and_sees_it_through_the_private_link_only() {
    let w = world().await;
    let visitor = w.app.client();
    let token = visitor.csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token.clone())
        .text("key", "anon-1")
        .text("text", "小区后门有人乱倒建筑垃圾")
        .text("confirm", "1")
        .part("photos", reqwest::multipart::Part::bytes(photo_with_gps(7)).file_name("p.jpg"));
    let res = visitor.http.post(client_url(&visitor, &format!("/cases/new?_csrf={token}"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let follow = res.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
    let page = visitor.page(&follow).await;
    let start = page.find("/case-photos/").expect("the photo is on the private page");
    let src = page[start..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(src.contains("?t="));
    assert_eq!(bytes(&visitor, &src).await.0, 200, "the private link shows the author their photo");
    assert_eq!(bytes(&visitor, src.split('?').next().unwrap()).await.0, 404, "without it, not before staff respond");
    assert_eq!(bytes(&visitor, &format!("{}?t=wrong", src.split('?').next().unwrap())).await.0, 404);
    // No uploader is recorded for an anonymous report's photos.
    let uploaders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE purpose = 'case_photo' AND uploaded_by IS NOT NULL")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(uploaders, 0);
}

#[tokio::test]
async fn care_cases_stay_off_the_public_ledger_until_staff_decide_otherwise() {
    let w = world().await;
    let care = file(w.resident(), serde_json::json!({"text": "我妈一个人住,想申请每周有人上门看看她"})).await;
    assert_eq!(care["category"], "care");
    let id = care["id"].as_i64().unwrap();
    let other = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清"})).await["id"].as_i64().unwrap();
    let public = w.app.client();
    let ids = |v: serde_json::Value| v["cases"]["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(public.json("/api/v1/communities/renjia/ledger").await), [other]);
    let open311 = public.json("/open311/v2/requests.json").await;
    assert!(open311.as_array().unwrap().iter().all(|r| r["service_request_id"] != id.to_string()), "{open311}");
    assert!(w.staff().json(&format!("/api/v1/cases/{id}")).await["private"].as_bool().unwrap());
    w.app.user("13800000016", "王阿姨", w.community_id, &[Role::Resident]).await;
    let neighbour = w.app.login("13800000016").await;
    assert_eq!(neighbour.post_json(&format!("/api/v1/cases/{id}/follow"), &serde_json::json!({})).await.status(), 404, "a private case cannot be followed");
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/visibility"), &serde_json::json!({"private": false, "note": "老人同意公开"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(ids(public.json("/api/v1/communities/renjia/ledger").await), [other, id], "newest first");
    assert_eq!(w.resident().post_json(&format!("/api/v1/cases/{other}/visibility"), &serde_json::json!({"private": true})).await.status(), 404);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert!(case["events"].as_array().unwrap().iter().any(|e| e["kind"] == "made_public"));
}

#[tokio::test]
async fn a_filer_who_says_lives_are_in_danger_is_believed() {
    let w = world().await;
    let filed = file(w.resident(), serde_json::json!({"text": "5栋楼下那个井边上围了好多人,快来看看", "danger_now": true})).await;
    assert_eq!(filed["urgency"], "critical");
    let case = w.staff().json(&format!("/api/v1/cases/{}", filed["id"])).await;
    assert_eq!(case["reasons"][0]["phrase"], "danger_now");
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 15 * MINUTE);
    w.app.run_jobs().await;
    assert!(w.sms().sent().iter().any(|t| t.to == "13800000001"), "the staff on duty get a text");
    let page = w.resident().page("/cases/new?k=form-2").await;
    assert!(page.contains("name=\"danger_now\"") && page.contains("href=\"tel:119\""));
}

#[tokio::test]
async fn a_reopened_case_gets_a_new_result_clock_and_the_filer_sees_only_their_steps() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "家里厨房水龙头一直滴水"})).await["id"].as_i64().unwrap();
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "acknowledged", "note": "已联系"})).await.status(), 200);
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/assignment"), &serde_json::json!({"user_id": w.user_id(STAFF), "note": "内部:交给周晓梅"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "resolved", "note": "换了阀芯"})).await.status(), 200);
    w.app.clock.advance(30 * HOUR);
    // Not solved: the author reopens it, and the result clock starts again from now.
    assert_eq!(mv(w.resident(), id, serde_json::json!({"to": "in_progress", "note": "还在滴"})).await.status(), 200);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    let now = w.app.state.now();
    assert_eq!(case["result_due"].as_i64().unwrap(), now + 24 * HOUR);
    assert_eq!(case["result_clock"], "on_track");
    w.app.clock.advance(24 * HOUR + MINUTE);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert!(case["events"].as_array().unwrap().iter().any(|e| e["kind"] == "clock_breached" && e["note"] == "result"), "the new clock escalates");
    // The filer sees the steps and what staff told them, not the office's workings.
    let mine = w.resident().json(&format!("/api/v1/cases/{id}")).await;
    let kinds: Vec<&str> = mine["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(!kinds.iter().any(|k| ["assigned", "clock_breached", "escalated"].contains(k)), "{kinds:?}");
    assert!(!mine.to_string().contains("内部"), "internal notes stay inside");
    assert_eq!(mine["escalation_level"], 0);
    // A finished case's triage is history.
    assert_eq!(mv(w.staff(), id, serde_json::json!({"to": "resolved", "note": "换了整个龙头"})).await.status(), 200);
    let res = w.staff().post_json(&format!("/api/v1/cases/{id}/triage"), &serde_json::json!({"urgency": "low", "category": "suggestion", "reason": "x"})).await;
    assert_eq!(res.status(), 422);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn an_alert_goes_only_to_people_on_duty_who_can_open_the_case() {
    let w = world().await;
    let (_, in_grid, _) = grid_building(&w).await;
    // A building outside the grid worker's grid.
    let res = w.admin().post_json("/api/v1/communities/renjia/buildings", &serde_json::json!({"name": "南苑小区8栋"})).await;
    assert_eq!(res.status(), 201);
    let outside = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    // Only the grid worker is on duty, every day.
    let mut s = empty_settings();
    s["duty_roster"] = serde_json::json!((1..=7).map(|d| serde_json::json!({"weekday": d, "user_id": w.user_id(WORKER)})).collect::<Vec<_>>());
    assert_eq!(settings(&w, s).await.status(), 200);
    // A gas smell in their own grid: the grid worker is texted, and the link opens for them.
    let id = file(w.resident(), serde_json::json!({"text": "楼道里一股很浓的煤气味，快来人", "building_id": in_grid})).await["id"].as_i64().unwrap();
    w.app.run_jobs().await;
    let to: Vec<String> = w.sms().sent().iter().map(|t| t.to.clone()).collect();
    assert!(to.contains(&"13800000003".to_string()), "{to:?}");
    let worker = w.app.login("13800000003").await;
    assert_eq!(worker.get(&format!("/console/cases/{id}")).await.status(), 200);
    // The same outside their grid: they could not open it, so the staff are texted instead.
    let before = w.sms().sent().len();
    let id = file(w.resident(), serde_json::json!({"text": "楼道里一股很浓的煤气味，快来人", "building_id": outside})).await["id"].as_i64().unwrap();
    w.app.run_jobs().await;
    let to: Vec<String> = w.sms().sent()[before..].iter().map(|t| t.to.clone()).collect();
    assert!(!to.contains(&"13800000003".to_string()), "{to:?}");
    assert!(to.contains(&"13800000001".to_string()) && to.contains(&"13800000002".to_string()), "{to:?}");
    assert_eq!(worker.get(&format!("/console/cases/{id}")).await.status(), 404);
}
