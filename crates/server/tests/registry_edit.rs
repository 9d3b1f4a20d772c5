//! Editing a resident keeps what staff did not touch (the masked phone and ID number above
//! all), the trail says who changed what in words, residents are found by phone, last four
//! digits or address within the searcher's grids, and the navigation offers only the pages a
//! role may open.

use kernel::auth::Role;
use serde_json::{json, Value};
use testkit::{id_number, Client};

const BASE: &str = "/api/v1/communities/renjia";

/// A community, its staff member logged in, and two residents in two grids' buildings.
struct World {
    base: testkit::World,
    li: i64,
    chen: i64,
}

testkit::extends_world!(World);

/// A head of household entered by staff.
async fn resident(w: &testkit::World, name: &str, phone: &str, id: &str, building: &str, unit: &str, room: &str) -> i64 {
    w.register(json!({"name": name, "phone": phone, "id_number": id, "building": building, "unit": unit, "room": room})).await
}

async fn world() -> World {
    let base = testkit::World::build()
        .staff("13900000001", "周晓梅")
        // 李秀英 has a login already: her record links to it by the phone number.
        .resident("13800005678", "李秀英")
        .start()
        .await;
    let li = resident(&base, "李秀英", "13800005678", &id_number("19560312", 42), "翠微新村 3栋", "2单元", "301").await;
    let chen = resident(&base, "陈静", "13800001234", &id_number("19880808", 46), "金陵花园 1栋", "1单元", "202").await;
    World { base, li, chen }
}

/// The resident as the API shows them (masked).
async fn shown(staff: &Client, id: i64) -> Value {
    staff.json(&format!("{BASE}/residents/{id}")).await
}

#[tokio::test]
async fn ticking_a_tag_keeps_the_phone_and_id_number_and_clearing_is_explicit() {
    let w = world().await;
    let before = shown(w.staff(), w.li).await;
    assert_eq!(before["phone"], "138****5678");
    let page = w.staff().page(&format!("/console/residents/{}?c=renjia", w.li)).await;
    assert!(page.contains("现为 138****5678"), "the form says what is stored and that empty keeps it");
    assert!(!page.contains("placeholder=\"138****5678\""), "the masked number is no longer a placeholder that submits empty");

    // What the browser sends: the untouched masked fields empty, one tag ticked.
    let res = w
        .staff()
        .post_form(&format!("/console/residents/{}?c=renjia", w.li), &[("name", "李秀英"), ("phone", ""), ("id_number", ""), ("relation", "户主"), ("tag", "low_income"), ("notes", "")])
        .await;
    assert_eq!(res.status(), 200);
    let after = shown(w.staff(), w.li).await;
    assert_eq!(after["phone"], "138****5678", "the phone stays");
    assert_eq!(after["id_number"], before["id_number"], "the ID number stays");
    assert!(after["tags"].as_array().unwrap().contains(&json!("low_income")));
    let history = w.staff().json(&format!("{BASE}/residents/{}/history", w.li)).await;
    let changed: Vec<&String> = history[0]["changes"].as_object().unwrap().keys().collect();
    assert_eq!(changed, ["tags"], "only the tags changed: {history}");

    // The record in words: who, when and what, no empty parts.
    let page = w.staff().page(&format!("/console/residents/{}?c=renjia", w.li)).await;
    assert!(!page.contains("·  ·") && !page.contains("· · "), "no empty parts joined");
    assert!(page.contains("周晓梅") && page.contains("低保/困难家庭") || page.contains("困难"), "the change names its author and the tag in words");

    // The API keeps them too when a script sends only what it changes.
    let res = w.staff().patch_json(&format!("{BASE}/residents/{}", w.li), &json!({"name": "李秀英", "notes": "每月医保报销"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(shown(w.staff(), w.li).await["phone"], "138****5678");

    // Removing is a deliberate tick.
    let res = w
        .staff()
        .post_form(&format!("/console/residents/{}?c=renjia", w.li), &[("name", "李秀英"), ("phone", ""), ("clear_phone", "1"), ("id_number", ""), ("clear_id_number", "1"), ("relation", "户主")])
        .await;
    assert_eq!(res.status(), 200);
    let cleared = shown(w.staff(), w.li).await;
    assert_eq!(cleared["phone"], "");
    assert_eq!(cleared["id_number"], "");
    // A new number replaces the stored one.
    w.staff().post_form(&format!("/console/residents/{}?c=renjia", w.li), &[("name", "李秀英"), ("phone", "13900009999"), ("relation", "户主")]).await;
    assert_eq!(shown(w.staff(), w.li).await["phone"], "139****9999");
    w.app.stop().await;
}

async fn found(client: &Client, q: &str) -> Vec<String> {
    let v = client.json(&format!("{BASE}/residents?q={}", kernel::web::url_encode(q))).await;
    v["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn residents_are_found_by_phone_last_four_digits_and_address_within_the_grid() {
    let w = world().await;
    assert_eq!(found(w.staff(), "13800005678").await, ["李秀英"]);
    assert_eq!(found(w.staff(), "5678").await, ["李秀英"]);
    assert_eq!(found(w.staff(), "1234").await, ["陈静"]);
    assert_eq!(found(w.staff(), "3栋 301").await, ["李秀英"]);
    assert_eq!(found(w.staff(), "金陵花园").await, ["陈静"]);
    assert_eq!(found(w.staff(), "秀英").await, ["李秀英"]);
    assert!(found(w.staff(), "0000").await.is_empty());
    // The console page searches the same way.
    let page = w.staff().page("/console/residents?c=renjia&q=5678").await;
    assert!(page.contains("李秀英") && !page.contains("陈静"));

    // A grid worker of 翠微新村 finds nobody of 金陵花园, whatever they type.
    let worker = w.app.user("13900000002", "刘建军", w.community_id, &[Role::GridWorker]).await;
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let grid: i64 = sqlx::query_scalar("INSERT INTO grids (community_id, name, created_at) VALUES ($1, '第一网格', 0) RETURNING id").bind(w.community_id).fetch_one(&mut *tx).await.unwrap();
    sqlx::query("UPDATE buildings SET grid_id = $1 WHERE name = '翠微新村 3栋'").bind(grid).execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO grid_staff (grid_id, user_id) VALUES ($1, $2)").bind(grid).bind(worker).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let worker = w.app.login("13900000002").await;
    assert_eq!(found(&worker, "5678").await, ["李秀英"]);
    assert!(found(&worker, "1234").await.is_empty());
    assert!(found(&worker, "13800001234").await.is_empty());
    assert!(found(&worker, "金陵花园").await.is_empty());
    let _ = w.chen;
    w.app.stop().await;
}

/// The `href`s of the page's main navigation.
fn nav_links(page: &str) -> Vec<String> {
    let nav = &page[page.find("<nav class=\"tabs\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    nav.split("href=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

#[tokio::test]
async fn the_navigation_offers_only_what_a_role_may_open() {
    let w = world().await;
    w.app.user("13900000002", "刘建军", w.community_id, &[Role::GridWorker]).await;
    w.app.user("13900000003", "联络员", w.community_id, &[Role::Liaison]).await;
    for (phone, import) in [("13900000002", false), ("13900000001", true), ("13900000003", false)] {
        let client = w.app.login(phone).await;
        let links = nav_links(&client.page("/console/buildings").await);
        assert_eq!(links.iter().any(|l| l == "/console/import"), import, "{phone}: {links:?}");
        for link in &links {
            let res = client.get(link).await;
            assert_eq!(res.status(), 200, "{phone} opens {link}");
        }
        let home = nav_links(&client.page("/").await);
        for link in &home {
            assert_eq!(client.get(link).await.status(), 200, "{phone} opens {link} from the home page");
        }
    }
    // Someone with no console page gets no 工作台 link.
    w.app.user("13900000004", "志愿者", w.community_id, &[Role::Volunteer]).await;
    let volunteer = w.app.login("13900000004").await;
    let home = volunteer.page("/").await;
    assert!(!nav_links(&home).contains(&"/console".to_string()));
    w.app.stop().await;
}

#[tokio::test]
async fn every_role_has_a_home_that_says_what_it_can_do_today() {
    let w = world().await;
    let visitor = w.app.client();
    let home = visitor.page("/").await;
    assert!(home.contains("href=\"/cases/new\"") && home.contains("href=\"/ledger\"") && home.contains("href=\"/login\""));
    assert!(!home.contains("在线办事、反映问题、报名活动"), "no promise of what does not exist");
    assert!(home.contains("尚未开通"), "what is to come is said plainly");
    for (phone, role, words) in [
        ("13900000004", Role::Volunteer, "志愿活动报名"),
        ("13900000005", Role::Merchant, "商户信息"),
        ("13900000003", Role::Liaison, "信息联络员"),
        ("13900000002", Role::GridWorker, "本网格"),
    ] {
        w.app.user(phone, "某人", w.community_id, &[role]).await;
        let client = w.app.login(phone).await;
        let home = client.page("/").await;
        assert!(home.contains(&format!("data-role=\"{}\"", role.code())), "{phone}: {home}");
        assert!(home.contains(words), "{phone} home says what it can do: {words}");
        assert!(!home.contains("data-role=\"resident\""), "{phone} is not shown the resident's home");
    }
    w.app.stop().await;
}

#[tokio::test]
async fn my_data_is_a_readable_page_with_the_json_beside_it() {
    let w = world().await;
    let li = w.app.login("13800005678").await;
    let page = li.page("/me/data").await;
    for words in ["社区登记", "账号", "手机号", "住址", "翠微新村 3栋 2单元 301", "我的反映", "下载数据文件"] {
        assert!(page.contains(words), "the data page shows {words}");
    }
    let main = &page[page.find("<main").unwrap()..page.find("</main>").unwrap()];
    for code in ["zh-CN", "resident", "household_id", "true", "false"] {
        assert!(!main.contains(code), "codes are in words, not {code}: {main}");
    }
    assert!(main.contains("中文"), "the language in words");
    let res = li.get("/me/data.json").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["registry"]["resident"]["name"], "李秀英");
    w.app.stop().await;
}

#[tokio::test]
async fn asking_for_a_login_code_again_too_soon_says_when() {
    let w = world().await;
    let client = w.app.client();
    let res = client.post_form("/login/code", &[("phone", "13900000001")]).await;
    assert_eq!(res.status(), 200);
    w.app.clock.advance(20_000);
    let res = client.post_form("/login/code", &[("phone", "13900000001")]).await;
    assert_eq!(res.status(), 429);
    let page = res.text().await.unwrap();
    assert!(page.contains("41 秒后") || page.contains("40 秒后"), "the wait in seconds: {page}");
    assert!(!page.contains("尝试次数过多"), "not a bare refusal");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
    w.app.stop().await;
}

#[tokio::test]
async fn addresses_are_found_typed_with_or_without_spaces_and_in_wide_digits() {
    let w = world().await;
    for q in ["翠微新村 3栋 2单元 301", "3栋2单元301", "3栋 2单元 301", "3栋2单元301室", "３栋", "３栋２单元", "翠微新村3栋", "3栋\u{3000}2单元"] {
        assert_eq!(found(w.staff(), q).await, ["李秀英"], "{q:?}");
    }
    assert_eq!(found(w.staff(), "1栋1单元202").await, ["陈静"]);
    assert!(found(w.staff(), "3栋1单元").await.is_empty(), "every address part must match");
    // The console's search box answers the same.
    let page = w.staff().page(&format!("/console/residents?c=renjia&q={}", kernel::web::url_encode("3栋2单元301"))).await;
    assert!(page.contains("李秀英") && !page.contains("陈静"));
    w.app.stop().await;
}

/// Names and addresses are found whatever the case and width of the letters, alike on
/// SQLite and PostgreSQL (ADR 015); names edited later are found by their new spelling.
#[tokio::test]
async fn search_ignores_case_and_width_the_same_on_both_engines() {
    let w = world().await;
    let emile = resident(&w, "Émile Østergård", "13800007777", &id_number("19700101", 47), "Ａ座 Tower", "B单元", "1A").await;
    for q in ["émile", "ÉMILE", "østergård", "ØSTERGÅRD", "a座", "Ａ座", "tower", "TOWER b单元", "1a"] {
        assert_eq!(found(w.staff(), q).await, ["Émile Østergård"], "{q:?}");
    }
    assert!(found(w.staff(), "emile").await.is_empty(), "accented letters are letters of their own");
    // An accent typed apart, a full name with its space, an invisible character pasted in.
    for q in ["E\u{301}mile", "émile østergård", "ÉmileØstergård", "é\u{200B}mile"] {
        assert_eq!(found(w.staff(), q).await, ["Émile Østergård"], "{q:?}");
    }
    resident(&w, "阿依古丽·买买提", "13800006666", &id_number("19800101", 48), "Ａ座 Tower", "B单元", "2A").await;
    for q in ["阿依古丽·买买提", "阿依古丽・买买提", "阿依古丽买买提", "阿依古丽 买买提"] {
        assert_eq!(found(w.staff(), q).await, ["阿依古丽·买买提"], "{q:?}");
    }
    // A whole number however it is written.
    for q in ["138 0000 7777", "138-0000-7777", "+86 138 0000 7777", "１３８００００７７７７"] {
        assert_eq!(found(w.staff(), q).await, ["Émile Østergård"], "{q:?}");
    }
    w.staff().post_form(&format!("/console/residents/{emile}?c=renjia"), &[("name", "Zoë Østergård"), ("phone", ""), ("id_number", ""), ("relation", "户主"), ("notes", "")]).await;
    assert_eq!(found(w.staff(), "ZOË").await, ["Zoë Østergård"]);
    assert!(found(w.staff(), "émile").await.is_empty());
    w.app.stop().await;
}

/// A whole phone number tells whether it is a resident's, also to someone who sees numbers
/// masked: one person may try 60 an hour, so the hidden digits cannot be found by trying them all.
#[tokio::test]
async fn whole_phone_numbers_are_looked_up_sixty_an_hour() {
    let w = world().await;
    for n in 0..60 {
        let res = w.staff().get(&format!("{BASE}/residents?q=139{n:08}")).await;
        assert_eq!(res.status(), 200, "search {n}");
    }
    let res = w.staff().get(&format!("{BASE}/residents?q=13800005678")).await;
    assert_eq!(res.status(), 429, "the 61st within the hour");
    assert_eq!(found(w.staff(), "5678").await, ["李秀英"], "other searches go on");
    w.app.clock.advance(kernel::clock::HOUR + 1);
    assert_eq!(found(w.staff(), "13800005678").await, ["李秀英"], "an hour later");
    w.app.stop().await;
}

#[tokio::test]
async fn any_search_words_are_answered_never_a_server_error() {
    let w = world().await;
    let long = "栋".repeat(41);
    for q in ["３栋（301）！", "😀👨‍👩‍👧", "e\u{301}\u{302}", "\u{0007}5678", "%_\\", "' OR 1=1 --", "5678 ", " 13800005678 ", long.as_str(), "０００６"] {
        let res = w.staff().get(&format!("{BASE}/residents?q={}", kernel::web::url_encode(q))).await;
        assert!(matches!(res.status().as_u16(), 200 | 422), "{q:?}: {}", res.status());
        let page = w.staff().get(&format!("/console/residents?c=renjia&q={}", kernel::web::url_encode(q))).await;
        assert!(page.status().as_u16() < 500, "{q:?} on the page: {}", page.status());
    }
    assert_eq!(found(w.staff(), " 13800005678 ").await, ["李秀英"], "spaces around a number are ignored");
    w.app.stop().await;
}

#[tokio::test]
async fn a_trail_entry_that_does_not_read_is_an_error_not_an_empty_change() {
    let w = world().await;
    let res = w.staff().patch_json(&format!("{BASE}/residents/{}", w.chen), &json!({"name": "陈静", "notes": "腿脚不便"})).await;
    assert_eq!(res.status(), 200);
    let history = w.staff().json(&format!("{BASE}/residents/{}/history", w.chen)).await;
    assert!(history[0]["changes"].as_object().is_some_and(|m| !m.is_empty()), "{history}");

    // The trail is written as JSON; a row damaged outside Linli is not shown as "nothing changed".
    sqlx::query("UPDATE audit_log SET changes = '{not json' WHERE entity = 'resident' AND entity_id = $1 AND action = 'update'")
        .bind(w.chen)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w.staff().get(&format!("{BASE}/residents/{}/history", w.chen)).await;
    assert_eq!(res.status(), 500, "a damaged trail is reported, not hidden");
    w.app.stop().await;
}

#[tokio::test]
async fn a_place_typed_another_way_is_the_same_place() {
    let w = world().await;
    let household = |v: &Value| v["household_id"].as_i64().unwrap();
    let li = shown(w.staff(), w.li).await;
    // Full-width digits from a phone keyboard, no space, extra spaces: the same household.
    for (i, (building, unit, room)) in [("翠微新村３栋", "２单元", "３０１"), ("翠微新村3栋", "2单元", "301"), ("  翠微新村   3栋 ", " 2单元", "301 ")].iter().enumerate() {
        let id = resident(&w, &format!("李秀英家人{i}"), "", "", building, unit, room).await;
        assert_eq!(household(&shown(w.staff(), id).await), household(&li), "{building}/{unit}/{room}");
    }
    let buildings = w.staff().json(&format!("{BASE}/buildings")).await;
    let names: Vec<&str> = buildings.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| n.contains("翠微新村")).count(), 1, "no new building: {names:?}");
    // A new building is kept as its name reads, digits as digits.
    resident(&w, "王芳", "", "", "翠微新村　５栋", "１单元", "１０１").await;
    let buildings = w.staff().json(&format!("{BASE}/buildings")).await;
    assert!(buildings.as_array().unwrap().iter().any(|b| b["name"] == "翠微新村 5栋"), "{buildings}");
    w.app.stop().await;
}
