//! Text that would break what others read: control characters are refused wherever text comes
//! in and dropped from the Open311 XML feed (old data may hold them); a name that starts like
//! a spreadsheet formula is exported behind an apostrophe.

use kernel::auth::Role;
use serde_json::{json, Value};
use testkit::TestApp;

/// What XML 1.0 can carry at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

async fn app() -> (TestApp, i64, String) {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "周晓梅", c, &[Role::Staff]).await;
    let (_, key) = kernel::auth::create_api_key(&app.state, "fixmystreet", kernel::community::CommunityId::new(c), Role::Resident, None).await.unwrap();
    (app, c, key)
}

/// Files a report through Open311 and returns its status and the case id, if filed.
async fn file(app: &TestApp, key: &str, description: &str) -> (u16, Option<i64>) {
    let res = app
        .client()
        .http
        .post(app.url("/open311/v2/requests.json"))
        .form(&[("api_key", key), ("jurisdiction_id", "renjia"), ("service_code", "repair"), ("description", description)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body[0]["service_request_id"].as_str().and_then(|s| s.parse().ok()))
}

/// Puts a case in a building, as a staff member's edit would.
async fn place_case(app: &TestApp, case: i64, building: i64) {
    sqlx::query("UPDATE cases SET building_id = $1 WHERE id = $2").bind(building).bind(case).execute(&app.state.db.pool).await.unwrap();
}

#[tokio::test]
async fn control_characters_are_refused_in_reports_and_dropped_from_the_xml_feed() {
    let (app, c, key) = app().await;
    // Refused where they come in; a report may still run over several lines.
    assert_eq!(file(&app, &key, "楼道灯坏了\u{1}").await.0, 400);
    let res = app.client().post_json("/api/v1/triage", &json!({"text": "楼道灯坏了\u{7}"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["code"], "control_character");
    assert_eq!(app.client().post_json("/api/v1/triage", &json!({"text": "楼道灯坏了\r\n三楼"})).await.status(), 200);
    let (status, case) = file(&app, &key, "楼道灯坏了\n三楼东侧").await;
    assert_eq!(status, 201);

    // A building named before names were checked, with a control character in it.
    let building: i64 = sqlx::query_scalar(
        "INSERT INTO buildings (community_id, name, estate, floors, has_elevator, created_at, updated_at) VALUES ($1, $2, '', 6, 0, 0, 0) RETURNING id",
    )
    .bind(c)
    .bind("翠微新村\u{1}3栋\u{FFFF}")
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    place_case(&app, case.unwrap(), building).await;
    let xml = app.client().get("/open311/v2/requests.xml").await.text().await.unwrap();
    assert!(xml.contains("<address>翠微新村3栋</address>"), "{xml}");
    let bad: Vec<char> = xml.chars().filter(|c| !xml_char(*c)).collect();
    assert!(bad.is_empty(), "characters XML cannot hold: {bad:?}");
}

#[tokio::test]
async fn ledger_exports_put_formula_like_names_behind_an_apostrophe() {
    let (app, _, _) = app().await;
    let staff = app.login("13800000001").await;
    let base = "/api/v1/communities/renjia";
    let name = "=HYPERLINK(\"http://x.invalid\",\"点我\")";
    let res = staff.post_json(&format!("{base}/grids"), &json!({"name": name})).await;
    assert_eq!(res.status(), 201);
    let grid: Value = res.json().await.unwrap();
    let res = staff.post_json(&format!("{base}/buildings"), &json!({"name": "翠微新村 3栋", "grid_id": grid["id"], "floors": 6})).await;
    assert_eq!(res.status(), 201);
    let building = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = staff.post_json(&format!("{base}/cases"), &json!({"text": "楼道灯坏了", "building_id": building})).await;
    assert_eq!(res.status(), 201);

    let csv = app.client().get(&format!("{base}/ledger/figures?format=csv")).await.text().await.unwrap();
    let line = csv.lines().find(|l| l.starts_with("按网格,")).unwrap_or_else(|| panic!("{csv}"));
    assert!(line.starts_with("按网格,\"'=HYPERLINK(\"\"http://x.invalid\"\",\"\"点我\"\")\",1,"), "{line}");
    let bytes = app.client().get(&format!("{base}/ledger/figures?format=xlsx")).await.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let texts: Vec<String> = book
        .worksheets()
        .iter()
        .flat_map(|(_, range)| range.rows().map(|r| r[0].to_string()).collect::<Vec<_>>())
        .collect();
    assert!(texts.contains(&format!("'{name}")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with('=')), "{texts:?}");
}
