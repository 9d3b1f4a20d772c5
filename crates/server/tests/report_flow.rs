//! The resident's report form end to end over HTTP: the "已有人反映" step (skipped when someone is
//! in danger, matched on the building of the chosen unit, keeping every field and the photos),
//! following a case from it, Back after filing, a session that lapses mid-report, the promised
//! service levels, clocks of finished cases, the rating on the case page.

use kernel::clock::HOUR;
use proptest::strategy::{Strategy, ValueTree};
use testkit::Client;

/// Staff (周晓梅), the resident who reports (李秀英), a neighbour (王强), an admin (陈主任), and
/// two buildings.
struct World {
    base: testkit::World,
    /// Two buildings, each with a unit: (building, unit).
    a: (i64, i64),
    b: (i64, i64),
}

testkit::extends_world!(World);

async fn world() -> World {
    let base = testkit::World::build()
        .staff("13800000001", "周晓梅")
        .resident("13800000006", "李秀英")
        .resident("13800000007", "王强")
        .admin("13800000000", "陈主任")
        .start()
        .await;
    let a = base.building_with_unit("翠微新村3栋", "1单元").await;
    let b = base.building_with_unit("南苑小区6栋", "1单元").await;
    World { a, b, base }
}


async fn send(client: &Client, token: &str, fields: &[(&str, &str)], photos: usize) -> reqwest::Response {
    client.send_report_form(token, fields, photos).await
}

/// The form's key, from a fresh form: the page first sends the browser to a keyed address.
async fn fresh_key(client: &Client) -> String {
    let res = client.get("/cases/new").await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let key = to.split("k=").nth(1).expect("a keyed address").to_string();
    let page = client.page(&to).await;
    assert!(page.contains(&format!("name=\"key\" value=\"{key}\"")), "the form carries the address's key");
    key
}

/// The similar step the form was sent on to (it is shown from the form's keyed address).
async fn step_page(client: &Client, res: reqwest::Response) -> String {
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/cases/new?k=") && to.contains("&step=similar"), "{to}");
    client.page(&to).await
}

fn case_of(res: &reqwest::Response) -> i64 {
    let to = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    to.trim_start_matches("/cases/").split('?').next().unwrap().parse().unwrap_or_else(|_| panic!("not a case: {to}"))
}

async fn cases_count(w: &World) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&w.app.state.db.pool).await.unwrap()
}

/// An open case of the kind the tests report, in building `b`, by another resident.
async fn open_case_in(w: &World, unit: i64) -> i64 {
    let other = w.app.login("13800000007").await;
    let res = other
        .post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "楼道的声控灯坏了，晚上下楼看不见", "unit_id": unit}))
        .await;
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn danger_skips_the_similar_step_and_every_field_survives_it() {
    let w = world().await;
    let earlier = open_case_in(&w, w.a.1).await;
    let token = w.resident().csrf().await;
    let unit = format!("u{}", w.a.1);
    // Danger ticked: no step, filed critical at once.
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的声控灯坏了，电线冒火花"), ("building_id", &unit), ("danger_now", "1")], 1).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let id = case_of(&res);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["urgency"], "critical");
    assert_eq!(case["unit_id"], w.a.1);
    assert_eq!(case["photos"].as_array().unwrap().len(), 1);
    // Without danger the step comes, suggesting the open case in the same unit, and keeps
    // the words, the unit, the map point and the photo.
    let key = fresh_key(w.resident()).await;
    let text = "楼道的声控灯又坏了，晚上很黑";
    let fields = [("key", key.as_str()), ("text", text), ("building_id", unit.as_str()), ("lat", "32.041000"), ("long", "118.784000"), ("place", "二楼")];
    let res = send(w.resident(), &token, &fields, 2).await;
    let page = step_page(w.resident(), res).await;
    assert!(page.contains("data-testid=\"similar\""), "the similar step");
    assert!(page.contains(&format!("data-case=\"{earlier}\"")), "the open case in the same unit");
    assert!(page.contains("同一单元"));
    assert!(page.contains(text) && page.contains("value=\"二楼\"") && page.contains("value=\"32.041000\""));
    assert!(page.contains(&format!("value=\"{unit}\" selected")), "the unit stays chosen");
    assert!(page.contains("已保留 2 张照片"), "the photos are kept");
    // Shown as thumbnails to the one who wrote it, to nobody else.
    assert!(page.contains(&format!("/cases/new/kept/1?k={key}")));
    let res = w.resident().get(&format!("/cases/new/kept/1?k={key}")).await;
    assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    let other = w.app.login("13800000007").await;
    assert_eq!(other.get(&format!("/cases/new/kept/0?k={key}")).await.status(), 404);
    assert_eq!(w.app.client().get(&format!("/cases/new/kept/0?k={key}")).await.status(), 404);
    assert_eq!(w.resident().get(&format!("/cases/new/kept/2?k={key}")).await.status(), 404);
    assert!(!page.contains("王强"), "no names of other people on the step");
    // 继续提交 without choosing the photos again.
    let mut again: Vec<(&str, &str)> = fields.to_vec();
    again.push(("confirm", "1"));
    let res = send(w.resident(), &token, &again, 0).await;
    assert_eq!(res.status(), 303);
    let id = case_of(&res);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["photos"].as_array().unwrap().len(), 2, "the kept photos are filed");
    assert_eq!((case["unit_id"].as_i64(), case["place"].as_str()), (Some(w.a.1), Some("二楼")));
    assert!(case["point"].is_array(), "the map point is kept");
    // The step, the filing and its draft are over: nothing left behind.
    let drafts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_drafts").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(drafts, 0);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn the_step_matches_the_building_of_the_chosen_unit_and_a_followed_case_is_listed() {
    let w = world().await;
    let elsewhere = open_case_in(&w, w.b.1).await;
    let here = open_case_in(&w, w.a.1).await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let unit = format!("u{}", w.a.1);
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯坏了，晚上看不见"), ("building_id", &unit)], 1).await;
    let page = step_page(w.resident(), res).await;
    assert!(page.contains(&format!("data-case=\"{here}\"")));
    assert!(!page.contains(&format!("data-case=\"{elsewhere}\"")), "not a case of another building");
    assert!(page.contains("翠微新村3栋 1单元"), "where it is, to tell whether it is the same");
    // 关注 from the step: nothing is filed, the form stays, and 我的反映 lists the case.
    let before = cases_count(&w).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯坏了，晚上看不见"), ("building_id", &unit), ("confirm", "1"), ("follow", &here.to_string())], 0).await;
    let page = step_page(w.resident(), res).await;
    assert!(page.contains("data-testid=\"followed\"") && page.contains("已保留 1 张照片"));
    assert!(page.contains("楼道的灯坏了，晚上看不见"), "the words stay");
    assert_eq!(cases_count(&w).await, before);
    // The kept photo is not wanted after all: filed without it.
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯坏了，晚上看不见"), ("building_id", &unit), ("confirm", "1"), ("drop_kept", "1")], 0).await;
    let id = case_of(&res);
    assert_eq!(w.staff().json(&format!("/api/v1/cases/{id}")).await["photos"].as_array().unwrap().len(), 0);
    let mine = w.resident().page("/me/cases").await;
    assert!(!mine.contains("您还没有反映过问题"));
    assert!(mine.contains("我关注的") && mine.contains(&format!("data-case=\"{here}\"")));
}

#[tokio::test]
async fn back_after_filing_shows_the_filed_report_and_files_nothing_twice() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let fields = [("key", key.as_str()), ("text", "小区东门的路面塌了一个坑，电动车容易摔"), ("confirm", "1")];
    let res = send(w.resident(), &token, &fields, 0).await;
    assert_eq!(res.status(), 303);
    let id = case_of(&res);
    // Back: the address with the same key.
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    assert!(page.contains("data-testid=\"already-filed\"") && page.contains(&format!("href=\"/cases/{id}\"")));
    assert!(!page.contains("id=\"report-form\""), "no form to file again");
    // A page restored from the browser's cache sends the same key: the same case.
    let res = send(w.resident(), &token, &fields, 0).await;
    assert_eq!(case_of(&res), id);
    assert_eq!(w.resident().json("/api/v1/me/cases").await.as_array().unwrap().len(), 1);
    // An anonymous filing's Back gives its private link back.
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼下有人半夜大声放音乐"), ("anonymous", "1"), ("confirm", "1")], 0).await;
    let link = res.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
    assert!(link.starts_with("/cases/follow/"));
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    assert!(page.contains(&format!("href=\"{link}?new=1\"")));
}

#[tokio::test]
async fn a_lapsed_session_asks_for_a_login_and_files_the_kept_draft_under_the_name() {
    let w = world().await;
    let key = fresh_key(w.resident()).await;
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    let by = page.split("name=\"by\" value=\"").nth(1).expect("the form says who fills it in").split('"').next().unwrap().to_string();
    let session_token = w.resident().csrf().await;
    assert!(session_token.starts_with("s."));
    // The session is gone (a browser without it), the form still carries the session's token.
    let lapsed = w.app.client();
    let before = cases_count(&w).await;
    let unit = format!("u{}", w.a.1);
    let text = "3栋1单元门口的井盖松了，踩上去晃";
    let fields = [("key", key.as_str()), ("by", by.as_str()), ("text", text), ("building_id", unit.as_str()), ("danger_now", "1"), ("place", "门口")];
    let res = send(&lapsed, &session_token, &fields, 1).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("data-testid=\"relogin\""), "a login prompt");
    let back = format!("/login?next={}", kernel::web::url_encode(&format!("/cases/new?k={key}")));
    assert!(page.contains(&back.replace('&', "&amp;")) || page.contains(&back), "{page}");
    assert_eq!(cases_count(&w).await, before, "nothing filed, anonymously or otherwise");
    // A form filled by someone logged in is never filed anonymously, whatever token it carries.
    let visitor_token = lapsed.csrf().await;
    let res = send(&lapsed, &visitor_token, &fields, 0).await;
    assert!(res.text().await.unwrap().contains("data-testid=\"relogin\""));
    assert_eq!(cases_count(&w).await, before);
    // Somebody else logged in does not get the draft.
    let other = w.app.login("13800000007").await;
    let page = other.page(&format!("/cases/new?k={key}")).await;
    assert!(!page.contains(text));
    // Back in: the draft is there, photo included, and files under her name.
    let again = w.app.login("13800000006").await;
    let page = again.page(&format!("/cases/new?k={key}")).await;
    assert!(page.contains(text) && page.contains("value=\"门口\"") && page.contains("已保留 1 张照片"));
    assert!(page.contains("name=\"danger_now\" value=\"1\" checked"));
    let token = again.csrf().await;
    let res = send(&again, &token, &[("key", &key), ("text", text), ("building_id", &unit), ("danger_now", "1"), ("place", "门口")], 0).await;
    assert_eq!(res.status(), 303);
    let id = case_of(&res);
    let mine = again.json("/api/v1/me/cases").await;
    assert_eq!(mine[0]["id"], id, "under her name");
    assert_eq!(mine[0]["photos"].as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["urgency"], "critical");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn the_promise_is_the_communitys_service_level_and_finished_cases_show_no_clocks() {
    let w = world().await;
    // Staff make normal reports answered within 3 hours, dangers within 10 minutes.
    let admin = w.app.login("13800000000").await;
    let mut settings = admin.json("/api/v1/communities/renjia/case-settings").await;
    settings["sla"] = serde_json::json!([
        {"urgency": "normal", "category": null, "first_response_minutes": 180, "result_minutes": 2880, "working_hours": false},
        {"urgency": "critical", "category": null, "first_response_minutes": 10, "result_minutes": 240, "working_hours": false}
    ]);
    let res = admin.put_json("/api/v1/communities/renjia/case-settings", &settings).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let key = fresh_key(w.resident()).await;
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    assert!(page.contains("一般问题 3 小时内首次回复，2 天内给出处理结果；有人身安全危险时 10 分钟内响应。"), "{page}");
    assert!(!page.contains("2 小时内回复"));
    let token = w.resident().csrf().await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "小区花园的长椅坏了一条腿"), ("confirm", "1")], 0).await;
    let id = case_of(&res);
    let page = w.resident().page(&format!("/cases/{id}")).await;
    let case = w.resident().json(&format!("/api/v1/cases/{id}")).await;
    let span = case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap();
    assert_eq!(span, 3 * HOUR);
    assert!(page.contains("data-testid=\"filed-promise\"") && page.contains("3 小时内"), "{page}");
    assert!(page.contains("data-testid=\"first-response-due\""));
    assert!(w.resident().page("/me/cases").await.contains("data-testid=\"due\""));
    // Withdrawn: no clocks anywhere.
    let res = w.resident().post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": "withdrawn", "note": ""})).await;
    assert!(res.status().is_success());
    let page = w.resident().page(&format!("/cases/{id}")).await;
    assert!(!page.contains("first-response-due") && !page.contains("回复期限") && !page.contains("办结期限"));
    assert!(!w.resident().page("/me/cases").await.contains("data-testid=\"due\""));
}

#[tokio::test]
async fn the_author_rates_on_the_case_page_and_the_timeline_says_it_in_words() {
    let w = world().await;
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "单元门的门禁坏了，关不上"})).await;
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    for (to, note) in [("acknowledged", "已电话联系，今天下午上门"), ("resolved", "已更换门禁锁")] {
        let res = w.staff().post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": note})).await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    let page = w.resident().page(&format!("/cases/{id}")).await;
    assert!(page.contains(&format!("action=\"/cases/{id}/rate\"")) && page.contains("value=\"satisfied\""));
    assert!(!page.contains("回复期限"), "a resolved case shows no clocks");
    // Someone else cannot rate it.
    let other = w.app.login("13800000007").await;
    let res = other.post_form(&format!("/cases/{id}/rate"), &[("solved", "1"), ("satisfaction", "satisfied")]).await;
    assert_eq!(res.status(), 404);
    let res = w.resident().post_form(&format!("/cases/{id}/rate"), &[("solved", "1"), ("satisfaction", "satisfied"), ("comment", "修得很快")]).await;
    assert_eq!(res.status(), 303);
    let page = w.resident().page(&format!("/cases/{id}")).await;
    assert!(page.contains("满意：修得很快"), "{page}");
    assert!(!page.contains("satisfied 修得很快"));
    assert!(!page.contains(&format!("action=\"/cases/{id}/rate\"")), "rated once");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn any_words_in_the_report_form_get_an_answer_never_a_server_error() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let page = w.resident().page(&format!("/cases/new?k={key}")).await;
    let by = page.split("name=\"by\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let lapsed = w.app.client();
    let words = proptest::collection::vec(
        proptest::prop_oneof![
            proptest::char::range('\u{4e00}', '\u{9fa5}'),
            proptest::sample::select(vec!['，', '。', '？', '！', '：', '（', '）', '\u{301}', '\u{200d}', '\u{0}', '\u{1b}', '\n', '\r', '😀', '👩', 'a', ' ']),
            proptest::char::any(),
        ],
        0..2100,
    )
    .prop_map(|v| v.into_iter().collect::<String>());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for i in 0..24 {
        let text = words.new_tree(&mut runner).unwrap().current();
        let place = words.new_tree(&mut runner).unwrap().current();
        let key = format!("prop-{i}");
        let fields = [("key", key.as_str()), ("text", text.as_str()), ("place", place.as_str())];
        for (client, token, by) in [(w.resident(), token.as_str(), ""), (&lapsed, token.as_str(), by.as_str())] {
            let mut f = fields.to_vec();
            if !by.is_empty() {
                f.push(("by", by));
            }
            let res = send(client, token, &f, 0).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            assert!([200, 303, 422].contains(&status), "{status} for {text:?}: {body}");
            if status == 422 {
                assert!(body.contains("role=\"alert\""), "a translated error");
            }
        }
    }
}

#[tokio::test]
async fn someone_who_reports_for_themself_is_not_shown_as_reporting_for_themself() {
    let w = world().await;
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13800000001'").fetch_one(&w.app.state.db.pool).await.unwrap();
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE slug = 'renjia'").fetch_one(&w.app.state.db.pool).await.unwrap();
    // 周晓梅 lives in the community too: her registry entry is her account.
    let me: i64 = sqlx::query_scalar(
        "INSERT INTO residents (community_id, user_id, name, gender, phone, relation, notes, created_at, updated_at) VALUES ($1, $2, '周晓梅', '', '13800000001', '', '', 0, 0) RETURNING id",
    )
    .bind(community)
    .bind(staff_id)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    let res = w.staff().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "我家楼下的路灯不亮了", "resident_id": me})).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["author"], "周晓梅");
    assert!(case["for_resident"].is_null() && case["entered_by"].is_null(), "{case}");
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(!page.contains("代 周晓梅"), "no 代 for oneself");
}

/// Files `body` as `client` and resolves it; returns the case.
async fn resolved_case(w: &World, client: &Client, body: serde_json::Value) -> serde_json::Value {
    let res = client.post_json("/api/v1/communities/renjia/cases", &body).await;
    assert_eq!(res.status(), 201);
    let filed = res.json::<serde_json::Value>().await.unwrap();
    let id = filed["id"].as_i64().unwrap();
    for (to, note) in [("acknowledged", "已电话联系，今天下午上门"), ("resolved", "已修好")] {
        let res = w.staff().post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": note})).await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    filed
}

/// A fresh rating link for case `id` (the one texted to its author).
async fn rating_link(w: &World, id: i64) -> String {
    let mut tx = w.app.state.db.begin_write().await.unwrap();
    let token = cases::rating::issue(&mut tx, w.app.state.now(), cases::domain::CaseId::new(id)).await.unwrap();
    tx.commit().await.unwrap();
    token
}

/// The rating form came back as chosen (解决了, 基本满意), the comment kept, with the field's message.
fn refused_as_chosen(status: u16, page: &str, action: &str) {
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(&format!("action=\"{action}\"")), "the form again: {page}");
    assert!(page.contains("含有不可见的控制字符，请删除后再提交"), "the field's message: {page}");
    assert!(page.contains("name=\"solved\" value=\"1\" required checked"), "solved as chosen");
    assert!(page.contains("value=\"basic\" checked"), "satisfaction as chosen");
    assert!(page.contains("师傅很耐心👍，谢谢！"), "the comment kept");
    assert!(page.contains("aria-invalid=\"true\" aria-describedby=\"comment-error\""));
}

#[tokio::test]
async fn a_rating_with_a_control_character_comes_back_as_chosen_on_every_rating_form() {
    let w = world().await;
    let comment = "师傅很耐心👍，谢谢！\u{7}\u{1b}";
    let chosen = [("solved", "1"), ("satisfaction", "basic"), ("comment", comment)];
    // On the case page.
    let id = resolved_case(&w, w.resident(), serde_json::json!({"text": "单元门的门禁坏了，关不上"})).await["id"].as_i64().unwrap();
    let res = w.resident().post_form(&format!("/cases/{id}/rate"), &chosen).await;
    let status = res.status().as_u16();
    refused_as_chosen(status, &res.text().await.unwrap(), &format!("/cases/{id}/rate"));
    let res = w.resident().post_form(&format!("/cases/{id}/rate"), &[("solved", "1"), ("satisfaction", "basic"), ("comment", "师傅很耐心👍，谢谢！")]).await;
    assert_eq!(res.status(), 303, "the rating was kept open");
    // Through the rating link, without a login.
    let other = resolved_case(&w, w.resident(), serde_json::json!({"text": "楼下的路灯不亮了"})).await["id"].as_i64().unwrap();
    let token = rating_link(&w, other).await;
    let visitor = w.app.client();
    let res = visitor.post_form(&format!("/r/{token}"), &chosen).await;
    let status = res.status().as_u16();
    refused_as_chosen(status, &res.text().await.unwrap(), &format!("/r/{token}"));
    let res = visitor.post_form(&format!("/r/{token}"), &[("solved", "1"), ("satisfaction", "basic")]).await;
    assert!(res.text().await.unwrap().contains("role=\"status\""), "thanked");
    // Through an anonymous author's private link.
    let filed = resolved_case(&w, w.resident(), serde_json::json!({"text": "楼道里堆满了杂物", "anonymous": true})).await;
    let follow = filed["follow_token"].as_str().unwrap();
    let res = visitor.post_form(&format!("/cases/follow/{follow}/rate"), &chosen).await;
    let status = res.status().as_u16();
    refused_as_chosen(status, &res.text().await.unwrap(), &format!("/cases/follow/{follow}/rate"));
    // Whatever the comment: saved, or the form again with a field's message; never a server error.
    let id = resolved_case(&w, w.resident(), serde_json::json!({"text": "电梯按钮失灵了"})).await["id"].as_i64().unwrap();
    let words = proptest::collection::vec(
        proptest::prop_oneof![
            proptest::char::range('\u{4e00}', '\u{9fa5}'),
            proptest::sample::select(vec!['，', '。', '？', '！', '：', '（', '）', '\u{301}', '\u{200d}', '\u{0}', '\u{7}', '\u{1b}', '\n', '\r', '👍', '😀', 'a', ' ']),
            proptest::char::any(),
        ],
        0..600,
    )
    .prop_map(|v| v.into_iter().collect::<String>());
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..24 {
        let comment = words.new_tree(&mut runner).unwrap().current();
        let res = w.resident().post_form(&format!("/cases/{id}/rate"), &[("solved", "1"), ("satisfaction", "satisfied"), ("comment", &comment)]).await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        match status {
            303 => {
                rating_link(&w, id).await;
            }
            422 => {
                assert!(body.contains("class=\"field-error\"") && !body.contains("error."), "a field's message in words: {body}");
                assert!(body.contains("value=\"satisfied\" required checked"), "as chosen");
            }
            other => panic!("{other} for {comment:?}: {body}"),
        }
    }
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn the_similar_step_never_offers_her_own_report_and_my_reports_list_each_once() {
    let w = world().await;
    let unit = format!("u{}", w.a.1);
    let own = w
        .resident()
        .post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "楼道的声控灯坏了，晚上下楼看不见", "unit_id": w.a.1}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let theirs = open_case_in(&w, w.a.1).await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯又坏了，晚上看不见"), ("building_id", &unit)], 0).await;
    let page = step_page(w.resident(), res).await;
    assert!(page.contains(&format!("data-case=\"{theirs}\"")));
    assert!(!page.contains(&format!("data-case=\"{own}\"")), "not her own report");
    // Following her own case (an old form, say) does nothing.
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯又坏了，晚上看不见"), ("building_id", &unit), ("follow", &own.to_string())], 0).await;
    assert_eq!(res.status(), 303);
    // A case she follows already is not offered again.
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯又坏了，晚上看不见"), ("building_id", &unit), ("follow", &theirs.to_string())], 0).await;
    assert_eq!(res.status(), 303);
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道的灯又坏了，晚上看不见"), ("building_id", &unit)], 0).await;
    if res.status() == 303 && res.headers()["location"].to_str().unwrap().contains("step=similar") {
        let page = step_page(w.resident(), res).await;
        assert!(!page.contains(&format!("data-case=\"{theirs}\"")) && !page.contains(&format!("data-case=\"{own}\"")));
    } else {
        assert!(case_of(&res) > theirs, "nothing left to offer: filed");
    }
    let mine = w.resident().page("/me/cases").await;
    assert_eq!(mine.matches(&format!("#{own} ")).count(), 1, "her case once: {mine}");
    assert_eq!(mine.matches(&format!("#{theirs} ")).count(), 1, "the followed case once");
}

#[tokio::test]
async fn the_security_token_is_never_in_an_address() {
    let w = world().await;
    let token = w.resident().csrf().await;
    let key = fresh_key(w.resident()).await;
    let form = w.resident().page(&format!("/cases/new?k={key}")).await;
    assert!(form.contains("action=\"/cases/new\"") && !form.contains("?_csrf") && !form.contains("&amp;_csrf"), "{form}");
    // A mistake to mend comes back on the form's own address, the token only in the form.
    let long = "坏".repeat(2100);
    let res = send(w.resident(), &token, &[("key", &key), ("text", &long)], 0).await;
    assert_eq!(res.status(), 422);
    assert!(!res.url().as_str().contains("_csrf"));
    // Without the token (or with another), nothing is filed.
    let before = cases_count(&w).await;
    let res = send(w.resident(), "s.not-the-token", &[("key", &key), ("text", "楼道灯坏了"), ("confirm", "1")], 1).await;
    assert_eq!(res.status(), 400);
    assert_eq!(cases_count(&w).await, before);
    // Every address the report flow sends the browser to is free of it.
    let res = send(w.resident(), &token, &[("key", &key), ("text", "楼道灯坏了，晚上看不见"), ("confirm", "1")], 1).await;
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/cases/") && !to.contains("_csrf"), "{to}");
}
