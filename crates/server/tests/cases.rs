//! Cases: filing with triage and clocks, the workflow, escalation, anonymity, idempotency.

use kernel::clock::{HOUR, MINUTE};
use testkit::World;

async fn world() -> World {
    World::build().sms().staff("13800000001", "周晓梅").resident("13800000006", "李秀英").resident("13800000007", "王强").start().await
}

async fn file(client: &testkit::Client, body: serde_json::Value) -> serde_json::Value {
    let res = client.post_json("/api/v1/communities/renjia/cases", &body).await;
    let status = res.status();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

async fn mv(client: &testkit::Client, id: i64, to: &str, note: &str) -> reqwest::Response {
    client.post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": note})).await
}

#[tokio::test]
async fn a_case_is_triaged_and_clocked_on_arrival() {
    let w = world().await;
    let filed = file(w.resident(), serde_json::json!({"text": "3栋楼道的声控灯坏了,晚上下楼看不见", "place": "翠微新村3栋"})).await;
    assert_eq!((filed["urgency"].as_str(), filed["category"].as_str()), (Some("normal"), Some("repair")));
    let id = filed["id"].as_i64().unwrap();
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "new");
    assert_eq!(case["author"], "李秀英", "a named case shows its author to staff");
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 2 * HOUR, "seed: first reply within 2 h");
    assert_eq!(case["result_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 24 * HOUR, "seed: result within 24 h");
    assert_eq!(case["first_response_clock"], "on_track");
    // The reasons are the writer's own words.
    let reasons = case["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty() && reasons.iter().all(|r| "3栋楼道的声控灯坏了,晚上下楼看不见".contains(r["phrase"].as_str().unwrap())), "{reasons:?}");
    // The resident sees it among their cases.
    assert_eq!(w.resident().json("/api/v1/me/cases").await[0]["id"], id);
}

#[tokio::test]
async fn a_critical_case_texts_the_staff_at_once_and_tops_the_queue() {
    let w = world().await;
    let normal = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了没人清"})).await;
    let critical = file(w.resident(), serde_json::json!({"text": "楼道里一股很浓的煤气味,快来人"})).await;
    assert_eq!(critical["urgency"], "critical");
    w.app.run_jobs().await;
    let texts = w.sms().sent();
    assert_eq!(texts.len(), 1, "one text to the one staff member");
    assert_eq!(texts[0].to, "13800000001");
    assert!(texts[0].text.contains("煤气味"), "{}", texts[0].text);
    let queue = w.staff().json("/api/v1/communities/renjia/cases").await;
    let ids: Vec<i64> = queue["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [critical["id"].as_i64().unwrap(), normal["id"].as_i64().unwrap()]);
    let case = &queue["items"][0];
    assert_eq!(case["first_response_due"].as_i64().unwrap() - case["created_at"].as_i64().unwrap(), 15 * MINUTE);
}

#[tokio::test]
async fn the_workflow_runs_from_first_response_to_closing_and_reopens_when_not_solved() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "单元门口的路灯不亮了"})).await["id"].as_i64().unwrap();
    // Nothing can be resolved before someone has answered the resident.
    assert_eq!(mv(w.staff(), id, "resolved", "修好了").await.status(), 422);
    // The first response says how the resident was reached and what the plan is.
    assert_eq!(mv(w.staff(), id, "acknowledged", "").await.status(), 422);
    w.app.clock.advance(30 * MINUTE);
    let res = mv(w.staff(), id, "acknowledged", "已电话联系居民,明天上午电工上门").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["first_response_clock"], "met");
    assert_eq!(mv(w.staff(), id, "in_progress", "").await.status(), 200);
    assert_eq!(mv(w.staff(), id, "resolved", "更换了灯泡").await.status(), 200);
    // The resident says it is not solved: the case reopens.
    let res = mv(w.resident(), id, "in_progress", "还是不亮").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["state"], "in_progress");
    assert_eq!(mv(w.staff(), id, "resolved", "更换了线路").await.status(), 200);
    assert_eq!(mv(w.staff(), id, "verified", "网格员现场核查,已亮").await.status(), 200);
    let closed = mv(w.staff(), id, "closed", "").await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["result_clock"], "met");
    let states: Vec<&str> = closed["events"].as_array().unwrap().iter().filter_map(|e| e["state"].as_str()).collect();
    assert_eq!(states, ["new", "acknowledged", "in_progress", "resolved", "in_progress", "resolved", "verified", "closed"]);
    // A closed case is final.
    assert_eq!(mv(w.staff(), id, "in_progress", "").await.status(), 422);
    // Every step reached the resident's inbox.
    let inbox = w.resident().json("/api/v1/me/notifications").await;
    assert!(inbox["items"].as_array().unwrap().len() >= 6);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn a_missed_clock_warns_then_escalates_and_a_met_one_stays_quiet() {
    let w = world().await;
    let late = file(w.resident(), serde_json::json!({"text": "楼道堆了很多纸箱"})).await["id"].as_i64().unwrap();
    let answered = file(w.resident(), serde_json::json!({"text": "小区绿化带杂草太高了"})).await["id"].as_i64().unwrap();
    assert_eq!(mv(w.staff(), answered, "acknowledged", "已联系,本周修剪").await.status(), 200);
    // 1 h 36 min: a fifth of the two hours is left.
    w.app.clock.advance(96 * MINUTE);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{late}")).await;
    assert_eq!(case["first_response_clock"], "at_risk");
    assert!(case["events"].as_array().unwrap().iter().any(|e| e["kind"] == "clock_warning"));
    w.app.clock.advance(25 * MINUTE);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{late}")).await;
    assert_eq!(case["first_response_clock"], "breached");
    assert!(case["events"].as_array().unwrap().iter().any(|e| e["kind"] == "clock_breached" && e["note"] == "first_response"));
    let inbox = w.staff().json("/api/v1/me/notifications").await;
    let titles: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert!(titles.iter().any(|t| t.contains(&format!("#{late}")) && t.contains("超时")), "{titles:?}");
    let quiet = w.staff().json(&format!("/api/v1/cases/{answered}")).await;
    assert!(quiet["events"].as_array().unwrap().iter().all(|e| e["kind"] != "clock_breached" && e["kind"] != "clock_warning"));
}

#[tokio::test]
async fn anonymous_means_anonymous() {
    let w = world().await;
    let filed = file(w.resident(), serde_json::json!({"text": "楼下有人长期在楼道里给电动车充电", "anonymous": true})).await;
    let id = filed["id"].as_i64().unwrap();
    let token = filed["follow_token"].as_str().expect("a private link").to_string();
    // Nothing in the database links the case to its author.
    let author: Option<i64> = sqlx::query_scalar("SELECT author_user_id FROM cases WHERE id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(author, None);
    // Staff see the case, never who filed it, in the case, the queue or the notifications.
    let case = w.staff().get(&format!("/api/v1/cases/{id}")).await.text().await.unwrap();
    let queue = w.staff().get("/api/v1/communities/renjia/cases").await.text().await.unwrap();
    let inbox = w.staff().get("/api/v1/me/notifications").await.text().await.unwrap();
    for body in [&case, &queue, &inbox] {
        assert!(!body.contains("李秀英") && !body.contains("13800000006") && !body.contains("138****0006"), "{body}");
    }
    assert!(case.contains("\"anonymous\":true"));
    // Not in the author's named list either, and nobody else can find it by id.
    assert!(w.resident().json("/api/v1/me/cases").await.as_array().unwrap().is_empty());
    assert_eq!(w.resident().get(&format!("/api/v1/cases/{id}")).await.status(), 404);
    // The private link follows it and can withdraw it, without a login.
    let visitor = w.app.client();
    assert_eq!(visitor.json(&format!("/api/v1/cases/follow/{token}")).await["id"], id);
    let res = visitor.post_json(&format!("/api/v1/cases/follow/{token}/moves"), &serde_json::json!({"to": "withdrawn"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(visitor.get("/api/v1/cases/follow/not-a-token").await.status(), 404);
    // A visitor who is not logged in may file anonymously, never by name.
    let res = visitor.post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "路灯坏了", "anonymous": true})).await;
    assert_eq!(res.status(), 201);
    let res = visitor.post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "路灯坏了"})).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_resubmitted_form_files_one_case() {
    let w = world().await;
    let body = serde_json::json!({"text": "南苑小区2栋门禁坏了", "idempotency_key": "form-7f3a"});
    let a = file(w.resident(), body.clone()).await;
    let b = w.resident().post_json("/api/v1/communities/renjia/cases", &body).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn only_staff_handle_cases_and_residents_only_see_their_own() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "楼上装修太吵了"})).await["id"].as_i64().unwrap();
    let other = w.app.login("13800000007").await;
    assert_eq!(other.get(&format!("/api/v1/cases/{id}")).await.status(), 404);
    assert_eq!(other.get("/api/v1/communities/renjia/cases").await.status(), 403);
    assert_eq!(mv(&other, id, "withdrawn", "").await.status(), 404);
    // The author may withdraw, but not make staff moves.
    assert_eq!(mv(w.resident(), id, "acknowledged", "自己回复").await.status(), 422);
    assert_eq!(mv(w.resident(), id, "withdrawn", "").await.status(), 200);
    // Residents file as residents; other channels are for staff.
    let res = w.resident().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "路灯坏了", "source": "window"})).await;
    assert_eq!(res.status(), 422);
    let res = w.staff().post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "窗口居民反映:路灯坏了", "source": "window"})).await;
    assert_eq!(res.status(), 201);
}

fn form_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).map(|i| i + marker.len()).expect("field on the page");
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_resident_reports_and_follows_a_problem_on_the_pages_without_javascript() {
    let w = world().await;
    let page = w.resident().page("/cases/new?k=form-1").await;
    assert!(page.contains("反映问题") && page.contains("24 小时内"));
    let key = form_value(&page, "key");
    let res = w.resident().post_form("/cases/new", &[("text", "楼道灯坏了,晚上下楼看不见"), ("place", "2单元3楼"), ("key", &key), ("c", "")]).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/cases/"), "{location}");
    // A resubmitted form (a double tap on a slow connection) files nothing new.
    let again = w.resident().post_form("/cases/new", &[("text", "楼道灯坏了,晚上下楼看不见"), ("key", &key), ("c", "")]).await;
    assert_eq!(again.headers()["location"], location.as_str());
    let case = w.resident().page(&location).await;
    assert!(case.contains("待响应") && case.contains("楼道灯坏了"));
    assert!(w.resident().page("/me/cases").await.contains("楼道灯坏了"));
    // An empty report is refused with the form kept.
    let res = w.resident().post_form("/cases/new", &[("text", " "), ("key", "k2"), ("c", "")]).await;
    assert_eq!(res.status(), 422);

    // A visitor without a login files anonymously and gets the private link once.
    let visitor = w.app.client();
    let page = visitor.page("/cases/new?k=form-2").await;
    let key = form_value(&page, "key");
    let res = visitor.post_form("/cases/new", &[("text", "小区门口井盖没了"), ("key", &key), ("c", "renjia")]).await;
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/cases/follow/") && location.ends_with("?new=1"), "{location}");
    let page = visitor.page(&location).await;
    assert!(page.contains("专属链接"));
    // The author can withdraw through the link.
    let link = location.trim_end_matches("?new=1");
    assert_eq!(visitor.post_form(&format!("{link}/moves"), &[("to", "withdrawn")]).await.status(), 303);
    assert!(visitor.page(link).await.contains("已撤回"));
}

#[tokio::test]
async fn staff_work_the_queue_on_the_console_pages() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "电梯困人了,里面有老人", "place": "锦绣花园3栋"})).await["id"].as_i64().unwrap();
    let queue = w.staff().page("/console/cases").await;
    assert!(queue.contains("电梯困人了") && queue.contains("紧急"), "critical case listed with its urgency");
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(page.contains("李秀英") && page.contains("困人"), "named author and the deciding words");
    // A first response needs a note; the page says so and keeps the case as it was.
    let res = w.staff().post_form(&format!("/console/cases/{id}/moves"), &[("to", "acknowledged"), ("note", "")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("此项必填"));
    let res = w.staff().post_form(&format!("/console/cases/{id}/moves"), &[("to", "acknowledged"), ("note", "已电话联系,电梯公司10分钟到")]).await;
    assert_eq!(res.status(), 303);
    let res = w.staff().post_form(&format!("/console/cases/{id}/moves"), &[("to", "resolved"), ("note", "已救出,电梯停用检修")]).await;
    assert_eq!(res.status(), 303);
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(page.contains("已办结，待核查") && page.contains("按时"));
    // Residents have no console.
    assert_eq!(w.resident().get("/console/cases").await.status(), 403);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

async fn resolve(w: &World, id: i64) {
    assert_eq!(mv(w.staff(), id, "acknowledged", "已联系").await.status(), 200);
    assert_eq!(mv(w.staff(), id, "resolved", "已处理").await.status(), 200);
}

fn rating_token(w: &World) -> String {
    let sms = w.sms().sent();
    let text = &sms.last().expect("a text with the rating link").text;
    text.split("/r/").nth(1).expect("a rating link").chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test]
async fn a_one_tap_rating_link_works_once_without_a_login_and_not_solved_reopens() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "楼下垃圾桶坏了"})).await["id"].as_i64().unwrap();
    resolve(&w, id).await;
    w.app.run_jobs().await;
    let token = rating_token(&w);
    let visitor = w.app.client();
    let page = visitor.page(&format!("/r/{token}")).await;
    assert!(page.contains("垃圾桶坏了") && page.contains("基本满意"));
    let res = visitor.post_form(&format!("/r/{token}"), &[("solved", "0"), ("satisfaction", "unsatisfied"), ("comment", "还是坏的")]).await;
    assert_eq!(res.status(), 200);
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "in_progress", "not solved reopens the case");
    assert!(case["events"].as_array().unwrap().iter().any(|e| e["kind"] == "rated"));
    // Single use.
    let again = visitor.post_form(&format!("/r/{token}"), &[("solved", "1"), ("satisfaction", "satisfied")]).await;
    assert_eq!(again.status(), 410);
    assert!(again.text().await.unwrap().contains("已经用过"));
    let api = visitor.post_json(&format!("/api/v1/ratings/{token}"), &serde_json::json!({"solved": true, "satisfaction": "satisfied"})).await;
    assert_eq!(api.status(), 409);
    assert_eq!(visitor.get("/r/not-a-real-token").await.status(), 404);
}

#[tokio::test]
async fn rating_links_expire_after_seven_days() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "单元门口台阶破了"})).await["id"].as_i64().unwrap();
    resolve(&w, id).await;
    w.app.run_jobs().await;
    let token = rating_token(&w);
    w.app.clock.advance(7 * 24 * HOUR + MINUTE);
    let res = w.app.client().get(&format!("/r/{token}")).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("已过期"));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn an_anonymous_author_rates_on_the_private_page() {
    let w = world().await;
    let filed = file(w.resident(), serde_json::json!({"text": "楼道里有人乱扔烟头", "anonymous": true})).await;
    let (id, follow) = (filed["id"].as_i64().unwrap(), filed["follow_token"].as_str().unwrap().to_string());
    resolve(&w, id).await;
    let visitor = w.app.client();
    let page = visitor.page(&format!("/cases/follow/{follow}")).await;
    assert!(page.contains("请评价处理结果"));
    let res = visitor.post_form(&format!("/cases/follow/{follow}/rate"), &[("solved", "1"), ("satisfaction", "satisfied")]).await;
    assert_eq!(res.status(), 303);
    assert!(!visitor.page(&format!("/cases/follow/{follow}")).await.contains("请评价处理结果"), "rated once");
    let (solved, satisfaction): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT solved, satisfaction FROM case_ratings WHERE case_id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!((solved, satisfaction.as_deref()), (Some(1), Some("satisfied")));
}

#[tokio::test]
async fn the_public_ledger_shows_the_figures_and_nothing_private() {
    let w = world().await;
    let building = w.building("翠微新村 3栋").await;
    let a = file(w.resident(), serde_json::json!({"text": "李秀英家门口302的楼道灯坏了", "building_id": building})).await["id"].as_i64().unwrap();
    let b = file(w.resident(), serde_json::json!({"text": "小区垃圾桶满了"})).await["id"].as_i64().unwrap();
    let _c = file(w.resident(), serde_json::json!({"text": "路边杂草太高"})).await["id"].as_i64().unwrap();
    w.app.clock.advance(30 * MINUTE);
    assert_eq!(mv(w.staff(), a, "acknowledged", "已联系").await.status(), 200);
    w.app.clock.advance(30 * MINUTE);
    assert_eq!(mv(w.staff(), a, "resolved", "已换灯").await.status(), 200);
    w.app.clock.advance(2 * HOUR);
    assert_eq!(mv(w.staff(), b, "acknowledged", "已联系").await.status(), 200);
    w.app.clock.advance(HOUR);
    assert_eq!(mv(w.staff(), b, "resolved", "已清运").await.status(), 200);
    w.app.run_jobs().await;
    // Both authors rate through their links: A solved and satisfied, B not solved.
    let links: Vec<String> = w
        .sms()
        .sent()
        .iter()
        .filter_map(|m| m.text.split("/r/").nth(1).map(|t| t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()))
        .collect();
    assert_eq!(links.len(), 2);
    let visitor = w.app.client();
    visitor.post_form(&format!("/r/{}", links[0]), &[("solved", "1"), ("satisfaction", "satisfied")]).await;
    visitor.post_form(&format!("/r/{}", links[1]), &[("solved", "0"), ("satisfaction", "unsatisfied")]).await;

    let ledger = visitor.json("/api/v1/communities/renjia/ledger").await;
    let f = &ledger["figures"];
    assert_eq!(f["cases"], 3);
    assert_eq!(f["response_rate"], 0.333, "A answered in time, B late, C overdue: {f}");
    assert_eq!(f["resolution_rate"], 0.5);
    assert_eq!(f["satisfaction_rate"], 0.5);
    assert_eq!(f["on_time_rate"], 1.0, "B reopened, so only A has a result, and it was on time");
    assert_eq!(f["median_first_response_minutes"], 105);
    assert_eq!(f["median_result_minutes"], 60);
    let first = &ledger["cases"]["items"].as_array().unwrap().iter().find(|c| c["id"] == a).unwrap().clone();
    assert_eq!(first["building"], "翠微新村 3栋");
    // The public sees no words, names or flats.
    let page = visitor.page("/ledger/renjia").await;
    let api = serde_json::to_string(&ledger).unwrap();
    for body in [&page, &api] {
        assert!(!body.contains("李秀英") && !body.contains("302") && !body.contains("垃圾桶满了"), "{body}");
    }
    assert!(page.contains("33%") && page.contains("105 分钟") && page.contains("翠微新村 3栋"));
    assert_eq!(visitor.get("/ledger").await.headers()["location"], "/ledger/renjia");
}

#[tokio::test]
async fn before_filing_the_resident_sees_the_same_problem_and_can_follow_it() {
    let w = world().await;
    let building = w.building("南苑小区 2栋").await;
    let first = file(w.resident(), serde_json::json!({"text": "2栋单元门的门禁坏了,刷卡没反应", "building_id": building})).await["id"].as_i64().unwrap();
    // The API finds it for a new report about the same thing in the same building.
    let similar = w.app.client().json(&format!("/api/v1/communities/renjia/cases/similar?text=%E9%97%A8%E7%A6%81%E5%9D%8F%E4%BA%86&building_id={building}")).await;
    assert_eq!(similar[0]["id"], first);
    // A neighbour writing the same problem is shown it before filing, and follows it.
    let neighbour = w.app.login("13800000007").await;
    let page = neighbour.page("/cases/new?k=form-3").await;
    let key = form_value(&page, "key");
    let building_s = building.to_string();
    let res = neighbour.post_form("/cases/new", &[("text", "我们楼的门禁坏了"), ("building_id", &building_s), ("key", &key), ("c", "")]).await;
    assert_eq!(res.status(), 303, "the step is shown from the form's own address");
    let html = neighbour.page(res.headers()["location"].to_str().unwrap()).await;
    assert!(html.contains("已有人反映") && html.contains(&format!("#{first}")), "{html}");
    // The words it shares with hers, so she can tell it is the same; nothing else of it, and
    // never its author's name.
    assert!(html.contains("与您所写相同：的门禁坏了") && !html.contains("单元门") && !html.contains("刷卡") && !html.contains("李秀英"), "{html}");
    let res = neighbour.post_form(&format!("/cases/{first}/follow"), &[]).await;
    assert_eq!(res.status(), 303);
    let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(cases, 1, "following files nothing new");
    // The follower hears about progress.
    assert_eq!(mv(w.staff(), first, "acknowledged", "已联系门禁公司").await.status(), 200);
    let inbox = neighbour.json("/api/v1/me/notifications").await;
    assert!(inbox["items"].as_array().unwrap().iter().any(|m| m["title"].as_str().unwrap().contains(&format!("#{first}"))));
    // "Different problem": confirming files it after all.
    let res = neighbour.post_form("/cases/new", &[("text", "我们楼的门禁坏了"), ("building_id", &building_s), ("key", &key), ("c", ""), ("confirm", "1")]).await;
    assert_eq!(res.status(), 303);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn rating_links_do_not_stay_in_the_outbox() {
    let w = world().await;
    let id = file(w.resident(), serde_json::json!({"text": "楼下路灯不亮了"})).await["id"].as_i64().unwrap();
    resolve(&w, id).await;
    w.app.run_jobs().await;
    let token = rating_token(&w);
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT params, link FROM outbox WHERE template = 'case_rate'").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert_eq!(rows.len(), 2, "a text and the author's inbox");
    let stored = format!("{rows:?}");
    assert!(!stored.contains(&token), "{stored}");
    // The author's own inbox keeps the link, and it works.
    let inbox = w.resident().json("/api/v1/me/notifications").await;
    assert!(inbox.to_string().contains(&token));
    assert_eq!(w.app.client().get(&format!("/r/{token}")).await.status(), 200);
}
