//! The staff side of the needs express: the queue's filters and search (kept in the address,
//! within the person's reach), a step that comes back to its part of the page with a notice,
//! a note kept across a lapsed session for that browser only, service levels in hours and days,
//! the console overview's case figures, escalation texts that name their clock in words, the
//! ledger's export in the reader's language, its grids in natural order and its private cases
//! counted, and a withdrawn case that runs no clock.

use kernel::clock::{HOUR, MINUTE};
use serde_json::{json, Value};
use testkit::Client;

/// An admin, staff texted through the SMS gateway, two grid workers, a resident, and three
/// grids with a building each.
struct World {
    base: testkit::World,
    /// Grid worker of 第一网格.
    own: Client,
    /// 第三网格, 第一网格, 第二网格: created out of order on purpose.
    grids: [i64; 3],
    /// A building in each of those grids.
    buildings: [i64; 3],
}

testkit::extends_world!(World);

async fn world() -> World {
    let (own, other) = ("13800000003", "13800000004");
    let base = testkit::World::build()
        .sms()
        .admin("13800000009", "陈主任")
        .staff("13800000001", "周晓梅")
        .grid_worker(own, "网格员小刘")
        .grid_worker(other, "网格员小王")
        .resident("13800000006", "李秀英")
        .start()
        .await;
    let mut grids = [0; 3];
    let mut buildings = [0; 3];
    for (i, (grid, building, worker)) in
        [("第三网格", "锦绣花园 2栋", other), ("第一网格", "翠微新村 3栋", own), ("第二网格", "南苑小区 6栋", other)].into_iter().enumerate()
    {
        grids[i] = base.grid(grid, &[worker]).await;
        buildings[i] = base.building_in(grids[i], building).await;
        base.place_on_plan(buildings[i], i as i64, 0).await;
    }
    World { own: base.client(own).clone(), grids, buildings, base }
}

async fn file(client: &Client, body: Value) -> i64 {
    let res = client.post_json("/api/v1/communities/renjia/cases", &body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn mv(client: &Client, id: i64, to: &str, note: &str) -> u16 {
    client.post_json(&format!("/api/v1/cases/{id}/moves"), &json!({"to": to, "note": note})).await.status().as_u16()
}

/// The case numbers a queue page lists, in order.
fn listed(page: &str) -> Vec<i64> {
    page.split("data-case=\"").skip(1).filter_map(|s| s.split('"').next()?.parse().ok()).collect()
}

/// A step form sent as the page sends it (multipart, the token first in the body, `_keep` in the address).
async fn step(client: &Client, id: i64, to: &str, note: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let token = client.csrf().await;
    step_with_token(client, id, &token, to, note, extra).await
}

async fn step_with_token(client: &Client, id: i64, token: &str, to: &str, note: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("_csrf", token.to_string()).text("to", to.to_string()).text("note", note.to_string());
    for (k, v) in extra {
        form = form.text(k.to_string(), v.to_string());
    }
    let back = kernel::web::url_encode(&format!("/console/cases/{id}"));
    let url = format!("{}/console/cases/{id}/moves?_keep=to,note,parent_id&_back={back}", client.base());
    client.http.post(url).multipart(form).send().await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_queue_filters_and_searches_in_its_address_within_the_persons_reach() {
    let w = world().await;
    let light = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了，晚上看不见", "building_id": w.buildings[1]})).await;
    let bins = file(w.resident(), json!({"text": "南苑小区垃圾桶满了没人清", "building_id": w.buildings[2]})).await;
    let parking = file(w.resident(), json!({"text": "小区门口有人乱停车"})).await;
    let gone = file(w.resident(), json!({"text": "楼下的路灯不亮了"})).await;
    assert_eq!(mv(w.resident(), gone, "withdrawn", "").await, 200);

    let q = |query: &str| format!("/console/cases?c=renjia{query}");
    let page = w.staff().page(&q("")).await;
    let mut open = listed(&page);
    open.sort();
    assert_eq!(open, [light, bins, parking], "open cases only by default");
    assert!(page.contains("data-testid=\"no-place\""), "a case tied to no building is flagged");
    assert!(page.contains("不明位置"));
    let all = listed(&w.staff().page(&q("&closed=1")).await);
    assert!(all.contains(&gone) && all.last() == Some(&gone), "finished cases on request, after the open ones: {all:?}");
    assert_eq!(listed(&w.staff().page(&q(&format!("&grid={}", w.grids[1]))).await), [light]);
    assert_eq!(listed(&w.staff().page(&q("&grid=none")).await), [parking]);
    assert_eq!(listed(&w.staff().page(&q("&category=sanitation")).await), [bins]);
    assert_eq!(listed(&w.staff().page(&q("&q=%E5%A3%B0%E6%8E%A7%E7%81%AF")).await), [light], "by words (声控灯)");
    assert_eq!(listed(&w.staff().page(&q(&format!("&q=%23{bins}"))).await), [bins], "by number");
    assert!(listed(&w.staff().page(&q(&format!("&q={parking}"))).await).contains(&parking), "a bare number finds the case, and words with it");
    for odd in ["100%25", "_", "%5C", "%F0%9F%98%80", "%E2%80%8B%CC%81"] {
        let page = w.staff().page(&q(&format!("&q={odd}"))).await;
        assert!(listed(&page).is_empty(), "{odd}");
        assert!(page.contains("没有符合条件的案件"), "{odd}");
    }
    assert_eq!(w.staff().get(&q(&format!("&q={}", "很".repeat(101)))).await.status(), 422, "past the length limit: translated, not a 500");
    assert_eq!(w.staff().get(&q("&state=maybe")).await.status(), 422);
    assert_eq!(listed(&w.staff().page(&q("&state=withdrawn")).await), [gone], "a finished state asked for by name");
    // The form shows what narrows the list, and the refresh (the same address) keeps it.
    let page = w.staff().page(&q("&category=repair&q=%E7%81%AF&overdue=1")).await;
    assert!(page.contains("value=\"灯\"") && page.contains("<option value=\"repair\" selected>") && page.contains("name=\"overdue\" value=\"1\" checked"), "filters shown again");
    assert!(listed(&page).is_empty(), "nothing overdue yet");
    w.app.clock.advance(2 * HOUR + MINUTE);
    assert_eq!(listed(&w.staff().page(&q("&category=repair&q=%E7%81%AF&overdue=1")).await), [light], "past its first-response time");
    assert!(listed(&w.staff().page(&q("&assignee=me")).await).is_empty(), "none assigned to 周晓梅");

    // A grid worker sees their grid's cases only, whatever the filters ask for.
    assert_eq!(listed(&w.own.page(&q("")).await), [light]);
    assert!(listed(&w.own.page(&q(&format!("&grid={}", w.grids[2]))).await).is_empty());
    assert!(listed(&w.own.page(&q("&q=%E5%9E%83%E5%9C%BE%E6%A1%B6")).await).is_empty(), "垃圾桶 is another grid's");
    assert!(listed(&w.own.page(&q(&format!("&q={bins}&closed=1"))).await).is_empty());
    assert!(listed(&w.own.page(&q("&grid=none&closed=1")).await).is_empty());

    // Pages keep the filters: 31 cases without a building, two pages.
    for i in 0..30 {
        file(w.staff(), json!({"text": format!("小区东门第{i}盏灯不亮"), "place": "东门"})).await;
    }
    let first = w.staff().page(&q("&grid=none")).await;
    assert_eq!(listed(&first).len(), 30);
    let next = first.split("class=\"pager\"").nth(1).and_then(|s| s.split("href=\"").nth(1)).and_then(|s| s.split('"').next()).unwrap().replace("&#38;", "&").replace("&amp;", "&");
    assert!(next.contains("grid=none") && next.contains("cursor="), "{next}");
    let second = w.staff().page(&next).await;
    assert_eq!(listed(&second).len(), 1, "the 31st, still without a building");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

/// Search ignores case and width alike on SQLite and PostgreSQL (ADR 015): what is searched
/// is kept folded, and the words are folded the same way.
#[tokio::test]
async fn search_ignores_case_and_width_the_same_on_both_engines() {
    let w = world().await;
    let lift = file(w.resident(), json!({"text": "The ÉLÉVATOR in ＢＬＯＣＫ 3 is stuck, Σοφία is inside", "place": "Haus Öl"})).await;
    let other = file(w.resident(), json!({"text": "楼下的路灯不亮了"})).await;
    let q = |words: &str| format!("/console/cases?c=renjia&q={}", urlencoding::encode(words));
    for words in ["élévator", "ÉLÉVATOR", "Élévator", "block 3", "ｂｌｏｃｋ　３", "σοφία", "ΣΟΦΊΑ", "haus öl", "HAUS ÖL"] {
        assert_eq!(listed(&w.staff().page(&q(words)).await), [lift], "{words}");
    }
    assert_eq!(listed(&w.staff().page(&q("路灯")).await), [other]);
    // A case number in full-width digits; a case by its building's name.
    assert_eq!(listed(&w.staff().page(&q(&format!("＃{}", other.to_string().chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect::<String>()))).await), [other]);
    let in_building = file(w.resident(), json!({"text": "楼道灯不亮", "building_id": w.buildings[1]})).await;
    assert_eq!(listed(&w.staff().page(&q("翠微新村")).await), [in_building], "by the building's name");
    assert!(listed(&w.staff().page(&q("elevator")).await).is_empty(), "accents are letters of their own");

    // Cases filed before the folded text was kept get it from the backfill, once.
    sqlx::query("UPDATE cases SET search_text = NULL").execute(&w.app.state.db.pool).await.unwrap();
    assert!(listed(&w.staff().page(&q("élévator")).await).is_empty());
    let backfills = cases::manifest().backfills;
    assert_eq!(w.app.state.db.backfill(backfills, 0).await.unwrap(), 0, "already run at start");
    sqlx::query("DELETE FROM schema_migrations WHERE id = 'cases_0012_search_text_fill'").execute(&w.app.state.db.pool).await.unwrap();
    assert_eq!(w.app.state.db.backfill(backfills, 0).await.unwrap(), 1);
    assert_eq!(listed(&w.staff().page(&q("ÉLÉVATOR")).await), [lift]);
    w.app.run_jobs().await;
}

#[tokio::test]
async fn a_step_comes_back_to_its_part_with_a_notice_and_shows_only_its_fields() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    assert!(page.contains("id=\"step-acknowledged\"") && page.contains("id=\"step-duplicate\""));
    assert_eq!(page.matches("name=\"parent_id\"").count(), 1, "only the merge step asks for a case number");
    assert_eq!(page.matches("name=\"photos\"").count(), 0, "no after photos before a result is possible");
    assert_eq!(page.matches("不在台账公开").count(), 1, "one control says it");

    // A step without the note it needs: shown again with the words kept.
    let res = step(w.staff(), id, "duplicate", "和另一件重复了", &[("parent_id", "")]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("和另一件重复了") && body.contains("role=\"alert\""), "the note is kept on an error");

    let res = step(w.staff(), id, "acknowledged", "已电话联系李阿姨，明天上午派电工", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/console/cases/{id}?saved=step#latest"));
    let page = w.staff().page(&format!("/console/cases/{id}?saved=step")).await;
    assert!(page.contains("data-testid=\"saved\"") && page.contains("已保存"));
    assert!(page.contains("id=\"latest\""));
    assert_eq!(page.matches("name=\"photos\"").count(), 1, "the result step takes photos now");
    assert!(w.staff().page(&format!("/console/cases/{id}")).await.matches("已保存").count() == 0, "no notice without a save");

    let res = w.staff().post_form(&format!("/console/cases/{id}/act"), &[("action", "wait"), ("note", "等居民约上门时间")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/console/cases/{id}?saved=wait#wait"));
    let page = w.staff().page(&format!("/console/cases/{id}?saved=wait")).await;
    let wait = page.split("id=\"wait\"").nth(1).unwrap();
    assert!(wait.split("</form>").next().unwrap().contains("已保存"), "the notice is in the part that changed");
    assert!(w.staff().page(&format!("/console/cases/{id}?saved=%3Cscript%3E")).await.matches("<script>").count() == 0);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn drafts_kept_without_a_login_are_limited_per_address() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let old_token = w.staff().csrf().await;
    let action = format!("/console/cases/{id}/moves?_keep=to,note&_back=%2Fconsole%2Fcases%2F{id}");
    let limit = kernel::drafts::KEPT_DRAFTS.limit;
    for i in 0..=limit {
        let browser = w.app.client();
        let form = reqwest::multipart::Form::new().text("_csrf", old_token.clone()).text("to", "acknowledged").text("note", format!("第{i}条说明"));
        let res = browser.http.post(format!("{}{action}", browser.base())).multipart(form).send().await.unwrap();
        let expected = if i < limit { 303 } else { 429 };
        assert_eq!(res.status(), expected, "draft {i}");
    }
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM form_drafts").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(kept, limit);
}

#[tokio::test]
async fn a_note_sent_as_the_session_lapses_is_kept_for_that_browser_only() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let old_token = w.staff().csrf().await;
    assert!(old_token.starts_with("s."), "a logged-in form's token");
    // The step form's address, as the page writes it.
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let action = page.split("id=\"step-acknowledged\"").nth(1).unwrap().split("action=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    assert!(action.contains("_keep=to,note,parent_id") && action.contains(&format!("_back=%2Fconsole%2Fcases%2F{id}")), "{action}");
    // The token goes in the body, so a form shown again after an error leaves no token in the
    // address bar.
    let forms: Vec<&str> = page.split("<form ").skip(1).map(|f| f.split('>').next().unwrap()).collect();
    assert!(forms.iter().all(|f| !f.contains("_csrf=")), "{forms:?}");
    assert!(forms.iter().any(|f| f.contains("?do=act&")), "{forms:?}");
    let res = w.staff().post_form(&action, &[("to", "acknowledged"), ("note", "")]).await;
    assert_eq!(res.status(), 422, "an error is shown at the form's own address, which has no token");
    assert!(res.text().await.unwrap().contains("此项必填"));
    let note = "已电话联系李阿姨，明天上午派电工😀";

    // The browser lost its cookies (or the session ended): the same form, sent by nobody.
    let browser = w.app.client();
    let form = reqwest::multipart::Form::new().text("_csrf", old_token.clone()).text("to", "acknowledged").text("note", note);
    let res = browser.http.post(format!("{}{action}", browser.base())).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/login?next=%2Fconsole%2Fcases%2F{id}&kept=1"));
    assert!(browser.cookie(kernel::drafts::DRAFT_COOKIE).is_some());
    let login = browser.page(&location(&res)).await;
    assert!(login.contains("登录已过期，请重新登录；您填写的内容已保留。"), "the login page says why: {login}");
    let state: String = sqlx::query_scalar("SELECT state FROM cases WHERE id = $1").bind(id).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(state, "new", "a lapsed form is not acted on");
    let sealed: String = sqlx::query_scalar("SELECT fields FROM form_drafts").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert!(!sealed.contains("李阿姨"), "kept encrypted");

    // Someone else, in another browser, gets nothing.
    let colleague = w.app.login("13800000009").await;
    assert!(!colleague.page(&format!("/console/cases/{id}")).await.contains("李阿姨"));
    // A grid worker of another grid on that browser cannot open the case, and the draft stays.
    let other = w.app.client();
    let res = step_with_token(&other, id, &old_token, "acknowledged", "别的网格", &[]).await;
    assert_eq!(res.status(), 303);
    let res = other.post_json("/api/v1/auth/login", &json!({"phone": "13800000004", "password": testkit::PASSWORD})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(other.get(&format!("/console/cases/{id}")).await.status(), 404);

    // Back in: the page has the note in the step's form, once.
    let res = browser.post_json("/api/v1/auth/login", &json!({"phone": "13800000001", "password": testkit::PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let page = browser.page(&format!("/console/cases/{id}")).await;
    assert!(page.contains("data-testid=\"restored\""));
    assert!(page.contains("您之前填写的内容已恢复") && !page.contains("你之前"), "addressed with 您");
    let form = page.split("id=\"step-acknowledged\" open").nth(1).expect("that step's form is open");
    assert!(form.split("</details>").next().unwrap().contains(note), "the note is back in its form");
    assert!(!browser.page(&format!("/console/cases/{id}")).await.contains(note), "taken once");
    let res = step(&browser, id, "acknowledged", note, &[]).await;
    assert_eq!(res.status(), 303, "sent again, it is saved");

    // A form that does not ask to be kept is refused as before, and keeps nothing.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM form_drafts").fetch_one(&w.app.state.db.pool).await.unwrap();
    let nobody = w.app.client();
    let res = nobody.http.post(format!("{}/console/cases/{id}/act", nobody.base())).form(&[("_csrf", old_token.as_str()), ("action", "wait"), ("note", "x")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM form_drafts").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(before, after);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn service_levels_are_set_in_hours_and_days_with_errors_in_words() {
    let w = world().await;
    let level = |u: &str, first: (&str, &str), result: (&str, &str)| {
        vec![
            (format!("first_{u}"), first.0.to_string()),
            (format!("first_{u}_unit"), first.1.to_string()),
            (format!("result_{u}"), result.0.to_string()),
            (format!("result_{u}_unit"), result.1.to_string()),
        ]
    };
    let send = |normal_result: (&'static str, &'static str)| {
        let mut f = vec![("c".to_string(), "renjia".to_string())];
        f.extend(level("critical", ("15", "minutes"), ("4", "hours")));
        f.extend(level("urgent", ("1", "hours"), ("1", "days")));
        f.extend(level("normal", ("2", "hours"), normal_result));
        f.extend(level("low", ("1.5", "hours"), ("3", "days")));
        f
    };
    let post = |fields: Vec<(String, String)>| {
        let admin = w.admin().clone();
        async move {
            let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            admin.post_form("/console/cases/settings", &refs).await
        }
    };
    let res = post(send(("3", "days"))).await;
    assert_eq!(res.status(), 303);
    let stored: Vec<(String, i64, i64)> = sqlx::query_as("SELECT urgency, first_response_minutes, result_minutes FROM sla_policies ORDER BY urgency").fetch_all(&w.app.state.db.pool).await.unwrap();
    assert!(stored.contains(&("normal".into(), 120, 4320)) && stored.contains(&("low".into(), 90, 4320)) && stored.contains(&("critical".into(), 15, 240)), "{stored:?}");
    let page = w.admin().page("/console/cases/settings?c=renjia").await;
    let normal = page.split("name=\"result_normal\"").nth(1).unwrap();
    assert!(normal.starts_with(" id=\"result_normal\" inputmode=\"decimal\" maxlength=\"12\" value=\"3\""), "{}", &normal[..80]);
    assert!(normal.contains("<option value=\"days\" selected>天</option>"));

    for (typed, message) in [
        (("abc", "days"), "请填写数字，最多两位小数"),
        (("０", "hours"), "请填写 1 分钟到 90 天之间的时长"),
        (("91", "days"), "请填写 1 分钟到 90 天之间的时长"),
        (("1", "minutes"), "办结时限不能短于响应时限"),
        (("", "days"), "此项必填"),
        (("2", "weeks"), "请从列表中选择"),
        (("😀\u{0}\u{301}，", "days"), "请填写数字，最多两位小数"),
    ] {
        let res = post(send(typed)).await;
        assert_eq!(res.status(), 422, "{typed:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{typed:?}: {message}");
        assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"result_normal-error\""), "{typed:?}: the field is marked");
    }
    let kept: i64 = sqlx::query_scalar("SELECT result_minutes FROM sla_policies WHERE urgency = 'normal'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(kept, 4320, "nothing changes on an error");
    // Staff read the page, in the same units.
    assert!(w.staff().page("/console/cases/settings?c=renjia").await.contains("<option value=\"days\" selected>天</option>"));
}

#[tokio::test]
async fn the_overview_counts_cases_and_the_escalation_text_names_its_clock() {
    let w = world().await;
    let light = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    file(w.resident(), json!({"text": "南苑小区垃圾桶满了没人清", "building_id": w.buildings[2]})).await;
    let page = w.staff().page("/console?c=renjia").await;
    let figures = page.split("data-testid=\"console-figures\"").nth(1).expect("the case figures");
    assert!(figures.contains("<span class=\"icon\">2</span>待办案件"), "open");
    assert!(figures.contains("<span class=\"icon\">0</span>已超时"));
    assert!(figures.contains("<span class=\"icon\">2</span>今天到期") || figures.contains("<span class=\"icon\">0</span>今天到期"));
    assert!(figures.contains("<span class=\"icon\">—</span>本月满意率"), "nothing rated yet");
    // The grid worker's figures are their grid's.
    let own = w.own.page("/console?c=renjia").await;
    if own.contains("console-figures") {
        assert!(own.contains("<span class=\"icon\">1</span>待办案件"));
    }
    w.app.run_jobs().await;
    w.app.clock.advance(2 * HOUR + MINUTE);
    w.app.run_jobs().await;
    let page = w.staff().page("/console?c=renjia").await;
    let figures = page.split("data-testid=\"console-figures\"").nth(1).unwrap().split("</div>").next().unwrap();
    assert!(figures.contains("<a class=\"tile bad\" href=\"/console/cases?c=renjia&#38;overdue=1\"><span class=\"icon\">2</span>已超时"), "overdue, leading to the queue: {figures}");
    let texts: Vec<String> = w.sms().sent().iter().map(|t| t.text.clone()).collect();
    let breached: Vec<&String> = texts.iter().filter(|t| t.contains(&format!("#{light}"))).collect();
    assert!(!breached.is_empty(), "{texts:?}");
    assert!(breached.iter().all(|t| !t.contains("first_response") && !t.contains("result)")), "{breached:?}");
    assert!(breached.iter().any(|t| t.contains("（首次响应）")), "{breached:?}");
    let inbox = w.staff().json("/api/v1/me/notifications").await;
    let bodies = inbox.to_string();
    assert!(!bodies.contains("first_response") && bodies.contains("首次响应"), "{bodies}");
}

#[tokio::test]
async fn the_ledger_speaks_the_readers_language_orders_grids_and_counts_private_cases() {
    let w = world().await;
    for b in w.buildings {
        file(w.resident(), json!({"text": "楼道的声控灯坏了", "building_id": b})).await;
    }
    let bins = file(w.resident(), json!({"text": "小区垃圾桶满了没人清"})).await;
    assert_eq!(mv(w.staff(), bins, "acknowledged", "已安排").await, 200);
    assert_eq!(mv(w.staff(), bins, "resolved", "已清运").await, 200);
    file(w.resident(), json!({"text": "我妈八十岁一个人住，腿脚不便，想申请每周上门探访和健康检查"})).await;
    let public = w.app.client();

    let csv = public.get("/api/v1/communities/renjia/ledger/figures?format=csv").await.text().await.unwrap();
    let header = csv.lines().next().unwrap();
    // The figures in the order the page's table shows them.
    assert_eq!(header, "\u{feff}分项统计,分组,反映总数,按时响应率,按时办结率,解决率,满意率,响应用时中位数（分钟）,办结用时中位数（分钟）");
    let page = public.page("/ledger/renjia").await;
    let table = page.split("data-testid=\"breakdown\"").nth(1).unwrap().split("</thead>").next().unwrap();
    let at: Vec<usize> = ["按时响应率", "按时办结率", "解决率", "满意率"].iter().map(|h| table.find(&format!(">{h}<")).unwrap()).collect();
    assert!(at.windows(2).all(|p| p[0] < p[1]), "the page's order: {at:?}");
    // The exports are buttons, not small links.
    let exports = page.split("data-testid=\"exports\"").nth(1).unwrap().split("</p>").next().unwrap();
    assert_eq!(exports.matches("class=\"button secondary\"").count(), 2, "{exports}");
    assert!(csv.contains("按类别,环境卫生,1,100%,"), "{csv}");
    assert!(!csv.contains("sanitation") && !csv.contains("1.000"), "{csv}");
    let grid_rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("按网格,")).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(grid_rows, ["第一网格", "第二网格", "第三网格", "未分网格"], "natural order, no blank row");
    let en = public.http.get(format!("{}/api/v1/communities/renjia/ledger/figures?format=csv", public.base())).header("accept-language", "en").send().await.unwrap().text().await.unwrap();
    assert!(en.lines().next().unwrap().contains("Group,Cases,Answered in time"), "{en}");
    assert!(en.contains("Category,Sanitation,1,100%,") && en.contains("Grid,No grid,"), "{en}");
    let by_grid = public.json("/api/v1/communities/renjia/ledger/figures?by=grid").await;
    let keys: Vec<&str> = by_grid.as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["第一网格", "第二网格", "第三网格", ""]);

    let page = public.page("/ledger/renjia?by=grid").await;
    assert!(!page.contains("0.") || !page.contains("response_rate"));
    let table = page.split("data-testid=\"breakdown\"").nth(1).unwrap();
    let order: Vec<usize> = ["第一网格", "第二网格", "第三网格", "未分网格"].iter().map(|g| table.find(g).unwrap()).collect();
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{order:?}");
    // The plan: every building under its compound's heading, as a link big enough to tap.
    let plan = page.split("data-testid=\"plan\"").nth(1).unwrap();
    for compound in ["翠微新村", "南苑小区", "锦绣花园"] {
        assert!(plan.contains(&format!(">{compound}</h3>")), "{compound}");
    }
    assert!(plan.contains("class=\"chip open\""));
    // Care cases are private and counted: the list says so instead of "no cases".
    let care = public.page("/ledger/renjia?category=care#cases").await;
    assert!(care.contains("data-testid=\"private-note\"") && care.contains("另有 1 件"), "the care case is counted");
    assert!(!care.contains("还没有反映的问题"));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn a_withdrawn_case_runs_no_clock_on_the_staff_side() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    assert_eq!(mv(w.resident(), id, "withdrawn", "已经修好了").await, 200);
    w.app.clock.advance(30 * HOUR);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["first_response_clock"], "ended");
    assert_eq!(case["result_clock"], "ended");
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let first = page.split("data-testid=\"first-clock\">").nth(1).unwrap().split("</dd>").next().unwrap();
    assert!(first.contains("已结束，不再计时") && !first.contains("已超时") && !first.contains(":"), "{first}");
    let queue = w.staff().page("/console/cases?c=renjia&closed=1").await;
    let row = queue.split(&format!("data-case=\"{id}\"")).nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("已结束，不再计时") && !row.contains("已超时"), "{row}");
}

#[tokio::test]
async fn this_months_satisfaction_counts_the_cases_filed_this_month_as_the_ledger_does() {
    let w = world().await;
    let old = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    assert_eq!(mv(w.staff(), old, "acknowledged", "已安排电工").await, 200);
    assert_eq!(mv(w.staff(), old, "resolved", "已换灯泡").await, 200);
    // Filed last month, rated this month.
    sqlx::query("UPDATE cases SET created_at = created_at - $1 WHERE id = $2").bind(40 * 24 * HOUR).bind(old).execute(&w.app.state.db.pool).await.unwrap();
    let res = w.resident().post_form(&format!("/cases/{old}/rate"), &[("solved", "1"), ("satisfaction", "satisfied")]).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let figure = |page: String| page.split("data-testid=\"console-figures\"").nth(1).unwrap().split("本月满意率").next().unwrap().rsplit("<span class=\"icon\">").next().unwrap().to_string();
    assert_eq!(figure(w.staff().page("/console?c=renjia").await), "—</span>", "nothing filed this month is rated");
    // A case filed this month and rated unsatisfied: the month's rate is 0%, not the old case's 100%.
    let new = file(w.resident(), json!({"text": "南苑小区垃圾桶满了没人清", "building_id": w.buildings[2]})).await;
    assert_eq!(mv(w.staff(), new, "acknowledged", "已通知保洁").await, 200);
    assert_eq!(mv(w.staff(), new, "resolved", "已清运").await, 200);
    w.resident().post_form(&format!("/cases/{new}/rate"), &[("solved", "0"), ("satisfaction", "unsatisfied")]).await;
    assert_eq!(figure(w.staff().page("/console?c=renjia").await), "0%</span>");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn a_step_to_the_same_state_adds_a_note_and_messages_carry_the_note() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    assert_eq!(mv(w.staff(), id, "acknowledged", "已安排电工明天上门").await, 200);
    w.app.run_jobs().await;
    let acknowledged: Vec<String> = w.sms().sent().iter().map(|t| t.text.clone()).filter(|t| t.contains(&format!("#{id}"))).collect();
    assert!(acknowledged.iter().any(|t| t.contains("已响应") && t.contains("已安排电工明天上门")), "{acknowledged:?}");
    assert_eq!(mv(w.staff(), id, "in_progress", "电工已到现场").await, 200);
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let steps = page.split("id=\"step\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(!steps.contains("<summary>处理中</summary>") && !steps.contains("保存：处理中"), "no step to where it is");
    assert!(steps.contains("<summary>添加说明</summary>") && steps.contains("保存：添加说明"), "{steps}");
    w.app.run_jobs().await;
    let sms_before = w.sms().sent().len();
    let inbox_before = w.resident().json("/api/v1/me/notifications").await.to_string();
    let res = step(w.staff(), id, "in_progress", "灯具型号缺货，\n周五前换好", &[]).await;
    assert_eq!(res.status(), 303, "{}", location(&res));
    // Twice, as an impatient click would: two notes, still one 处理中.
    assert_eq!(step(w.staff(), id, "in_progress", "已订货", &[]).await.status(), 303);
    w.app.run_jobs().await;
    let case = w.staff().json(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["state"], "in_progress");
    let kinds: Vec<(String, Option<String>)> = case["events"].as_array().unwrap().iter().map(|e| (e["kind"].as_str().unwrap().to_string(), e["state"].as_str().map(str::to_string))).collect();
    assert_eq!(kinds.iter().filter(|k| k.1.as_deref() == Some("in_progress")).count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| k.0 == "noted").count(), 2, "{kinds:?}");
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let timeline = page.split("id=\"progress\"").nth(1).unwrap();
    assert!(timeline.contains("补充说明") && timeline.contains("周五前换好"), "{timeline}");
    let mine = w.resident().page(&format!("/cases/{id}")).await;
    assert!(mine.contains("补充说明") && mine.contains("已订货"), "the resident reads the note");
    assert_eq!(w.sms().sent().len(), sms_before, "no text for a note");
    let inbox = w.resident().json("/api/v1/me/notifications").await.to_string();
    assert!(inbox.contains("已订货") && inbox.contains("周五前换好"), "{inbox}");
    assert!(inbox.matches("状态更新为：处理中").count() == inbox_before.matches("状态更新为：处理中").count(), "no second 处理中: {inbox}");
    // A note needs words.
    let res = step(w.staff(), id, "in_progress", "   ", &[]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("此项必填"));
}

#[tokio::test]
async fn the_staff_case_page_says_asides_in_full_width_brackets_once_each() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    // A report filed by the resident for themself, entered by no one else.
    sqlx::query("UPDATE cases SET triage_reasons = $1 WHERE id = $2")
        .bind(r#"[{"phrase":"水管"},{"phrase":"管漏"},{"phrase":"卫生间"},{"phrase":"水管"},{"phrase":"漏水"},{"phrase":"水管漏水"}]"#)
        .bind(id)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let facts = page.split("class=\"facts\"").nth(1).unwrap().split("</dl>").next().unwrap();
    assert!(facts.contains("（卫生间、水管漏水）"), "{facts}");
    assert!(!facts.contains(" (") && !facts.contains("管漏、"), "{facts}");
    assert!(facts.contains("（居民线上）"), "{facts}");
    assert!(!facts.contains("· 代") && !facts.contains("· 登记人"), "nobody shown twice: {facts}");
}

/// The step forms' one-time key on the staff case page.
fn step_key(page: &str) -> String {
    page.split("name=\"key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

/// Sends one step form `n` times at once; every answer's status.
async fn burst(client: &Client, id: i64, to: &str, note: &str, key: Option<&str>, n: usize) -> Vec<u16> {
    let token = client.csrf().await;
    let mut running = Vec::new();
    for i in 0..n {
        let (client, token, to, note) = (client.clone(), token.clone(), to.to_string(), note.to_string());
        // Without a shared key, each send is a fresh page's form.
        let key = key.map(str::to_string).unwrap_or_else(|| format!("fresh-{i}"));
        running.push(tokio::spawn(async move {
            step_with_token(&client, id, &token, &to, &note, &[("key", &key)]).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for r in running {
        statuses.push(r.await.unwrap());
    }
    statuses
}

/// The kinds and states of a case's events.
async fn events(client: &Client, id: i64) -> Vec<(String, Option<String>, String)> {
    let case = client.json(&format!("/api/v1/cases/{id}")).await;
    case["events"].as_array().unwrap().iter().map(|e| (e["kind"].as_str().unwrap().to_string(), e["state"].as_str().map(str::to_string), e["note"].as_str().unwrap_or("").to_string())).collect()
}

#[tokio::test]
async fn a_step_sent_again_at_once_is_recorded_once_and_told_once() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    assert_eq!(mv(w.staff(), id, "acknowledged", "已电话联系居民，明天上门").await, 200);
    let key = step_key(&w.staff().page(&format!("/console/cases/{id}")).await);
    // Twenty sends of one form (double clicks, Back and send, retries): one step, each answered as the first.
    let statuses = burst(w.staff(), id, "in_progress", "处理中", Some(&key), 20).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let ev = events(w.staff(), id).await;
    assert_eq!(ev.iter().filter(|e| e.1.as_deref() == Some("in_progress")).count(), 1, "{ev:?}");
    assert_eq!(ev.iter().filter(|e| e.0 == "noted").count(), 0, "no note from a repeated move: {ev:?}");
    // The same words from twenty fresh forms at once: the same submission.
    let statuses = burst(w.staff(), id, "in_progress", "已联系物业，等配件", None, 20).await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    // And the same words as the move's own note.
    assert_eq!(step(w.staff(), id, "in_progress", "处理中", &[("key", "another")]).await.status(), 303);
    let ev = events(w.staff(), id).await;
    let noted: Vec<_> = ev.iter().filter(|e| e.0 == "noted").collect();
    assert_eq!(noted.len(), 1, "{ev:?}");
    assert_eq!(noted[0].2, "已联系物业，等配件");
    w.app.run_jobs().await;
    let inbox = w.resident().json("/api/v1/me/notifications").await.to_string();
    assert_eq!(inbox.matches("已联系物业，等配件").count(), 1, "one message for the resident: {inbox}");
    assert_eq!(inbox.matches("状态更新为：处理中").count(), 1, "{inbox}");
    // A different note, or the same words later on, is a new note.
    assert_eq!(step(w.staff(), id, "in_progress", "配件已到", &[("key", "k2")]).await.status(), 303);
    w.app.clock.advance(6 * MINUTE);
    assert_eq!(step(w.staff(), id, "in_progress", "已联系物业，等配件", &[("key", "k3")]).await.status(), 303);
    assert_eq!(events(w.staff(), id).await.iter().filter(|e| e.0 == "noted").count(), 3);
    // The first move's form, sent again after the case has moved on, is answered as before.
    let res = step(w.staff(), id, "in_progress", "处理中", &[("key", &key)]).await;
    assert_eq!(res.status(), 303, "{}", location(&res));
    assert_eq!(events(w.staff(), id).await.iter().filter(|e| e.0 == "noted").count(), 3);
}

#[tokio::test]
async fn a_refused_step_names_the_states_in_words_and_an_acknowledged_case_takes_a_note() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let res = step(w.staff(), id, "resolved", "修好了", &[]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("这个问题现在是“待响应”，不能改为“已办结，待核查”"), "{page}");
    let body = w.staff().post_json(&format!("/api/v1/cases/{id}/moves"), &json!({"to": "verified", "note": ""})).await.text().await.unwrap();
    assert!(body.contains("这个问题现在是“待响应”，不能改为“已核查”"), "{body}");
    assert!(!body.contains("（new）") && !body.contains("“verified”"), "{body}");
    // In English, the same words from the catalogue.
    let en = kernel::FieldError::new("to", "case_move_not_allowed").word("from", "case_state.new").word("to", "case_state.verified").message(kernel::i18n::Locale::En);
    assert_eq!(en, "This case is now “awaiting a response” and cannot move to “checked on site”; reload the page to see the steps it can take");
    assert_eq!(mv(w.staff(), id, "acknowledged", "已电话联系居民").await, 200);
    // On an acknowledged case, a note without a change of state, as on a case in progress.
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let steps = page.split("id=\"step\"").nth(1).unwrap().split("</section>").next().unwrap();
    assert!(steps.contains("<summary>添加说明</summary>"), "{steps}");
    let note_form = steps.split("id=\"step-acknowledged\"").nth(1).unwrap().split("</details>").next().unwrap();
    assert!(!note_form.contains("必填"), "a note needs no first-response hint: {note_form}");
    assert_eq!(step(w.staff(), id, "acknowledged", "师傅明早九点到", &[]).await.status(), 303);
    let ev = events(w.staff(), id).await;
    assert_eq!(ev.last().unwrap().0, "noted", "{ev:?}");
    assert_eq!(w.staff().json(&format!("/api/v1/cases/{id}")).await["state"], "acknowledged");
    for page in [page.as_str(), &w.staff().page(&format!("/console/cases/{id}")).await] {
        assert!(!page.contains("（acknowledged）") && !page.contains("“acknowledged”"));
    }
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn an_english_text_names_the_state_in_words() {
    let w = world().await;
    sqlx::query("UPDATE users SET locale = 'en' WHERE phone = '13800000006'").execute(&w.app.state.db.pool).await.unwrap();
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    assert_eq!(mv(w.staff(), id, "acknowledged", "We called you; an electrician comes tomorrow").await, 200);
    w.app.run_jobs().await;
    let texts: Vec<String> = w.sms().sent().iter().map(|t| t.text.clone()).filter(|t| t.contains(&format!("#{id}"))).collect();
    assert!(texts.iter().any(|t| t.contains("is now: responded to")), "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains("acknowledged")), "no state code: {texts:?}");
}

#[tokio::test]
async fn the_staff_case_page_says_how_to_reach_the_reporter() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    let reach = page.split("data-testid=\"reach\"").nth(1).unwrap().split("</dd>").next().unwrap();
    assert!(reach.contains("138****0006") && !page.contains("13800000006"), "masked until asked: {reach}");
    assert!(reach.contains("显示号码并拨打"), "{reach}");
    let res = w.staff().post_form(&format!("/console/cases/{id}/call"), &[]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("href=\"tel:13800000006\""), "tap to call");
    let timeline = page.split("id=\"progress\"").nth(1).unwrap();
    assert!(timeline.contains("查看了反映人的电话"), "asking for the number is recorded: {timeline}");
    let mine = w.resident().page(&format!("/cases/{id}")).await;
    assert!(!mine.contains("查看了反映人的电话"), "staff-only entry");
    // Another grid's worker cannot ask.
    let other = w.app.login("13800000004").await;
    assert_eq!(other.post_form(&format!("/console/cases/{id}/call"), &[]).await.status(), 404);
    // An anonymous report says so.
    let anon = file(w.resident(), json!({"text": "楼下有人乱扔垃圾", "anonymous": true, "building_id": w.buildings[1]})).await;
    let page = w.staff().page(&format!("/console/cases/{anon}")).await;
    assert!(page.contains("匿名反映，无法联系反映人"), "{page}");
    assert!(!page.contains("138****0006"));
}

#[tokio::test]
async fn a_handover_to_who_has_it_and_a_merge_into_itself_are_refused_on_the_case_page() {
    let w = world().await;
    let id = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let page = w.staff().page(&format!("/console/cases/{id}")).await;
    // Every form of the page posts to the page itself, so an error keeps its address.
    assert!(!page.contains(&format!("/console/cases/{id}/moves")) && !page.contains(&format!("/console/cases/{id}/act")), "{page}");
    assert!(page.contains(&format!("action=\"/console/cases/{id}?do=step&amp;")) && page.contains(&format!("action=\"/console/cases/{id}?do=act&amp;")));
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE phone = '13800000001'").fetch_one(&w.app.state.db.pool).await.unwrap();
    let act = format!("/console/cases/{id}?do=act&_keep=action,note,user_id&_back=%2Fconsole%2Fcases%2F{id}");
    let uid = staff_id.to_string();
    let assigned = || async { events(w.staff(), id).await.iter().filter(|e| e.0 == "assigned").count() };
    let before = assigned().await;
    let res = w.staff().post_form(&act, &[("action", "assign"), ("user_id", &uid), ("note", "交给周晓梅")]).await;
    assert_eq!(res.status(), 303, "{}", location(&res));
    let res = w.staff().post_form(&act, &[("action", "assign"), ("user_id", &uid), ("note", "再交一次")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("这个问题已由周晓梅负责"), "{page}");
    assert!(page.contains("再交一次"), "the words are kept");
    assert_eq!(assigned().await, before + 1, "one handover, no no-op one");
    assert_eq!(mv(w.staff(), id, "acknowledged", "已电话联系居民").await, 200);
    let res = w.staff().http.post(format!("{}/console/cases/{id}?do=step&_keep=to,note,parent_id,key&_back=%2Fconsole%2Fcases%2F{id}", w.staff().base()))
        .multipart(reqwest::multipart::Form::new().text("_csrf", w.staff().csrf().await).text("to", "duplicate").text("note", "重复").text("parent_id", id.to_string()))
        .send().await.unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("不能合并到这个问题自己"), "{page}");
    assert!(!page.contains("不存在或已结束"));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn the_overview_counts_what_the_queue_lists_and_a_grid_workers_own_grid() {
    let w = world().await;
    let fresh = file(w.resident(), json!({"text": "3栋楼道的声控灯坏了", "building_id": w.buildings[1]})).await;
    let checked = file(w.resident(), json!({"text": "3栋门口的井盖松了", "building_id": w.buildings[1]})).await;
    let working = file(w.resident(), json!({"text": "3栋的垃圾桶坏了", "building_id": w.buildings[1]})).await;
    let elsewhere = file(w.resident(), json!({"text": "南苑小区垃圾桶满了没人清", "building_id": w.buildings[2]})).await;
    for (to, note) in [("acknowledged", "已联系"), ("resolved", "已修好"), ("verified", "已到现场核查")] {
        assert_eq!(mv(w.staff(), checked, to, note).await, 200);
    }
    assert_eq!(mv(w.staff(), working, "acknowledged", "已联系").await, 200);
    let figure = |page: &str, label: &str| -> i64 {
        let figures = page.split("data-testid=\"console-figures\"").nth(1).unwrap();
        figures.split(&format!("</span>{label}")).next().unwrap().rsplit('>').next().unwrap().parse().unwrap()
    };
    let page = w.staff().page("/console?c=renjia").await;
    let queue = listed(&w.staff().page("/console/cases?c=renjia").await);
    assert_eq!(figure(&page, "待办案件"), queue.len() as i64, "{queue:?}");
    assert!(queue.contains(&checked), "a checked case still waits on staff to close it");
    // 今天到期 leads to the queue narrowed to those cases: the two new ones (first response in 2 h).
    assert!(page.contains("href=\"/console/cases?c=renjia&#38;due=today\""), "{page}");
    let mut due = listed(&w.staff().page("/console/cases?c=renjia&due=today").await);
    due.sort();
    assert_eq!(due, [fresh, elsewhere]);
    assert_eq!(figure(&page, "今天到期"), 2);
    assert!(w.staff().page("/console/cases?c=renjia&due=today").await.contains("name=\"due\" value=\"today\" checked"));
    assert_eq!(w.staff().get("/console/cases?c=renjia&due=tomorrow").await.status(), 422);
    // The grid worker's figures, registry ones included, are his grid's.
    let own = w.own.page("/console?c=renjia").await;
    assert_eq!(figure(&own, "待办案件"), 3);
    let buildings = own.split("</span>楼栋").next().unwrap().rsplit('>').next().unwrap().to_string();
    assert_eq!(buildings, "1", "his grid's buildings, not the community's 3");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
}

#[tokio::test]
async fn case_settings_are_read_only_to_a_grid_worker_and_say_the_hours_in_words() {
    let w = world().await;
    let own = w.own.page("/console/cases/settings?c=renjia").await;
    assert!(own.contains("data-testid=\"read-only\""), "{own}");
    assert!(!own.contains("action=\"/console/cases/settings\"") && !own.contains(">保存</button>"), "no form he cannot use");
    let admin = w.admin().page("/console/cases/settings?c=renjia").await;
    assert!(admin.contains("action=\"/console/cases/settings\""));
    assert!(!admin.contains("可通过接口调整"), "no pointer to the API");
    assert!(admin.contains("工作时间：周一至周五 8:30–12:00、14:00–17:30"), "{admin}");
    let roster = admin.split("data-testid=\"roster\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(roster.contains("网格员小刘") && roster.contains("周晓梅") && roster.contains("陈主任"), "everyone who can be on duty: {roster}");
    assert!(admin.contains("可排班的人"));
}
