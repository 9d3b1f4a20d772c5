//! The community registry as staff, grid workers and residents meet it: spreadsheet import and
//! export, masked and encrypted ID numbers with an access log, the audit trail, grid scope,
//! a resident's own data, pagination and the automatic `elderly` tag.

use kernel::auth::Role;
use kernel::crypto::IdCardNumber;
use serde_json::{json, Value};
use testkit::{id_number, Client, TestApp};

const SLUG: &str = "renjia";
const BASE: &str = "/api/v1/communities/renjia";
const HEADER: &str = "姓名,手机号,身份证号,楼栋,单元,房号,与户主关系,标签,网格,备注";
const HEADERS: [&str; 10] = ["姓名", "手机号", "身份证号", "楼栋", "单元", "房号", "与户主关系", "标签", "网格", "备注"];

/// `3201**********1234`: the shape every page and response must show.
fn masked(full: &str) -> String {
    format!("{}**********{}", &full[..4], &full[14..])
}

/// A UTF-8 CSV with a BOM, as Excel's "CSV UTF-8" writes it.
fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = String::from("\u{feff}");
    text.push_str(HEADER);
    for r in rows {
        text.push_str("\r\n");
        text.push_str(r);
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A community with one staff member logged in.
async fn staff_app() -> (TestApp, Client) {
    let app = TestApp::start().await;
    let c = app.community(SLUG, "南京人家社区").await;
    app.user("13900000001", "李主任", c, &[Role::Staff]).await;
    let staff = app.login("13900000001").await;
    (app, staff)
}

/// Uploads a spreadsheet to the import endpoint the way a script in the console would: the
/// session cookie plus the CSRF token in a header.
async fn import(app: &TestApp, client: &Client, file_name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let token = client.csrf().await;
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()));
    let res = client
        .http
        .post(app.url(&format!("{BASE}/residents/import")))
        .header("x-csrf-token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })))
}

async fn import_ok(app: &TestApp, client: &Client, file_name: &str, bytes: Vec<u8>) -> Value {
    let (status, report) = import(app, client, file_name, bytes).await;
    assert_eq!(status, 200, "import: {report}");
    report
}

/// Every resident the client may see (one page of 200).
async fn residents(client: &Client) -> Vec<Value> {
    client.json(&format!("{BASE}/residents?limit=200")).await["items"].as_array().unwrap().clone()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} not in {list:?}"))
}

fn names(list: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = list.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

fn tags(r: &Value) -> Vec<&str> {
    r["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&app.state.db.pool).await.unwrap()
}

/// Six good residents in two grids and three buildings:
/// 第一网格: 翠微新村 3栋 (张建国 + 李秀英 in 2单元 301, 王磊 in 2单元 302);
/// 第二网格: 金陵花园 1栋 (陈静 in 1单元 202, 刘洋 in 1单元 203), 金陵花园 2栋 (周红 in 1单元 101).
fn neighbourhood() -> Vec<String> {
    vec![
        format!("张建国,13800000011,{},翠微新村 3栋,2单元,301,户主,独居,第一网格,", id_number("19500101", 123)),
        format!("李秀英,13800000012,{},翠微新村 3栋,2单元,301,配偶,,第一网格,", id_number("19520315", 224)),
        format!("王磊,13800000013,{},翠微新村 3栋,2单元,302,户主,,第一网格,", id_number("19900720", 135)),
        format!("陈静,13800000019,{},金陵花园 1栋,1单元,202,户主,租户,第二网格,", id_number("19880808", 246)),
        "刘洋,13800000020,,金陵花园 1栋,1单元,203,户主,,第二网格,".to_string(),
        format!("周红,13800000022,{},金陵花园 2栋,1单元,101,户主,,第二网格,", id_number("19701111", 248)),
    ]
}

#[tokio::test]
async fn csv_import_keeps_good_rows_and_reports_bad_ones_by_row_number() {
    let (app, staff) = staff_app().await;
    let good_id = id_number("19500101", 123);
    let mut bad_check = id_number("19900720", 135);
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '0' { '1' } else { '0' });
    let rows = vec![
        format!("张建国,13800000011,{good_id},翠微新村 3栋,2单元,301,户主,独居,第一网格,"), // row 2
        format!("李秀英,13800000012,{},翠微新村 3栋,2单元,301,配偶,,第一网格,", id_number("19520315", 224)), // row 3
        format!("王小明,12345,{},翠微新村 5栋,1单元,101,户主,,第二网格,", id_number("19900101", 111)), // row 4: phone
        format!("赵丽,13800000014,{bad_check},翠微新村 5栋,1单元,102,户主,,,"), // row 5: check digit
        format!(",13800000015,{},翠微新村 5栋,1单元,103,户主,,,", id_number("19850101", 112)), // row 6: no name
        format!("孙强,13800000016,{},翠微新村 5栋,1单元,104,户主,飞行员,,", id_number("19850202", 113)), // row 7: tag
        format!("周敏,13800000017,{},翠微新村 5栋,1单元,,户主,,,", id_number("19850303", 114)), // row 8: no room
        format!("吴刚,13800000018,{good_id},金陵花园 1栋,1单元,201,户主,,第二网格,"), // row 9: same ID as row 2
        format!("陈静,13800000019,{},金陵花园 1栋,1单元,202,户主,租户,第二网格,", id_number("19880808", 246)), // row 10
    ];
    let report = import_ok(&app, &staff, "居民花名册.csv", csv(&rows)).await;
    assert_eq!(report["rows"], 9, "{report}");
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["updated"], 0);
    assert_eq!(report["new_buildings"], json!(["翠微新村 3栋", "金陵花园 1栋"]), "rejected rows create no buildings");
    let errors: Vec<(u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    let expected: [(u64, &str, &str); 6] = [
        (4, "手机号", "11 位手机号"),
        (5, "身份证号", "校验位"),
        (6, "姓名", "必填"),
        (7, "标签", "飞行员"),
        (8, "房号", "必填"),
        (9, "身份证号", "重复"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for ((row, column, reason), (erow, ecolumn, words)) in errors.iter().zip(expected) {
        assert_eq!((*row, *column), (erow, ecolumn), "{errors:?}");
        assert!(reason.contains(words), "row {row}: reason {reason:?} should mention {words:?}");
    }

    let list = residents(&staff).await;
    assert_eq!(names(&list), ["张建国", "李秀英", "陈静"]);
    let zhang = by_name(&list, "张建国");
    assert_eq!(zhang["address"], "翠微新村 3栋 2单元 301");
    assert_eq!(zhang["phone"], "138****0011");
    assert_eq!(zhang["relation"], "户主");
    assert_eq!(zhang["gender"], "male", "gender comes from the ID number");
    assert_eq!(zhang["birth_year"], 1950);
    assert_eq!(by_name(&list, "陈静")["tags"], json!(["renter"]));
    let counts = staff.json(BASE).await;
    assert_eq!((counts["residents"].as_i64(), counts["households"].as_i64(), counts["buildings"].as_i64()), (Some(3), Some(2), Some(2)));
    let grids = staff.json(&format!("{BASE}/grids")).await;
    let grid_names: Vec<&str> = grids.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(grid_names, ["第一网格", "第二网格"], "grids named in the file are created with their buildings");
}

#[tokio::test]
async fn reimporting_updates_instead_of_duplicating_and_applies_changes() {
    let (app, staff) = staff_app().await;
    let first = import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    assert_eq!((first["created"].as_u64(), first["updated"].as_u64()), (Some(6), Some(0)), "{first}");
    assert!(first["errors"].as_array().unwrap().is_empty(), "{first}");

    let again = import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    assert_eq!((again["created"].as_u64(), again["updated"].as_u64()), (Some(0), Some(6)), "{again}");
    assert_eq!(again["new_buildings"], json!([]));
    assert_eq!(residents(&staff).await.len(), 6);
    assert_eq!(staff.json(BASE).await["residents"], 6);

    // The office updates the sheet: 张建国 has a new phone and is now on 低保; 刘洋 (no ID
    // number, so matched by name in his household) has moved in with a note.
    let mut changed = neighbourhood();
    changed[0] = format!("张建国,13800000021,{},翠微新村 3栋,2单元,301,户主,独居、低保,第一网格,", id_number("19500101", 123));
    changed[4] = "刘洋,13800000020,,金陵花园 1栋,1单元,203,户主,,第二网格,新搬入".to_string();
    let third = import_ok(&app, &staff, "花名册-更新.csv", csv(&changed)).await;
    assert_eq!((third["created"].as_u64(), third["updated"].as_u64()), (Some(0), Some(6)), "{third}");
    let list = residents(&staff).await;
    assert_eq!(list.len(), 6);
    let zhang = by_name(&list, "张建国");
    assert_eq!(zhang["phone"], "138****0021");
    assert_eq!(tags(zhang), ["elderly", "living_alone", "low_income"]);
    assert_eq!(by_name(&list, "刘洋")["notes"], "新搬入");
    // The changes are in 张建国's history, attributed to the importing staff member.
    let history = staff.json(&format!("{BASE}/residents/{}/history", zhang["id"])).await;
    let latest = &history[0];
    assert_eq!(latest["action"], "update");
    assert_eq!(latest["actor"], "李主任");
    let mut changed_fields: Vec<&str> = latest["changes"].as_object().unwrap().keys().map(String::as_str).collect();
    changed_fields.sort();
    assert_eq!(changed_fields, ["phone", "tags"], "{latest}");
    // The re-import of an unchanged file wrote no history: create + this one update only.
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");

    // 张建国's ID number on a row with another name (a lower-case x, a typo, someone else's
    // row): refused by row, and 张建国 stays as he is.
    let zhang_id = id_number("19500101", 123);
    let typo = format!("张建业,13800000099,{},翠微新村 9栋,1单元,101,户主,,第一网格,", zhang_id.to_lowercase());
    let fourth = import_ok(&app, &staff, "花名册-错行.csv", csv(&[typo])).await;
    assert_eq!((fourth["created"].as_u64(), fourth["updated"].as_u64()), (Some(0), Some(0)), "{fourth}");
    let error = &fourth["errors"][0];
    assert!(error["reason"].as_str().unwrap().contains("张建国"), "the row says whose number it is: {fourth}");
    assert_eq!(fourth["new_buildings"], json!([]), "a refused row creates no building");
    let list = residents(&staff).await;
    assert_eq!(by_name(&list, "张建国")["phone"], "138****0021");
    assert!(list.iter().all(|r| r["name"] != "张建业"));
}

fn xlsx_upload() -> (Vec<u8>, String) {
    let qian = id_number("19450505", 321);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    // Phone numbers and room numbers typed into Excel as numbers.
    sheet.write_string(1, 0, "钱学文").unwrap();
    sheet.write_number(1, 1, 13800000031.0).unwrap();
    sheet.write_string(1, 2, &qian).unwrap();
    sheet.write_string(1, 3, "翠微新村 7栋").unwrap();
    sheet.write_string(1, 4, "1单元").unwrap();
    sheet.write_number(1, 5, 402.0).unwrap();
    sheet.write_string(1, 6, "户主").unwrap();
    sheet.write_string(1, 7, "独居老人").unwrap();
    sheet.write_string(1, 8, "第一网格").unwrap();
    sheet.write_string(2, 0, "孙丽").unwrap();
    sheet.write_number(2, 1, 13800000032.0).unwrap();
    sheet.write_string(2, 3, "翠微新村 7栋").unwrap();
    sheet.write_string(2, 4, "1单元").unwrap();
    sheet.write_number(2, 5, 402.0).unwrap();
    sheet.write_string(2, 6, "女儿").unwrap();
    sheet.write_string(2, 9, "周末回家").unwrap();
    (book.save_to_buffer().unwrap(), qian)
}

fn read_xlsx(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("export is a valid .xlsx");
    let range = book.worksheet_range_at(0).expect("a worksheet").expect("readable");
    range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

async fn download(app: &TestApp, client: &Client, path: &str) -> (String, Vec<u8>) {
    let res = client.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    (ctype, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn xlsx_import_export_and_round_trip() {
    let (app, staff) = staff_app().await;
    let (file, qian_id) = xlsx_upload();
    let report = import_ok(&app, &staff, "花名册.xlsx", file).await;
    assert_eq!(report["created"], 2, "{report}");
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let list = residents(&staff).await;
    let qian = by_name(&list, "钱学文");
    assert_eq!(qian["phone"], "138****0031", "a numeric phone cell reads as the number, not 1.38e10");
    assert_eq!(qian["address"], "翠微新村 7栋 1单元 402", "a numeric room cell reads as 402, not 402.0");
    assert_eq!(tags(qian), ["elderly", "living_alone"]);
    assert_eq!(by_name(&list, "孙丽")["household_id"], qian["household_id"]);

    let (ctype, bytes) = download(&app, &staff, &format!("{BASE}/residents/export?format=xlsx")).await;
    assert!(ctype.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), "{ctype}");
    let rows = read_xlsx(bytes);
    assert_eq!(rows[0], HEADERS, "the export uses the headers staff know");
    assert_eq!(rows.len(), 1 + 8);
    let qian_row = rows.iter().find(|r| r[0] == "钱学文").unwrap();
    assert_eq!(qian_row[1], "138****0031", "phone numbers are masked in the export, as in the API");
    assert_eq!(qian_row[2], masked(&qian_id), "ID numbers are masked in the export");
    assert_eq!((qian_row[3].as_str(), qian_row[4].as_str(), qian_row[5].as_str()), ("翠微新村 7栋", "1单元", "402"));
    assert_eq!(qian_row[8], "第一网格");
    for row in &rows[1..] {
        let id = &row[2];
        assert!(id.is_empty() || (id.len() == 18 && id[4..14] == *"**********"), "unmasked ID in export: {row:?}");
        assert!(row[1].is_empty() || (row[1].len() == 11 && row[1][3..7] == *"****"), "unmasked phone in export: {row:?}");
    }
    assert_eq!(rows.iter().find(|r| r[0] == "刘洋").unwrap()[2], "", "no ID on file, none exported");

    // Round trip: the exported CSV imported again is the same people, so nobody is created,
    // no row is rejected for its masked ID number, and nothing is changed.
    let (ctype, exported) = download(&app, &staff, &format!("{BASE}/residents/export?format=csv")).await;
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(exported.starts_with(b"\xEF\xBB\xBF"), "CSV export has a BOM so Excel reads it as UTF-8");
    let audit_before = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let report = import_ok(&app, &staff, "导出.csv", exported).await;
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(0), Some(8)), "{report}");
    assert!(report["errors"].as_array().unwrap().is_empty(), "masked ID numbers are not errors: {report}");
    assert_eq!(residents(&staff).await.len(), 8);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit_before, "an unchanged round trip records no change");
    // The stored phone and ID numbers survived the masked round trip.
    let phones: Vec<String> = sqlx::query_scalar("SELECT phone FROM residents WHERE phone <> '' ORDER BY phone").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(phones.len(), 8, "{phones:?}");
    assert!(phones.iter().all(|p| p.len() == 11 && !p.contains('*')), "{phones:?}");
    assert!(phones.contains(&"13800000031".to_string()));
    let res = staff.post_json(&format!("{BASE}/residents/{}/reveal-id", qian["id"]), &json!({"purpose": "核对导入"})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["id_number"], qian_id.as_str());
    assert_eq!(tags(by_name(&residents(&staff).await, "钱学文")), ["elderly", "living_alone"]);

    // Unknown formats are refused.
    assert_eq!(staff.get(&format!("{BASE}/residents/export?format=pdf")).await.status(), 422);
}

#[tokio::test]
async fn unreadable_uploads_are_clear_client_errors() {
    let (app, staff) = staff_app().await;
    // No 房号 column: one error for the file, naming the column.
    let no_room = "\u{feff}姓名,手机号,楼栋\r\n张建国,13800000011,翠微新村 3栋\r\n".as_bytes().to_vec();
    let (status, body) = import(&app, &staff, "a.csv", no_room).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields = body["error"]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{body}");
    assert_eq!(fields[0]["field"], "file");
    assert_eq!(fields[0]["code"], "import_missing_column");
    assert!(fields[0]["message"].as_str().unwrap().contains("房号"), "{body}");

    // Saved by an old Excel as GBK: 422 with a hint, not mojibake.
    let gbk: Vec<u8> = [&[0xD0, 0xD5, 0xC3, 0xFB][..], b",", &[0xC2, 0xA5, 0xB6, 0xB0], b",", &[0xB7, 0xBF, 0xBA, 0xC5], b"\r\n"].concat();
    let (status, body) = import(&app, &staff, "gbk.csv", gbk).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "csv_not_utf8");

    // A sheet larger than the limit is refused as a whole, not silently cut short.
    let mut big = String::from("姓名,楼栋,房号\n");
    for _ in 0..20_001 {
        big.push_str("某,,\n");
    }
    let (status, body) = import(&app, &staff, "big.csv", big.into_bytes()).await;
    assert_eq!(status, 422, "{}", body.to_string().chars().take(300).collect::<String>());
    assert_eq!(body["error"]["fields"][0]["code"], "import_too_many");

    // Garbage of every kind: 4xx with the error shape, never a 5xx.
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("empty.csv", Vec::new()),
        ("bom-only.csv", b"\xEF\xBB\xBF".to_vec()),
        ("fake.xlsx", b"PK\x03\x04this is not really a zip archive".to_vec()),
        ("truncated.xlsx", xlsx_upload().0[..200].to_vec()),
        ("binary.csv", (0..=255u8).cycle().take(4096).collect()),
        ("quote.csv", b"\"unterminated,quote\n\"".to_vec()),
        ("photo.jpg", b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec()),
    ];
    for (name, bytes) in garbage {
        let (status, body) = import(&app, &staff, name, bytes).await;
        assert!((400..500).contains(&status), "{name}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{name}: {body}");
    }
    // A multipart body without the `file` field.
    let token = staff.csrf().await;
    let form = reqwest::multipart::Form::new().text("other", "x");
    let res = staff.http.post(app.url(&format!("{BASE}/residents/import"))).header("x-csrf-token", token).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "file");
    // Nothing was imported by any of it.
    assert_eq!(staff.json(BASE).await["residents"], 0);
}

#[tokio::test]
async fn id_numbers_are_masked_everywhere_and_revealing_one_is_logged() {
    let (app, staff) = staff_app().await;
    let c = app.state.db.pool.clone();
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&c).await.unwrap();
    app.user("13900000002", "网格员小周", community, &[Role::GridWorker]).await;
    app.user("13800000011", "张建国", community, &[Role::Resident]).await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let full = id_number("19500101", 123);
    let grid: i64 = sqlx::query_scalar("SELECT id FROM grids WHERE name = '第一网格'").fetch_one(&c).await.unwrap();
    let worker: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13900000002'").fetch_one(&c).await.unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(grid).bind(worker).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let all_full: Vec<String> = neighbourhood().iter().map(|r| r.split(',').nth(2).unwrap().to_string()).filter(|s| !s.is_empty()).collect();
    let list = residents(&staff).await;
    let zhang = by_name(&list, "张建国").clone();
    assert_eq!(zhang["id_number"], masked(&full));
    let id = zhang["id"].as_i64().unwrap();
    let pages = [
        staff.get(&format!("{BASE}/residents?limit=200")).await.text().await.unwrap(),
        staff.get(&format!("{BASE}/residents/{id}")).await.text().await.unwrap(),
        staff.get(&format!("{BASE}/residents/{id}/history")).await.text().await.unwrap(),
        staff.get(&format!("{BASE}/households")).await.text().await.unwrap(),
        staff.page("/console/residents?c=renjia").await,
        staff.page(&format!("/console/residents/{id}?c=renjia")).await,
        staff.page("/console").await,
    ];
    for (i, body) in pages.iter().enumerate() {
        for n in &all_full {
            assert!(!body.contains(n.as_str()), "response {i} shows a full ID number");
        }
    }
    assert!(pages[4].contains(&masked(&full)), "the console list shows the masked number");
    assert!(pages[5].contains(&masked(&full)), "the console detail shows the masked number");

    // Staff see the full number only by asking, with a purpose, and each view is logged.
    let reveal = format!("{BASE}/residents/{id}/reveal-id");
    let res = staff.post_json(&reveal, &json!({"purpose": "办理居住证明"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id_number"], full.as_str());
    let logged = sqlx::query("SELECT actor_user_id, subject, subject_id, field, purpose FROM access_log").fetch_all(&c).await.unwrap();
    assert_eq!(logged.len(), 1);
    use sqlx::Row;
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13900000001'").fetch_one(&c).await.unwrap();
    assert_eq!(logged[0].get::<Option<i64>, _>(0), Some(staff_id));
    assert_eq!(logged[0].get::<String, _>(1), "resident");
    assert_eq!(logged[0].get::<i64, _>(2), id);
    assert_eq!(logged[0].get::<String, _>(3), "id_number");
    assert_eq!(logged[0].get::<String, _>(4), "办理居住证明");

    let res = staff.post_json(&reveal, &json!({"purpose": "   "})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "purpose");
    // A grid worker (even for a resident in their own grid) and the resident are refused.
    let worker = app.login("13900000002").await;
    assert_eq!(worker.json(&format!("{BASE}/residents/{id}")).await["id_number"], masked(&full));
    assert_eq!(worker.post_json(&reveal, &json!({"purpose": "上门走访"})).await.status(), 403);
    let resident = app.login("13800000011").await;
    assert_eq!(resident.post_json(&reveal, &json!({"purpose": "看看"})).await.status(), 403);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_log").await, 1, "refused and invalid requests reveal nothing and log nothing");

    // The console's reveal form shows it once and logs it too.
    let res = staff.post_form(&format!("/console/residents/{id}/reveal?c=renjia"), &[("purpose", "开具证明")]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(&full));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_log").await, 2);
}

#[tokio::test]
async fn id_numbers_are_encrypted_at_rest() {
    let (app, staff) = staff_app().await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let full = id_number("19500101", 123);
    let res = staff
        .post_json(&format!("{BASE}/residents"), &json!({"name": "马兰", "id_number": id_number("19600606", 357), "building": "翠微新村 3栋", "unit": "2单元", "room": "303"}))
        .await;
    assert_eq!(res.status(), 201);
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id_number_enc, id_number_idx, id_number_masked FROM residents WHERE id_number_enc IS NOT NULL")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 6);
    let all_full: Vec<String> = neighbourhood()
        .iter()
        .map(|r| r.split(',').nth(2).unwrap().to_string())
        .filter(|s| !s.is_empty())
        .chain([id_number("19600606", 357)])
        .collect();
    for (enc, idx, mask) in &rows {
        let enc = enc.as_deref().unwrap();
        assert!(enc.starts_with("v1:"), "{enc}");
        for n in &all_full {
            assert!(!enc.contains(n.as_str()) && !idx.as_deref().unwrap().contains(n.as_str()) && !mask.as_deref().unwrap().contains(n.as_str()));
        }
    }
    // No other table keeps the clear number either (the audit trail stores the masked one).
    let audit: Vec<String> = sqlx::query_scalar("SELECT changes FROM audit_log").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(!audit.is_empty());
    assert!(audit.iter().all(|a| all_full.iter().all(|n| !a.contains(n.as_str()))), "clear ID number in audit_log");
    assert!(audit.iter().any(|a| a.contains(&masked(&full))));
}

#[tokio::test]
async fn editing_a_resident_is_in_their_history_with_who_and_what() {
    let (app, staff) = staff_app().await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let zhang = by_name(&residents(&staff).await, "张建国").clone();
    let url = format!("{BASE}/residents/{}", zhang["id"]);
    let history_url = format!("{url}/history");
    let created = staff.json(&history_url).await;
    assert_eq!(created.as_array().unwrap().len(), 1);
    assert_eq!(created[0]["action"], "create");
    assert_eq!(created[0]["actor"], "李主任");

    // The form sends everything back; only the relation and notes differ. The ID number is
    // left empty (kept), and the tags come in another order than stored.
    let edit = json!({"name": "张建国", "phone": "13800000011", "relation": "本人", "tags": ["独居"], "notes": "耳背,敲门要大声"});
    let res = staff.patch_json(&url, &edit).await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["relation"], "本人");
    assert_eq!(after["id_number"], zhang["id_number"], "an empty ID number keeps the stored one");
    assert_eq!(tags(&after), ["elderly", "living_alone"], "the automatic elderly tag stays");
    let history = staff.json(&history_url).await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    let latest = &history[0];
    assert_eq!(latest["action"], "update");
    assert_eq!(latest["actor"], "李主任");
    assert_eq!(latest["changes"], json!({"relation": ["户主", "本人"], "notes": ["", "耳背,敲门要大声"]}));

    // Saving again without a change records nothing.
    app.clock.advance(kernel::clock::MINUTE);
    assert_eq!(staff.patch_json(&url, &edit).await.status(), 200);
    assert_eq!(staff.json(&history_url).await.as_array().unwrap().len(), 2);

    // The console page shows the entry with the actor's name.
    let page = staff.page(&format!("/console/residents/{}?c=renjia", zhang["id"])).await;
    assert!(page.contains("<strong>修改</strong>") && page.contains("李主任") && page.contains("户主 → 本人"), "history on the page, with who and what");

    // A bad edit changes nothing and is explained per field.
    let res = staff.patch_json(&url, &json!({"name": "", "phone": "12", "tags": ["飞行员"]})).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "phone", "tags"]);
    assert_eq!(staff.json(&history_url).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_grid_worker_sees_and_changes_only_their_grid() {
    let (app, staff) = staff_app().await;
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&app.state.db.pool).await.unwrap();
    let worker_id = app.user("13900000002", "网格员小周", community, &[Role::GridWorker]).await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let grids = staff.json(&format!("{BASE}/grids")).await;
    let first = grids.as_array().unwrap().iter().find(|g| g["name"] == "第一网格").unwrap()["id"].as_i64().unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(first).bind(worker_id).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let everyone = residents(&staff).await;
    let chen = by_name(&everyone, "陈静")["id"].as_i64().unwrap();
    let zhang = by_name(&everyone, "张建国")["id"].as_i64().unwrap();

    let worker = app.login("13900000002").await;
    assert_eq!(names(&residents(&worker).await), ["张建国", "李秀英", "王磊"]);
    let buildings = worker.json(&format!("{BASE}/buildings")).await;
    let building_names: Vec<&str> = buildings.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(building_names, ["翠微新村 3栋"]);
    let households = worker.json(&format!("{BASE}/households")).await;
    let addresses: Vec<&str> = households["items"].as_array().unwrap().iter().map(|h| h["address"].as_str().unwrap()).collect();
    assert_eq!(addresses, ["翠微新村 3栋 2单元 301", "翠微新村 3栋 2单元 302"]);
    // Filters cannot widen the scope.
    let jinling = buildings_named(&staff, "金陵花园 1栋").await;
    let filtered = worker.json(&format!("{BASE}/residents?building_id={jinling}")).await;
    assert_eq!(filtered["items"], json!([]));
    let filtered = worker.json(&format!("{BASE}/households?building_id={jinling}")).await;
    assert_eq!(filtered["items"], json!([]));

    let page = worker.page("/console/residents?c=renjia").await;
    assert!(page.contains("张建国") && page.contains("王磊"));
    assert!(!page.contains("陈静") && !page.contains("周红") && !page.contains("金陵花园"), "other grids stay hidden on the page");
    assert!(worker.page(&format!("/console/residents/{zhang}?c=renjia")).await.contains("张建国"));

    // Another grid's resident does not exist as far as the worker can tell.
    assert_eq!(worker.get(&format!("{BASE}/residents/{chen}")).await.status(), 404);
    assert_eq!(worker.get(&format!("{BASE}/residents/{chen}/history")).await.status(), 404);
    assert_eq!(worker.patch_json(&format!("{BASE}/residents/{chen}"), &json!({"name": "陈静", "notes": "x"})).await.status(), 404);
    assert_eq!(worker.get(&format!("/console/residents/{chen}?c=renjia")).await.status(), 404);

    // New residents only in the worker's own buildings.
    for building in ["金陵花园 1栋", "不存在的新楼 9栋"] {
        let res = worker.post_json(&format!("{BASE}/residents"), &json!({"name": "新住户", "building": building, "unit": "1单元", "room": "909"})).await;
        assert_eq!(res.status(), 422, "{building}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "building", "{body}");
        assert_eq!(body["error"]["fields"][0]["code"], "building_out_of_scope");
    }
    assert_eq!(staff.json(BASE).await["buildings"], 3, "the refused request left no building behind");
    let res = worker.post_json(&format!("{BASE}/residents"), &json!({"name": "新住户", "building": "翠微新村 3栋", "unit": "2单元", "room": "303"})).await;
    assert_eq!(res.status(), 201);
    // And they may edit their own grid's residents.
    let res = worker.patch_json(&format!("{BASE}/residents/{zhang}"), &json!({"name": "张建国", "phone": "13800000011", "tags": ["独居"], "notes": "今日已走访"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(staff.json(&format!("{BASE}/residents/{zhang}/history")).await[0]["actor"], "网格员小周");
}

async fn buildings_named(client: &Client, name: &str) -> i64 {
    let list = client.json(&format!("{BASE}/buildings")).await;
    list.as_array().unwrap().iter().find(|b| b["name"] == name).unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn an_integration_key_with_the_grid_worker_role_sees_no_grid() {
    // Keys cannot be assigned to grids, so a grid worker's key must see nothing, not everything.
    let (app, staff) = staff_app().await;
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&app.state.db.pool).await.unwrap();
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let zhang = by_name(&residents(&staff).await, "张建国")["id"].as_i64().unwrap();
    let (_, token) = kernel::auth::create_api_key(&app.state, "巡查终端", kernel::community::CommunityId::new(community), Role::GridWorker, None).await.unwrap();
    let key = app.client();
    let get = |path: String| key.http.get(app.url(&path)).bearer_auth(&token).send();
    let list: Value = get(format!("{BASE}/residents")).await.unwrap().json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    let buildings: Value = get(format!("{BASE}/buildings")).await.unwrap().json().await.unwrap();
    assert_eq!(buildings, json!([]));
    assert_eq!(get(format!("{BASE}/residents/{zhang}")).await.unwrap().status(), 404);
    // A staff key sees the whole community.
    let (_, staff_token) = kernel::auth::create_api_key(&app.state, "区级平台", kernel::community::CommunityId::new(community), Role::Staff, None).await.unwrap();
    let list: Value = key.http.get(app.url(&format!("{BASE}/residents"))).bearer_auth(&staff_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn a_resident_sees_their_own_record_and_can_download_their_data() {
    let (app, staff) = staff_app().await;
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&app.state.db.pool).await.unwrap();
    // 张建国 has an account; the import links his record to it by his phone number.
    app.user("13800000011", "张建国", community, &[Role::Resident]).await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let mine = id_number("19500101", 123);
    let wife = id_number("19520315", 224);
    let zhang = app.login("13800000011").await;

    let h = zhang.json("/api/v1/me/household").await;
    assert_eq!(h["community"]["name"], "南京人家社区");
    assert_eq!(h["me"]["name"], "张建国");
    assert_eq!(h["me"]["id_number"], masked(&mine));
    assert_eq!(h["me"]["address"], "翠微新村 3栋 2单元 301");
    assert_eq!(names(h["members"].as_array().unwrap()), ["张建国", "李秀英"]);
    assert!(!h.to_string().contains(&mine) && !h.to_string().contains(&wife));

    let page = zhang.page("/me").await;
    assert!(page.contains("张建国") && page.contains("李秀英") && page.contains("翠微新村 3栋 2单元 301"));
    assert!(page.contains(&masked(&mine)) && !page.contains(&mine), "the page shows the masked number");

    let data = zhang.json("/api/v1/me/data").await;
    let registry = &data["registry"];
    assert_eq!(registry["id_number"], mine.as_str(), "my own full ID number is in my data");
    assert_eq!(registry["phone"], "13800000011");
    assert_eq!(registry["resident"]["name"], "张建国");
    let text = data.to_string();
    for other in neighbourhood().iter().skip(1) {
        let fields: Vec<&str> = other.split(',').collect();
        let (phone, id) = (fields[1], fields[2]);
        assert!(!text.contains(phone), "another resident's phone in my data");
        assert!(!text.contains(&format!("****{}", &phone[7..])), "another resident's masked phone in my data");
        if !id.is_empty() {
            assert!(!text.contains(id) && !text.contains(&masked(id)), "another resident's ID number in my data");
        }
    }
    for stranger in ["王磊", "陈静", "刘洋", "周红"] {
        assert!(!text.contains(stranger), "{stranger} is not my business");
    }
    // Residents cannot browse the registry.
    assert_eq!(zhang.get(&format!("{BASE}/residents")).await.status(), 403);
    // Someone the community has not registered gets a clear 404 and an explanatory page.
    app.user("13800000099", "未登记", community, &[Role::Resident]).await;
    let stranger = app.login("13800000099").await;
    assert_eq!(stranger.get("/api/v1/me/household").await.status(), 404);
    assert!(stranger.page("/me").await.contains("社区还没有登记您的住址信息"));
}

#[tokio::test]
async fn cursor_pagination_walks_the_whole_list_and_rejects_nonsense() {
    let (app, staff) = staff_app().await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let all: Vec<i64> = residents(&staff).await.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(all.len(), 6);
    for (path, expected) in [("residents", all.clone()), ("households", Vec::new())] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{BASE}/{path}?limit=2&cursor={c}"),
                None => format!("{BASE}/{path}?limit=2"),
            };
            let page = staff.json(&url).await;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|r| r["id"].as_i64().unwrap()));
            pages += 1;
            assert!(pages < 10, "pagination does not end");
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(items.len(), 2, "only the last page may be short");
                    cursor = Some(c.to_string());
                }
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique, seen, "{path}: no repeats");
        if path == "residents" {
            assert_eq!(seen, expected, "no gaps");
            assert_eq!(pages, 3);
        } else {
            assert_eq!(seen.len(), 5, "five households");
        }
    }
    for bad in ["cursor=garbage!!", "cursor=aTo", "limit=0", "limit=500", "limit=2&cursor=%00"] {
        let res = staff.get(&format!("{BASE}/residents?{bad}")).await;
        assert_eq!(res.status(), 422, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed", "{bad}");
    }
    for bad in ["limit=abc", "limit=-1", "building_id=x"] {
        let res = staff.get(&format!("{BASE}/residents?{bad}")).await;
        assert!(res.status().is_client_error(), "{bad}: {}", res.status());
    }
}

#[tokio::test]
async fn an_id_number_belongs_to_one_resident_per_community() {
    let (app, staff) = staff_app().await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let taken = id_number("19500101", 123);
    let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": "张冒名", "id_number": taken, "building": "翠微新村 3栋", "unit": "2单元", "room": "305"})).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "id_number", "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "id_number_taken");
    // Changing someone else's number to it is refused the same way.
    let wang = by_name(&residents(&staff).await, "王磊")["id"].as_i64().unwrap();
    let res = staff.patch_json(&format!("{BASE}/residents/{wang}"), &json!({"name": "王磊", "id_number": taken})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "id_number");
    assert_eq!(staff.json(BASE).await["residents"], 6, "nothing was added");
    // The same number is fine in another community.
    let other = app.community("other", "另一个社区").await;
    app.user("13900000003", "王主任", other, &[Role::Staff]).await;
    let other_staff = app.login("13900000003").await;
    let res = other_staff
        .post_json("/api/v1/communities/other/residents", &json!({"name": "张建国", "id_number": taken, "building": "1栋", "room": "101"}))
        .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn residents_aged_sixty_or_more_are_tagged_elderly() {
    let (app, staff) = staff_app().await;
    // The clock says 2026-06-01 (Asia/Shanghai).
    let people = [
        ("老一", id_number("19500101", 111), true),
        ("满六十", id_number("19660601", 113), true),  // 60 today
        ("差一天", id_number("19660602", 115), false), // 60 tomorrow
        ("年底满", id_number("19661231", 117), false), // born in 1966 but 59 until December
        ("年轻人", id_number("19900101", 119), false),
    ];
    for (i, (name, id, _)) in people.iter().enumerate() {
        let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": name, "id_number": id, "building": "翠微新村 3栋", "room": format!("10{i}")})).await;
        assert_eq!(res.status(), 201, "{name}");
    }
    let list = residents(&staff).await;
    for (name, _, elderly) in &people {
        let r = by_name(&list, name);
        assert_eq!(tags(r).contains(&"elderly"), *elderly, "{name}: {r}");
    }
    assert_eq!(staff.json(BASE).await["elderly"], 2);
    assert_eq!(staff.json(&format!("{BASE}/residents?tag=elderly")).await["items"].as_array().unwrap().len(), 2);
    // Editing an elder without re-entering the ID number keeps the tag.
    let old = by_name(&list, "老一")["id"].as_i64().unwrap();
    let res = staff.patch_json(&format!("{BASE}/residents/{old}"), &json!({"name": "老一", "notes": "腿脚不便"})).await;
    assert_eq!(tags(&res.json::<Value>().await.unwrap()), ["elderly"]);
    // The same rule applies to imports.
    let row = format!("钱老,,{},翠微新村 3栋,,201,户主,,,", id_number("19400101", 121));
    import_ok(&app, &staff, "老人.csv", csv(&[row])).await;
    assert_eq!(tags(by_name(&residents(&staff).await, "钱老")), ["elderly"]);
}

/// A community with the neighbourhood imported and a grid worker walking 第一网格 (翠微新村 3栋);
/// returns the worker's client.
async fn with_grid_worker(app: &TestApp, staff: &Client) -> Client {
    let pool = &app.state.db.pool;
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(pool).await.unwrap();
    let worker = app.user("13900000002", "网格员小周", community, &[Role::GridWorker]).await;
    import_ok(app, staff, "花名册.csv", csv(&neighbourhood())).await;
    let grid: i64 = sqlx::query_scalar("SELECT id FROM grids WHERE name = '第一网格'").fetch_one(pool).await.unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(grid).bind(worker).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    app.login("13900000002").await
}

/// Another valid ID number that masks exactly like `full` (same first four and last four
/// characters, same birth year): the candidates someone guessing from a masked number tries.
fn same_mask_candidates(full: &str) -> Vec<String> {
    let year = &full[6..10];
    (1..=365)
        .filter_map(|day| chrono::NaiveDate::from_yo_opt(year.parse().unwrap(), day))
        .map(|d| IdCardNumber::with_check_digit(&format!("{}{}{}", &full[..6], d.format("%Y%m%d"), &full[14..17])).as_str().to_string())
        .filter(|n| n != full && n[14..] == full[14..])
        .collect()
}

/// The parts of a resident's record that do not name them, for comparing two answers.
fn without_identity(mut r: Value) -> Value {
    for k in ["id", "name"] {
        r.as_object_mut().unwrap().remove(k);
    }
    r
}

#[tokio::test]
async fn a_grid_worker_cannot_tell_a_registered_id_number_from_a_free_one() {
    let (app, staff) = staff_app().await;
    let worker = with_grid_worker(&app, &staff).await;
    let pool = app.state.db.pool.clone();
    // 陈静 lives in 第二网格, out of the worker's sight; her number is the one being guessed.
    let truth = id_number("19880808", 246);
    let candidates = same_mask_candidates(&truth);
    let (wrong, free) = (candidates[0].clone(), candidates[1].clone());
    assert_eq!(masked(&wrong), masked(&truth));
    let chen: i64 = sqlx::query_scalar("SELECT id FROM residents WHERE name = '陈静'").fetch_one(&pool).await.unwrap();

    // Two placeholder residents in the same flat, edited with the true number and a wrong one.
    let mut placeholders = Vec::new();
    for name in ["待补录甲", "待补录乙"] {
        let res = worker.post_json(&format!("{BASE}/residents"), &json!({"name": name, "building": "翠微新村 3栋", "unit": "2单元", "room": "303"})).await;
        assert_eq!(res.status(), 201);
        placeholders.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let mut answers = Vec::new();
    for (id, (name, guess)) in placeholders.iter().zip([("待补录甲", &truth), ("待补录乙", &wrong)]) {
        let res = worker.patch_json(&format!("{BASE}/residents/{id}"), &json!({"name": name, "id_number": guess})).await;
        let status = res.status().as_u16();
        answers.push((status, without_identity(res.json::<Value>().await.unwrap())));
    }
    assert_eq!(answers[0].0, 200, "{:?}", answers[0]);
    assert_eq!(answers[0], answers[1], "the right guess and a wrong one are answered alike");
    assert_eq!(answers[0].1["id_number"], masked(&truth));
    // Nor do the record, its history or the lists tell them apart afterwards.
    let mut views = Vec::new();
    for id in &placeholders {
        let record = without_identity(worker.json(&format!("{BASE}/residents/{id}")).await);
        let latest = worker.json(&format!("{BASE}/residents/{id}/history")).await[0].clone();
        views.push((record, latest));
    }
    assert_eq!(views[0], views[1]);
    // Creating a resident with the number is answered as with any other number, too.
    let mut created = Vec::new();
    for (name, guess) in [("新住户甲", &truth), ("新住户乙", &free)] {
        let res = worker.post_json(&format!("{BASE}/residents"), &json!({"name": name, "id_number": guess, "building": "翠微新村 3栋", "unit": "2单元", "room": "304"})).await;
        created.push((res.status().as_u16(), without_identity(res.json::<Value>().await.unwrap())));
    }
    assert_eq!(created[0].0, 201);
    assert_eq!(created[0], created[1]);

    // The clash is in the access log: the worker, and whose number it is.
    use sqlx::Row;
    let worker_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13900000002'").fetch_one(&pool).await.unwrap();
    let clashes = sqlx::query("SELECT actor_user_id, subject, subject_id, field FROM access_log WHERE purpose = 'id_number_clash' ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let seen: Vec<(Option<i64>, String, i64, String)> = clashes.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    let clash = (Some(worker_id), "resident".to_string(), chen, "id_number".to_string());
    assert_eq!(seen, [clash.clone(), clash], "the edit's and the creation's clash, nothing for the free numbers");
    // The held numbers are not registered: 陈静 keeps hers, and the placeholder holds the
    // entered one for staff.
    let registered: Vec<Option<String>> = sqlx::query_scalar("SELECT id_number_idx FROM residents WHERE id = $1 OR id = $2 ORDER BY id")
        .bind(placeholders[0])
        .bind(placeholders[1])
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(registered[0].is_none() && registered[1].is_some(), "{registered:?}");

    // Staff see the possible duplicates, on the API and on the resident's page; the worker does not.
    let reviews = staff.json(&format!("{BASE}/id-number-reviews")).await;
    let reviews = reviews.as_array().unwrap();
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    assert_eq!((reviews[0]["resident_id"].as_i64(), reviews[0]["holder_id"].as_i64()), (Some(placeholders[0]), Some(chen)));
    assert_eq!(reviews[0]["holder_name"], "陈静");
    assert_eq!(reviews[0]["id_number"], masked(&truth));
    assert_eq!(reviews[0]["entered_by"], "网格员小周");
    let about_chen = staff.json(&format!("{BASE}/id-number-reviews?resident_id={chen}")).await;
    assert_eq!(about_chen.as_array().unwrap().len(), 2);
    assert!(staff.page(&format!("/console/residents/{}?c={SLUG}", placeholders[0])).await.contains("data-testid=\"id-review\""));
    assert!(staff.page(&format!("/console/residents/{chen}?c={SLUG}")).await.contains("data-testid=\"id-review\""));
    assert!(!worker.page(&format!("/console/residents/{}?c={SLUG}", placeholders[0])).await.contains("id-review"));
    assert_eq!(worker.get(&format!("{BASE}/id-number-reviews")).await.status(), 403);
    // Staff may see the held number, and saving the record without retyping it keeps it held.
    let held = staff.post_json(&format!("{BASE}/residents/{}/reveal-id", placeholders[0]), &json!({"purpose": "核实重复身份证号"})).await;
    assert_eq!(held.json::<Value>().await.unwrap()["id_number"], truth.as_str());
    let res = staff.patch_json(&format!("{BASE}/residents/{}", placeholders[0]), &json!({"name": "待补录甲", "notes": "已电话核实"})).await;
    assert_eq!(res.status(), 200);

    // Staff, who may see ID numbers anyway, are told at once, and that is logged too.
    let before = count(&app, "SELECT COUNT(*) FROM access_log WHERE purpose = 'id_number_clash'").await;
    let res = staff.patch_json(&format!("{BASE}/residents/{}", placeholders[0]), &json!({"name": "待补录甲", "id_number": truth})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["code"], "id_number_taken");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_log WHERE purpose = 'id_number_clash'").await, before + 1);

    // Once sorted out, a review is closed.
    let review = reviews[0]["id"].as_i64().unwrap();
    assert_eq!(worker.post_json(&format!("{BASE}/id-number-reviews/{review}/resolve"), &json!({})).await.status(), 403);
    assert_eq!(staff.post_json(&format!("{BASE}/id-number-reviews/{review}/resolve"), &json!({})).await.status(), 204);
    assert_eq!(staff.post_json(&format!("{BASE}/id-number-reviews/{review}/resolve"), &json!({})).await.status(), 404);
    assert_eq!(staff.json(&format!("{BASE}/id-number-reviews")).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn resident_writes_by_grid_workers_are_rate_limited() {
    let (app, staff) = staff_app().await;
    let worker = with_grid_worker(&app, &staff).await;
    let zhang = by_name(&residents(&staff).await, "张建国")["id"].as_i64().unwrap();
    let url = format!("{BASE}/residents/{zhang}");
    for i in 0..60 {
        let res = worker.patch_json(&url, &json!({"name": "张建国", "notes": format!("第 {i} 次走访")})).await;
        assert_eq!(res.status(), 200, "write {i}");
        app.clock.advance(5_000);
    }
    // The 61st within ten minutes, an edit or a creation, is refused until the window ends.
    let res = worker.patch_json(&url, &json!({"name": "张建国", "notes": "再一次"})).await;
    assert_eq!(res.status(), 429);
    let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(wait, 600 - 60 * 5, "the window opened with the first write");
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "too_many_requests");
    let res = worker.post_json(&format!("{BASE}/residents"), &json!({"name": "新住户", "building": "翠微新村 3栋", "unit": "2单元", "room": "305"})).await;
    assert_eq!(res.status(), 429);
    assert_eq!(staff.json(&format!("{BASE}/residents/{zhang}")).await["notes"], "第 59 次走访", "the refused edit changed nothing");
    app.clock.advance(wait * 1000);
    assert_eq!(worker.patch_json(&url, &json!({"name": "张建国", "notes": "窗口已过"})).await.status(), 200);
    // Staff are not counted.
    for i in 0..61 {
        assert_eq!(staff.patch_json(&url, &json!({"name": "张建国", "notes": format!("核对 {i}")})).await.status(), 200, "staff write {i}");
    }
}

#[tokio::test]
async fn exports_mask_phone_numbers_unless_a_purpose_is_given_and_logged() {
    let (app, staff) = staff_app().await;
    import_ok(&app, &staff, "花名册.csv", csv(&neighbourhood())).await;
    let full_ids: Vec<String> = neighbourhood().iter().map(|r| r.split(',').nth(2).unwrap().to_string()).filter(|s| !s.is_empty()).collect();
    let phones: Vec<String> = neighbourhood().iter().map(|r| r.split(',').nth(1).unwrap().to_string()).collect();

    let (_, masked_csv) = download(&app, &staff, &format!("{BASE}/residents/export?format=csv")).await;
    let text = String::from_utf8(masked_csv).unwrap();
    for secret in phones.iter().chain(&full_ids) {
        assert!(!text.contains(secret.as_str()), "{secret} in the default export");
    }
    assert!(text.contains("138****0011"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_log").await, 0, "a masked export shows nothing to log");

    // A full export needs a purpose …
    for bad in ["", "%20%20"] {
        let res = staff.get(&format!("{BASE}/residents/export?format=csv&purpose={bad}")).await;
        assert_eq!(res.status(), 422, "purpose {bad:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "purpose");
    }
    // … and gives every number, each resident written to the access log with who, when and why.
    let (_, full_csv) = download(&app, &staff, &format!("{BASE}/residents/export?format=csv&purpose=%E5%8C%BA%E6%B0%91%E6%94%BF%E5%B1%80%E6%A0%B8%E5%AF%B9")).await;
    let text = String::from_utf8(full_csv).unwrap();
    for secret in phones.iter().chain(&full_ids) {
        assert!(text.contains(secret.as_str()), "{secret} missing from the full export");
    }
    use sqlx::Row;
    let logged = sqlx::query("SELECT actor_user_id, at, subject, field, purpose FROM access_log").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(logged.len(), 6, "one entry per resident exported");
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13900000001'").fetch_one(&app.state.db.pool).await.unwrap();
    for r in &logged {
        assert_eq!(r.get::<Option<i64>, _>(0), Some(staff_id));
        assert_eq!(r.get::<i64, _>(1), testkit::T0);
        assert_eq!(r.get::<String, _>(2), "resident");
        assert_eq!(r.get::<String, _>(3), registry::spreadsheet::FULL_EXPORT_FIELD);
        assert_eq!(r.get::<String, _>(4), "区民政局核对");
    }

    // The console offers the same: a form with the purpose, posted.
    let page = staff.page(&format!("/console/import?c={SLUG}")).await;
    assert!(page.contains("name=\"purpose\""), "the import page offers the full export");
    let res = staff.post_form(&format!("/console/export?c={SLUG}"), &[("format", "xlsx"), ("purpose", "")]).await;
    assert_eq!(res.status(), 422);
    let res = staff.post_form(&format!("/console/export?c={SLUG}"), &[("format", "xlsx"), ("purpose", "入户走访名单")]).await;
    assert_eq!(res.status(), 200);
    let rows = read_xlsx(res.bytes().await.unwrap().to_vec());
    assert_eq!(rows.iter().find(|r| r[0] == "张建国").unwrap()[1], "13800000011");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_log WHERE purpose = '入户走访名单'").await, 6);
    // The plain links still give the masked file.
    let (_, bytes) = download(&app, &staff, &format!("/console/export?c={SLUG}&format=xlsx")).await;
    assert_eq!(read_xlsx(bytes).iter().find(|r| r[0] == "张建国").unwrap()[1], "138****0011");
}

#[tokio::test]
async fn formula_like_text_is_exported_behind_an_apostrophe_and_reimported_unchanged() {
    let (app, staff) = staff_app().await;
    let notes = "=HYPERLINK(\"http://example.invalid/x\",\"点我查看\")";
    let res = staff
        .post_json(&format!("{BASE}/residents"), &json!({"name": "张建国", "relation": "+户主", "notes": notes, "building": "@翠微新村 3栋", "unit": "-2单元", "room": "301"}))
        .await;
    assert_eq!(res.status(), 201);
    let (_, bytes) = download(&app, &staff, &format!("{BASE}/residents/export?format=csv")).await;
    let text = String::from_utf8(bytes.clone()).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert_eq!(
        line,
        "张建国,,,'@翠微新村 3栋,'-2单元,301,'+户主,,,\"'=HYPERLINK(\"\"http://example.invalid/x\"\",\"\"点我查看\"\")\"",
        "every cell that starts like a formula is behind an apostrophe"
    );
    let (_, xlsx) = download(&app, &staff, &format!("{BASE}/residents/export?format=xlsx")).await;
    let rows = read_xlsx(xlsx);
    assert_eq!(rows[1][9], format!("'{notes}"));

    // Our own file comes back as the same person, with the same words.
    let audit_before = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let report = import_ok(&app, &staff, "导出.csv", bytes).await;
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(0), Some(1)), "{report}");
    assert_eq!(report["new_buildings"], json!([]), "{report}");
    let list = residents(&staff).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["notes"], notes);
    assert_eq!(list[0]["relation"], "+户主");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit_before, "nothing changed");
}

/// A workbook whose first sheet has our headers and one more filled cell at (`row`, `col`).
fn sheet_with_far_cell(row: u32, col: u16) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(row, col, "x").unwrap();
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_tiny_xlsx_naming_a_far_away_cell_is_refused_quickly() {
    let (app, staff) = staff_app().await;
    // ZZ200000: a dense read of this sheet would need gigabytes.
    let bomb = sheet_with_far_cell(199_999, 701);
    assert!(bomb.len() < 8_000, "{} bytes", bomb.len());
    let started = std::time::Instant::now();
    let (status, body) = import(&app, &staff, "炸弹.xlsx", bomb).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "import_too_many", "{body}");
    assert!(body["error"]["fields"][0]["message"].as_str().unwrap().contains("20000"), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    // Too wide is refused as clearly; the page says so in words.
    let (status, body) = import(&app, &staff, "宽表.xlsx", sheet_with_far_cell(1, 701)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "import_too_many_columns");
    let wide_csv = format!("姓名,楼栋,房号{}\n张建国,3栋,301\n", ",".repeat(60)).into_bytes();
    let (status, body) = import(&app, &staff, "宽表.csv", wide_csv).await;
    assert_eq!((status, body["error"]["fields"][0]["code"].as_str()), (422, Some("import_too_many_columns")), "{body}");
    // The server is still up, and a sheet that starts away from A1 still imports.
    assert_eq!(staff.json(BASE).await["residents"], 0);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(2, 1 + c as u16, *h).unwrap();
    }
    for (c, v) in ["张建国", "", "", "翠微新村 3栋", "2单元", "301"].iter().enumerate() {
        sheet.write_string(3, 1 + c as u16, *v).unwrap();
    }
    let report = import_ok(&app, &staff, "偏移.xlsx", book.save_to_buffer().unwrap()).await;
    assert_eq!(report["created"], 1, "{report}");
}

#[tokio::test]
async fn names_with_invisible_format_characters_are_refused_in_words_and_emoji_are_kept() {
    let (app, staff) = staff_app().await;
    for name in ["萧美华\u{200b}😀", "萧\u{200d}美华", "\u{202e}萧美华", "萧美华\u{2069}", "\u{feff}萧美华"] {
        let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": name, "building": "翠微新村 3栋", "room": "301"})).await;
        assert_eq!(res.status(), 422, "{name:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["fields"][0]["field"], "name", "{name:?}: {body}");
        assert_eq!(body["error"]["fields"][0]["code"], "invisible_character", "{name:?}: {body}");
    }
    // The form says so in words, and keeps what was typed.
    let res = staff.post_form("/console/residents?c=renjia", &[("name", "萧美华\u{200b}😀"), ("building", "翠微新村 3栋"), ("room", "301")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("含有看不见的格式字符"), "{page}");
    assert!(!page.contains("error.invisible_character"));
    let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": "萧美华😀", "building": "翠微新村 3栋", "room": "301"})).await;
    assert_eq!(res.status(), 201, "an emoji may stay in a name");
    app.stop().await;
}

#[tokio::test]
async fn control_characters_are_refused_in_registry_text() {
    let (app, staff) = staff_app().await;
    let res = staff.post_json(&format!("{BASE}/buildings"), &json!({"name": "翠微新村\u{1}3栋", "floors": 6})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["code"], "control_character");
    let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": "张\u{7f}建国", "building": "翠微新村 3栋\u{1}", "room": "301"})).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<(&str, &str)> = body["error"]["fields"].as_array().unwrap().iter().map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap())).collect();
    assert_eq!(fields, [("name", "control_character"), ("building", "control_character")]);
    let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": "张建国\n李秀英", "building": "翠微新村 3栋", "room": "301"})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["code"], "single_line");
    // Notes may run over lines.
    let res = staff.post_json(&format!("{BASE}/residents"), &json!({"name": "张建国", "notes": "耳背\n敲门要大声", "building": "翠微新村 3栋", "room": "301"})).await;
    assert_eq!(res.status(), 201);
    // A spreadsheet row with one is refused by row, the rest kept; no building is made of it.
    let rows = vec!["李秀英,,,翠微新村 3栋\u{1},,302,,,,".to_string(), "王磊,,,翠微新村 3栋,,303,,,,".to_string()];
    let report = import_ok(&app, &staff, "a.csv", csv(&rows)).await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["errors"][0]["row"], 2);
    assert_eq!(report["errors"][0]["column"], "楼栋");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM buildings").await, 1);
    // A name for a new account is checked the same way.
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&app.state.db.pool).await.unwrap();
    app.user("13900000009", "陈主任", community, &[Role::Admin]).await;
    let admin = app.login("13900000009").await;
    let res = admin.post_json(&format!("{BASE}/members"), &json!({"phone": "13800000077", "display_name": "某\u{1b}人", "role": "staff"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "display_name");
}

/// The "my data" page of the demo resident and her son: every field in words (no catalogue
/// key shows through), the same words for large text as the settings, and sentences not
/// joined with a stray `；`.
#[tokio::test]
async fn my_data_is_all_in_words_for_the_demo_resident_and_family() {
    let app = TestApp::start().await;
    linli::demo::seed(&app.state).await.unwrap();
    for phone in ["13900000006", "13900000007"] {
        let client = app.client();
        let res = client.post_json("/api/v1/auth/login", &json!({"phone": phone, "password": registry::demo::DEMO_PASSWORD})).await;
        assert_eq!(res.status(), 200);
        // A report of one's own, so its fields are on the page too.
        let res = client.post_json("/api/v1/communities/nanjing-renjia/cases", &json!({"text": "楼道的声控灯坏了，晚上下楼看不见"})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let html = client.page("/me/data").await;
        // A key without words shows as itself (`data.field.first_response_due`).
        let text_only: String = html.split('<').filter_map(|chunk| chunk.split_once('>').map(|(_, text)| text)).collect::<Vec<_>>().join(" ");
        let raw: Vec<&str> = text_only
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
            .filter(|w| ["data.", "case_state.", "category.", "urgency.", "source.", "tag.", "role.", "family.", "msg."].iter().any(|p| w.starts_with(p)))
            .collect();
        assert!(raw.is_empty(), "{phone}: raw keys on /me/data: {raw:?}");
        assert!(html.contains("大字模式") && !html.contains("长辈模式"), "{phone}: the setting is called as in the settings");
        assert!(!html.contains("。；"), "{phone}: a sentence's full stop is not followed by ；");
        assert!(html.contains("data-values"), "long values wrap");
    }
    app.stop().await;
}
