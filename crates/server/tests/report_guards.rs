//! The resident's report and case pages after the issue-8 reviews: what an emergency alert tells
//! staff, a danger report whose login lapsed, the similar step's ranking and follows, ratings
//! that must say solved or not, places and photos that are refused with the form kept, the
//! photo budget, and text without bidi controls.

use proptest::strategy::{Strategy, ValueTree};
use testkit::Client;

/// Staff on duty (周晓梅) texted through the SMS gateway, the resident who reports (李秀英), a
/// neighbour (王强), and two buildings.
struct World {
    base: testkit::World,
    resident_id: i64,
    /// Two buildings, each with a unit: (building, unit).
    a: (i64, i64),
    b: (i64, i64),
}

testkit::extends_world!(World);

async fn world() -> World {
    let base = testkit::World::build().sms().staff("13800000001", "周晓梅").resident("13800000006", "李秀英").resident("13800000007", "王强").start().await;
    let a = base.building_with_unit("翠微新村3栋", "1单元").await;
    let b = base.building_with_unit("南苑小区6栋", "1单元").await;
    World { resident_id: base.user_id("13800000006"), a, b, base }
}


async fn send(client: &Client, token: &str, fields: &[(&str, &str)], photos: usize) -> reqwest::Response {
    client.send_report_form(token, fields, photos).await
}

/// The form's key, from a fresh form.
async fn fresh_key(client: &Client) -> String {
    let res = client.get("/cases/new").await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    to.split("k=").nth(1).expect("a keyed address").to_string()
}

fn case_of(res: &reqwest::Response) -> i64 {
    let to = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    to.trim_start_matches("/cases/").split('?').next().unwrap().parse().unwrap_or_else(|_| panic!("not a case: {to}"))
}

async fn cases_count(w: &World) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&w.app.state.db.pool).await.unwrap()
}

/// An open case filed by 王强 with `text`, in unit `unit`.
async fn open_case(w: &World, text: &str, unit: i64) -> i64 {
    let other = w.app.login("13800000007").await;
    let res = other.post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": text, "unit_id": unit})).await;
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn an_emergency_alert_says_where_what_and_whom_to_call_back() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let unit = format!("u{}", w.a.1);
    let fields = [("key", key.as_str()), ("text", "楼下有人晕倒了，叫不醒，旁边没有家属在，快来人帮忙看看吧"), ("building_id", &unit), ("place", "3栋1单元门口"), ("danger_now", "1")];
    let res = send(w.resident(), &token, &fields, 0).await;
    assert_eq!(res.status(), 303);
    let id = case_of(&res);
    w.app.run_jobs().await;
    let texts = w.sms().sent();
    assert_eq!(texts.len(), 1, "the one staff member on duty");
    let sms = &texts[0].text;
    for part in [format!("#{id}"), "翠微新村3栋 1单元".into(), "3栋1单元门口".into(), "楼下有人晕倒了".into(), "李秀英 138****0006".into(), format!("/console/cases/{id}")] {
        assert!(sms.contains(&part), "{part} in {sms}");
    }
    assert!(!sms.contains("13800000006"), "the phone masked: {sms}");
    // Two SMS segments at most (67 characters each when a text is split).
    assert!(sms.chars().count() <= 134, "{} characters: {sms}", sms.chars().count());
    let inbox: String = sqlx::query_scalar("SELECT i.body FROM inbox i JOIN users u ON u.id = i.user_id WHERE u.phone = '13800000001' ORDER BY i.id DESC LIMIT 1")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    for part in ["翠微新村3栋 1单元", "3栋1单元门口", "李秀英 138****0006", "楼下有人晕倒了"] {
        assert!(inbox.contains(part), "{part} in {inbox}");
    }
    // Anonymous, with only a map point: said so, never a name.
    let res = w
        .resident()
        .post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "河边有小孩落水了", "anonymous": true, "danger_now": true, "lat": 32.041, "long": 118.784}))
        .await;
    assert_eq!(res.status(), 201);
    w.app.run_jobs().await;
    let sms = w.sms().sent().last().unwrap().text.clone();
    assert!(sms.contains("匿名") && sms.contains("地图位置 32.04100,118.78400") && !sms.contains("李秀英"), "{sms}");
}

#[tokio::test]
async fn a_danger_report_on_a_lapsed_login_keeps_the_numbers_and_is_sent_now_only_when_chosen() {
    let w = world().await;
    let key = fresh_key(w.resident()).await;
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    let by = page.split("name=\"by\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let session_token = w.resident().csrf().await;
    let lapsed = w.app.client();
    let unit = format!("u{}", w.a.1);
    let text = "家里煤气味很重，头晕";
    let fields = [("key", key.as_str()), ("by", by.as_str()), ("text", text), ("building_id", unit.as_str()), ("danger_now", "1"), ("place", "302")];
    let before = cases_count(&w).await;
    let res = send(&lapsed, &session_token, &fields, 1).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("data-testid=\"relogin\"") && page.contains("data-testid=\"danger-calls\""), "{page}");
    for n in ["tel:110", "tel:119", "tel:120"] {
        assert!(page.contains(n), "{n}");
    }
    assert!(page.contains("不登录，立即发送紧急情况") && page.contains("data-testid=\"send-now\""));
    assert_eq!(cases_count(&w).await, before, "nothing filed until the person chooses");
    // Without danger: only the login, no sending without a name.
    let calm = [("key", key.as_str()), ("by", by.as_str()), ("text", "楼道灯坏了"), ("building_id", unit.as_str())];
    let page = send(&lapsed, &session_token, &calm, 0).await.text().await.unwrap();
    assert!(page.contains("data-testid=\"relogin\"") && !page.contains("data-testid=\"send-now\""));
    // She chooses to send it now: the page's own form, as the browser sends it.
    let send_now: String = page_form(&send(&lapsed, &session_token, &fields, 0).await.text().await.unwrap());
    let mut form: Vec<(String, String)> = url_pairs(&send_now);
    form.retain(|(k, _)| k != "_csrf");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = lapsed.post_form("/cases/new", &pairs).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/cases/follow/"), "filed anonymously, followed by its private link: {to}");
    assert_eq!(cases_count(&w).await, before + 1);
    let (anonymous, urgency, body, place): (i64, String, String, String) =
        sqlx::query_as("SELECT anonymous, urgency, text, place FROM cases ORDER BY id DESC LIMIT 1").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!((anonymous, urgency.as_str(), body.as_str(), place.as_str()), (1, "critical", text, "302"));
    let photos: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_photos WHERE case_id = (SELECT MAX(id) FROM cases)").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(photos, 1, "the photo kept with the draft goes with it");
    w.app.run_jobs().await;
    assert!(w.sms().sent().iter().any(|s| s.text.contains("煤气味")), "staff are texted at once");
}

/// The send-now form of a lapsed page, as `name=value` pairs joined by `&`.
fn page_form(page: &str) -> String {
    let form = page.split("data-testid=\"send-now\"").nth(1).expect("the send-now form").split("</form>").next().unwrap();
    let mut out = Vec::new();
    for input in form.split("<input").skip(1) {
        let attr = |name: &str| input.split(&format!("{name}=\"")).nth(1).map(|v| v.split('"').next().unwrap().to_string());
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push(format!("{n}={}", kernel::web::url_encode(&html_unescape(&v))));
        }
    }
    let text = form.split("name=\"text\" hidden>").nth(1).unwrap().split("</textarea>").next().unwrap();
    out.push(format!("text={}", kernel::web::url_encode(&html_unescape(text))));
    out.join("&")
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&quot;", "\"").replace("&#39;", "'").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn url_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn the_similar_step_offers_what_reads_alike_and_a_follow_can_be_opened_and_undone() {
    let w = world().await;
    let unrelated = open_case(&w, "健身器材的螺丝掉了，小孩玩很危险", w.b.1).await;
    let related = open_case(&w, "楼道的声控灯坏了，晚上下楼看不见，电话13912345678", w.b.1).await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let unit = format!("u{}", w.b.1);
    let text = "6栋1单元楼道灯坏了，晚上看不见";
    let res = send(w.resident(), &token, &[("key", &key), ("text", text), ("building_id", &unit)], 0).await;
    assert_eq!(res.status(), 303);
    let page = w.resident().page(res.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains(&format!("data-case=\"{related}\"")), "the case that reads alike");
    assert!(!page.contains(&format!("data-case=\"{unrelated}\"")), "not one that only shares the building");
    // What it shares with her words, and nothing she did not write: not 声控, not its number.
    assert!(page.contains("与您所写相同：楼道 … 灯坏了 … 晚上 … 看不见"), "the words in common: {page}");
    let summary = page.split("data-testid=\"summary\">").nth(1).and_then(|p| p.split("</p>").next()).unwrap_or_default();
    assert!(!page.contains("13912345678") && !summary.contains("声控") && !summary.contains("电话"), "{summary}");
    // 关注: the page says plainly that her own report is not filed.
    let res = send(w.resident(), &token, &[("key", &key), ("text", text), ("building_id", &unit), ("confirm", "1"), ("follow", &related.to_string())], 0).await;
    let page = w.resident().page(res.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains("您的问题还没有提交；如果不是同一件事，请点提交。"), "{page}");
    // 我关注的: a link to the case's public page, with 取消关注.
    let mine = w.resident().page("/me/cases").await;
    assert!(mine.contains(&format!("href=\"/ledger/cases/{related}\"")));
    assert!(mine.contains(&format!("action=\"/cases/{related}/unfollow\"")));
    let public = w.app.client().page(&format!("/ledger/cases/{related}")).await;
    assert!(public.contains("data-testid=\"public-case\"") && !public.contains("13912345678") && !public.contains("王强"));
    let own_view = w.resident().page(&format!("/ledger/cases/{related}")).await;
    assert!(own_view.contains(&format!("action=\"/cases/{related}/unfollow\"")), "her follow, undoable there too");
    // Without the token nothing changes; with it, twice, the follow is gone once and stays gone.
    let bare = w.resident().http.post(format!("{}/cases/{related}/unfollow", w.resident().base())).send().await.unwrap();
    assert_eq!(bare.status(), 400);
    assert!(w.resident().page("/me/cases").await.contains(&format!("data-case=\"{related}\"")));
    for _ in 0..2 {
        let res = w.resident().post_form(&format!("/cases/{related}/unfollow"), &[]).await;
        assert_eq!(res.status(), 303);
    }
    assert!(!w.resident().page("/me/cases").await.contains(&format!("data-case=\"{related}\"")));
    assert_eq!(w.resident().post_form("/cases/999999/unfollow", &[]).await.status(), 404);
}

/// Adds a photo to case `id` through the API, as its author.
async fn add_photo(client: &Client, id: i64) -> reqwest::Response {
    let token = client.csrf().await;
    let form = reqwest::multipart::Form::new().part("photos", reqwest::multipart::Part::bytes(testkit::jpeg(5)).file_name("a.jpg"));
    client.http.post(format!("{}/api/v1/cases/{id}/photos", client.base())).header("x-csrf-token", token).multipart(form).send().await.unwrap()
}

/// Files `text` as the resident and resolves it; returns the case id.
async fn resolved(w: &World, body: serde_json::Value) -> serde_json::Value {
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &body).await;
    assert_eq!(res.status(), 201);
    let filed = res.json::<serde_json::Value>().await.unwrap();
    let id = filed["id"].as_i64().unwrap();
    for (to, note) in [("acknowledged", "已电话联系，今天下午上门"), ("resolved", "已修好")] {
        let res = w.staff().post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": note})).await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    filed
}

async fn state_of(w: &World, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM cases WHERE id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn a_rating_that_does_not_say_solved_or_not_is_refused_and_never_reopens() {
    let w = world().await;
    let id = resolved(&w, serde_json::json!({"text": "单元门的门禁坏了，关不上"})).await["id"].as_i64().unwrap();
    let anon = resolved(&w, serde_json::json!({"text": "楼道里堆满了杂物", "anonymous": true})).await;
    let follow = anon["follow_token"].as_str().unwrap().to_string();
    let anon_id = anon["id"].as_i64().unwrap();
    let link_case = resolved(&w, serde_json::json!({"text": "楼下的路灯不亮了"})).await["id"].as_i64().unwrap();
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let token = cases::rating::issue(&mut tx, w.app.state.now(), cases::domain::CaseId::new(link_case)).await.unwrap();
    tx.commit().await.unwrap();
    let visitor = w.app.client();
    for solved in [None, Some(""), Some("yes"), Some("2"), Some("true")] {
        let mut form = vec![("satisfaction", "satisfied"), ("comment", "很满意")];
        if let Some(s) = solved {
            form.push(("solved", s));
        }
        for (client, path, case) in [
            (w.resident(), format!("/cases/{id}/rate"), id),
            (&visitor, format!("/r/{token}"), link_case),
            (&visitor, format!("/cases/follow/{follow}/rate"), anon_id),
        ] {
            let res = client.post_form(&path, &form).await;
            let status = res.status().as_u16();
            let page = res.text().await.unwrap();
            assert_eq!(status, 422, "{path} with solved={solved:?}: {page}");
            assert!(page.contains("class=\"field-error\"") && page.contains("请从列表中选择"), "the field's message: {page}");
            assert!(page.contains("value=\"satisfied\" required checked"), "the form as chosen");
            assert_eq!(state_of(&w, case).await, "resolved", "never reopened");
        }
    }
    // The JSON API reads `solved` as a boolean and needs it.
    let res = visitor.post_json(&format!("/api/v1/ratings/{token}"), &serde_json::json!({"satisfaction": "satisfied"})).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = visitor.post_json(&format!("/api/v1/ratings/{token}"), &serde_json::json!({"solved": "yes", "satisfaction": "satisfied"})).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(state_of(&w, link_case).await, "resolved");
    // A clear answer is kept.
    assert_eq!(w.resident().post_form(&format!("/cases/{id}/rate"), &[("solved", "0"), ("satisfaction", "unsatisfied")]).await.status(), 303);
    assert_eq!(state_of(&w, id).await, "in_progress", "not solved reopens, as chosen");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn an_unreadable_place_or_too_many_photos_come_back_on_the_form_as_typed() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let before = cases_count(&w).await;
    for place in ["garbage", "u:99999", "b", "u", "1.5", "b12x"] {
        let key = fresh_key(w.resident()).await;
        let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道灯坏了，晚上看不见"), ("building_id", place), ("place", "二楼"), ("confirm", "1")], 0).await;
        let status = res.status().as_u16();
        let page = res.text().await.unwrap();
        assert_eq!(status, 422, "{place}: {page}");
        assert!(page.contains("楼道灯坏了，晚上看不见") && page.contains("value=\"二楼\""), "as typed");
        assert!(page.contains("id=\"building-error\"") && page.contains("请从列表中选择"), "{page}");
    }
    assert_eq!(cases_count(&w).await, before, "nothing filed without its place");
    // Ten photos: the form again, the words kept, the message under the photos.
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "小区东门路面塌了一个坑"), ("confirm", "1"), ("place", "东门")], 10).await;
    let status = res.status().as_u16();
    let page = res.text().await.unwrap();
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("小区东门路面塌了一个坑") && page.contains("value=\"东门\""));
    let photos_error = page.split("id=\"photos\"").nth(1).expect("the photo input").split("</div>").next().unwrap();
    assert!(photos_error.contains("data-testid=\"photos-error\"") && photos_error.contains('9'), "{photos_error}");
    assert_eq!(cases_count(&w).await, before);
}

#[tokio::test]
async fn a_person_has_a_budget_of_reports_with_photos_and_the_form_keeps_the_words() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let who = format!("user:{}", w.resident_id);
    // Most of the hour's reports with photos spent already.
    kernel::quota::spend_n(&w.app.state, &cases::photos::REPORTS_WITH_PHOTOS, &who, cases::photos::REPORTS_WITH_PHOTOS.limit - 1).await.unwrap();
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "垃圾桶满了没人清"), ("confirm", "1")], 1).await;
    assert_eq!(res.status(), 303, "the last one goes through");
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "路灯不亮了，很黑"), ("confirm", "1"), ("place", "北门")], 1).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let page = res.text().await.unwrap();
    assert!(page.contains("路灯不亮了，很黑") && page.contains("value=\"北门\"") && page.contains("id=\"report-form\""), "the form as typed");
    assert!(page.contains("分钟后再试") || page.contains("请稍后"), "in words: {page}");
    // Without photos a report still goes through.
    let res = send(w.resident(), &token, &[("key", &key), ("text", "路灯不亮了，很黑"), ("confirm", "1"), ("place", "北门")], 0).await;
    assert_eq!(res.status(), 303);
    // Someone in danger is never turned away over photos: the report is filed without them.
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "燃气泄漏，有人晕倒了"), ("danger_now", "1"), ("place", "3栋楼道")], 1).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    w.app.run_jobs().await;
    // The photos decoded an hour are counted too, through the API as well.
    let other = w.app.login("13800000007").await;
    let them = format!("user:{}", sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE phone = '13800000007'").fetch_one(&w.app.state.db.pool).await.unwrap());
    kernel::quota::spend_n(&w.app.state, &cases::photos::PHOTOS_DECODED, &them, cases::photos::PHOTOS_DECODED.limit).await.unwrap();
    let id = open_case(&w, "电梯按钮失灵了", w.a.1).await;
    let res = add_photo(&other, id).await;
    assert_eq!(res.status(), 429);
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md")).unwrap();
    assert!(docs.contains("REPORTS_WITH_PHOTOS") && docs.contains("PHOTOS_DECODED"), "documented beside the other limits");
}

#[tokio::test]
async fn report_text_is_stored_without_bidi_controls() {
    let w = world().await;
    let res = w
        .resident()
        .post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "楼道灯\u{202e}坏了\u{202c}，\u{2066}302\u{2069}室", "place": "\u{202d}二楼"}))
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!((case["text"].as_str(), case["place"].as_str()), (Some("楼道灯坏了，302室"), Some("二楼")));
    // Whatever the words: stored without a bidi control, or refused with a field's message.
    let bidi = ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];
    let words = proptest::collection::vec(
        proptest::prop_oneof![proptest::char::range('\u{4e00}', '\u{9fa5}'), proptest::sample::select(bidi.to_vec()), proptest::char::any()],
        1..80,
    )
    .prop_map(|v| v.into_iter().collect::<String>());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..24 {
        let text = words.new_tree(&mut runner).unwrap().current();
        let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": text})).await;
        match res.status().as_u16() {
            201 => {
                let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
                let stored: String = sqlx::query_scalar("SELECT text FROM cases WHERE id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
                assert!(!stored.chars().any(|c| bidi.contains(&c)), "{stored:?}");
                let expected: String = text.chars().filter(|c| !bidi.contains(c)).collect();
                assert_eq!(stored, expected.trim(), "every other character kept");
            }
            422 => {}
            other => panic!("{other} for {text:?}"),
        }
    }
}

#[tokio::test]
async fn a_resident_is_offered_report_and_ledger_in_the_navigation_and_staff_keep_theirs() {
    let w = world().await;
    let nav = |page: String| page.split("<nav class=\"tabs\"").nth(1).unwrap().split("</nav>").next().unwrap().to_string();
    let resident = nav(w.resident().page("/").await);
    assert!(resident.contains("href=\"/cases/new\"") && resident.contains("反映问题"), "{resident}");
    assert!(resident.contains("href=\"/ledger\"") && resident.contains("问题台账"), "{resident}");
    assert!(resident.contains("href=\"/me\"") && resident.contains("href=\"/me/notifications\""));
    let staff = nav(w.staff().page("/").await);
    assert!(!staff.contains("href=\"/cases/new\"") && staff.contains("href=\"/console\""), "{staff}");
}

#[tokio::test]
async fn the_emergency_numbers_on_the_form_are_call_buttons() {
    let w = world().await;
    let key = fresh_key(w.resident()).await;
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    for n in ["110", "119", "120"] {
        assert!(page.contains(&format!("<a class=\"call\" href=\"tel:{n}\">")), "{n} as a call button");
    }
}

#[tokio::test]
async fn family_see_an_elders_case_with_its_photos_and_how_its_clocks_ended_as_she_does() {
    let w = world().await;
    let son_id = w.app.user("13800000008", "张伟", w.community_id, &[]).await;
    let elder_resident = w.register(serde_json::json!({"name": "李秀英", "phone": "13800000006", "relation": "户主", "building": "翠微新村 3栋", "unit": "1单元", "room": "202"})).await;
    let son = w.app.login("13800000008").await;
    assert_eq!(son.post_form("/me/family/request", &[("elder", "13800000006"), ("relation", "child")]).await.status(), 303);
    assert_eq!(w.resident().post_form(&format!("/me/family/{son_id}/{elder_resident}/confirm"), &[]).await.status(), 303);
    // Her report with a photo, before staff have looked at it (not public yet).
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "楼道灯坏了，晚上看不见"})).await;
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(add_photo(w.resident(), id).await.status(), 201);
    let page = son.page(&format!("/family/cases/{id}")).await;
    let thumb = page.split("data-testid=\"photos\"").nth(1).expect("her photos on his page").split("src=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    assert_eq!(son.get(&thumb).await.status(), 200, "he may open them");
    assert_eq!(w.app.login("13800000007").await.get(&thumb).await.status(), 404, "nobody else may yet");
    // Resolved in time: both pages say how the clocks ended, in the same words.
    for (to, note) in [("acknowledged", "已电话联系，今天下午上门"), ("resolved", "已修好")] {
        assert!(w.staff().post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": note})).await.status().is_success());
    }
    let facts = |page: String| page.split("<dl class=\"facts\">").nth(1).unwrap().split("</dl>").next().unwrap().to_string();
    let hers = facts(w.resident().page(&format!("/cases/{id}")).await);
    let his = facts(son.page(&format!("/family/cases/{id}")).await);
    assert!(hers.contains("按时") && hers.contains("首次响应") && hers.contains("办结"), "{hers}");
    assert_eq!(hers, his, "the same facts on both pages");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}
