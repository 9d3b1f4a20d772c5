//! Families: a family member asks to be bound to an elder, she consents (online, or in person
//! to staff), and from then on the family member sees her reports and their progress, reports
//! for her and hears about her cases. Nothing before consent, nothing of anyone else, and the
//! request form tells nobody who is registered.

use kernel::auth::Role;
use serde_json::{json, Value};
use testkit::Client;

const BASE: &str = "/api/v1/communities/renjia";

/// Staff (周晓梅), two elders registered in 翠微新村 3栋 with logins, and a son with a login only.
struct World {
    base: testkit::World,
    /// 李秀英, 76, with a login.
    elder: Client,
    elder_resident: i64,
    /// 张伟, her son.
    son: Client,
    son_id: i64,
    /// 陈静, another elder, and her case.
    other_case: i64,
}

testkit::extends_world!(World);

async fn file(client: &Client, body: Value) -> i64 {
    let res = client.post_json(&format!("{BASE}/cases"), &body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().unwrap()
}

async fn world() -> World {
    let base = testkit::World::build()
        .staff("13900000001", "周晓梅")
        .resident("13900000006", "李秀英")
        .resident("13900000009", "陈静")
        // The son lives elsewhere: a login, no role in the community yet.
        .user("13900000007", "张伟", &[])
        .start()
        .await;
    let home = |name: &str, phone: &str, room: &str| json!({"name": name, "phone": phone, "building": "翠微新村 3栋", "unit": "1单元", "room": room});
    let elder_resident = base.register(home("李秀英", "13900000006", "202")).await;
    base.register(home("陈静", "13900000009", "203")).await;
    let other_case = file(base.client("13900000009"), json!({"text": "家里水管漏水，请物业来看看"})).await;
    World {
        elder: base.client("13900000006").clone(),
        elder_resident,
        son: base.client("13900000007").clone(),
        son_id: base.user_id("13900000007"),
        other_case,
        base,
    }
}

/// Asks for a binding on the family page's form; returns where it goes and the page there.
async fn ask(client: &Client, elder: &str, relation: &str) -> (String, String) {
    let res = client.post_form("/me/family/request", &[("elder", elder), ("relation", relation)]).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let page = client.page(&to).await;
    let main = page[page.find("<main").unwrap()..page.find("</main>").unwrap()].to_string();
    (to, main)
}

/// The family page without the requester's own list of requests.
fn without_requests(page: &str) -> String {
    match (page.find("<h2 id=\"my-requests\">"), page.find("</ul>\n<p class=\"hint\">")) {
        (Some(a), Some(b)) if b > a => format!("{}{}", &page[..a], &page[b..]),
        _ => page.to_string(),
    }
}

#[tokio::test]
async fn a_request_grants_nothing_and_answers_alike_for_anyone() {
    let w = world().await;
    let (to_known, known) = ask(&w.son, "13900000006", "child").await;
    let (to_unknown, unknown) = ask(&w.son, "13911112222", "child").await;
    let unknown_id = kernel::crypto::IdCardNumber::with_check_digit("11010119560312042");
    let (to_id, by_id) = ask(&w.son, unknown_id.as_str(), "child").await;
    assert_eq!(to_known, to_unknown);
    assert_eq!(to_known, to_id);
    // Apart from his own list, which grows by one each time, the page is the same.
    let (known, unknown, by_id) = (without_requests(&known), without_requests(&unknown), without_requests(&by_id));
    assert_eq!(known, unknown, "the answer is the same whether or not the elder is registered");
    assert_eq!(known, by_id);
    assert!(known.contains("申请已提交"));

    // Unconfirmed: the son sees nothing of her and may not report for her.
    assert!(!known.contains("李秀英"));
    let res = w.son.post_json(&format!("{BASE}/cases"), &json!({"text": "我妈家的灯坏了", "resident_id": w.elder_resident})).await;
    assert_eq!(res.status(), 422, "no binding, no reporting for her");
    let elder_case = file(&w.elder, json!({"text": "楼道灯坏了，晚上看不见"})).await;
    assert_eq!(w.son.get(&format!("/family/cases/{elder_case}")).await.status(), 404);

    // She sees the request on her page; a malformed number is explained, not an oracle.
    let mine = w.elder.page("/me").await;
    assert!(mine.contains("张伟") && mine.contains("申请绑定为您的家属"), "the elder sees who asks");
    let inbox = w.elder.json("/api/v1/me/notifications").await;
    let asked: Vec<&Value> = inbox["items"].as_array().unwrap().iter().filter(|m| m["link"] == "/me#family").collect();
    assert_eq!(asked.len(), 1, "she is told once, in her inbox: {inbox}");
    assert!(asked[0]["title"].as_str().unwrap().contains("张伟"));
    let res = w.son.post_form("/me/family/request", &[("elder", "李秀英"), ("relation", "child")]).await;
    let page = w.son.page(res.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains("请填写 11 位手机号或 18 位身份证号"), "a malformed number says why");
    w.app.stop().await;
}

#[tokio::test]
async fn requests_are_rate_limited() {
    let w = world().await;
    for i in 0..10 {
        ask(&w.son, &format!("139111100{i:02}"), "child").await;
    }
    let (_, page) = ask(&w.son, "13900000006", "child").await;
    assert!(page.contains("分钟后再试"), "the eleventh request in a day is refused with the wait: {page}");
    let mine = w.elder.page("/me").await;
    assert!(!mine.contains("张伟"), "a refused request reaches nobody");
    w.app.stop().await;
}

#[tokio::test]
async fn once_she_consents_her_son_sees_her_cases_reports_for_her_and_hears_about_them() {
    let w = world().await;
    let own = file(&w.elder, json!({"text": "楼道灯坏了，晚上看不见"})).await;
    ask(&w.son, "13900000006", "child").await;
    // She agrees on her own page.
    let res = w.elder.post_form(&format!("/me/family/{}/{}/confirm", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 303);
    let mine = w.elder.page("/me").await;
    assert!(mine.contains("本人在线确认"), "how she consented is shown");
    // The console records it: who, when, how.
    let record = w.staff().page(&format!("/console/residents/{}?c=renjia", w.elder_resident)).await;
    assert!(record.contains("家属绑定已确认") && record.contains("本人在线确认") && record.contains("张伟"));

    // Her reports and their progress, and no one else's.
    let family = w.son.page("/family").await;
    assert!(family.contains("李秀英") && family.contains("楼道灯坏了"));
    assert!(!family.contains("水管漏水"), "another elder's case is not shown");
    assert_eq!(w.son.get(&format!("/family/cases/{}", w.other_case)).await.status(), 404);
    let res = w.staff().post_json(&format!("/api/v1/cases/{own}/moves"), &json!({"to": "acknowledged", "note": "已联系物业，明天上午换灯"})).await;
    assert_eq!(res.status(), 200);
    let case = w.son.page(&format!("/family/cases/{own}")).await;
    assert!(case.contains("已联系物业，明天上午换灯"), "the progress she would see");

    // He hears about her case as she does.
    let inbox = w.son.json("/api/v1/me/notifications").await;
    let links: Vec<&str> = inbox["items"].as_array().unwrap().iter().filter_map(|m| m["link"].as_str()).collect();
    assert!(links.contains(&format!("/family/cases/{own}").as_str()), "{inbox}");

    // He reports for her: the case is hers, he is its author, and he follows it.
    let for_her = file(&w.son, json!({"text": "我妈家的门锁坏了，关不上", "resident_id": w.elder_resident})).await;
    let row: (Option<i64>, Option<i64>) = sqlx::query_as("SELECT resident_id, author_user_id FROM cases WHERE id = $1").bind(for_her).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(row, (Some(w.elder_resident), Some(w.son_id)));
    assert!(w.son.page("/family").await.contains("门锁坏了"));
    // Not for another elder.
    let chen: i64 = sqlx::query_scalar("SELECT id FROM residents WHERE name = '陈静'").fetch_one(&w.app.state.db.pool).await.unwrap();
    let res = w.son.post_json(&format!("{BASE}/cases"), &json!({"text": "陈阿姨家漏水", "resident_id": chen})).await;
    assert_eq!(res.status(), 422);

    // She ends it: he sees nothing and hears nothing more.
    let res = w.elder.post_form(&format!("/me/family/{}/{}/end", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(!w.son.page("/family").await.contains("楼道灯坏了"));
    assert_eq!(w.son.get(&format!("/family/cases/{own}")).await.status(), 404);
    let before = w.son.json("/api/v1/me/notifications").await["items"].as_array().unwrap().len();
    w.staff().post_json(&format!("/api/v1/cases/{own}/moves"), &json!({"to": "resolved", "note": "灯已换好"})).await;
    assert_eq!(w.son.json("/api/v1/me/notifications").await["items"].as_array().unwrap().len(), before);
    let record = w.staff().page(&format!("/console/residents/{}?c=renjia", w.elder_resident)).await;
    assert!(record.contains("家属绑定已解除"));
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
    w.app.stop().await;
}

#[tokio::test]
async fn staff_confirm_a_binding_she_agreed_to_in_person() {
    let w = world().await;
    ask(&w.son, "13900000006", "child").await;
    let page = w.staff().page(&format!("/console/residents/{}?c=renjia", w.elder_resident)).await;
    assert!(page.contains("等待确认") && page.contains("张伟"));
    // A grid worker whose grids do not hold her building can neither confirm nor end it.
    let c = w.community_id;
    w.app.user("13900000002", "刘建军", c, &[Role::GridWorker]).await;
    let worker = w.app.login("13900000002").await;
    for step in ["confirm", "end"] {
        let res = worker.post_form(&format!("/console/residents/{}/family/{}/{step}?c=renjia", w.elder_resident, w.son_id), &[]).await;
        assert_eq!(res.status(), 404, "{step} out of the worker's grids");
    }
    let res = w.staff().post_form(&format!("/console/residents/{}/family/{}/confirm?c=renjia", w.elder_resident, w.son_id), &[]).await;
    assert_eq!(res.status(), 303);
    let page = w.staff().page(&format!("/console/residents/{}?c=renjia", w.elder_resident)).await;
    assert!(page.contains("本人到社区当面同意") && page.contains("周晓梅"), "who confirmed and how");
    assert!(w.son.page("/family").await.contains("李秀英"));
    // Both see the binding in their personal data, in words.
    for (client, other) in [(&w.son, "李秀英"), (&w.elder, "张伟")] {
        let data = client.page("/me/data").await;
        assert!(data.contains("家属绑定") && data.contains(other) && data.contains("本人到社区当面同意") && data.contains("已绑定"), "{data}");
    }
    // The son now holds the family role: the navigation offers the family page.
    assert!(w.son.page("/").await.contains("href=\"/family\""));
    // A resident may not confirm for someone else.
    let other = w.app.login("13900000009").await;
    let res = other.post_form(&format!("/me/family/{}/{}/confirm", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 404);
    // He ends it himself.
    let res = w.son.post_form(&format!("/me/family/{}/{}/end", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(!w.son.page("/family").await.contains("李秀英"));
    w.app.stop().await;
}

#[tokio::test]
async fn whatever_is_typed_into_the_request_is_answered_in_words() {
    let w = world().await;
    let long = "一".repeat(40);
    for (elder, relation) in [("", ""), ("😀👨‍👩‍👧", "儿子"), ("13900000006", "\u{0007}儿子"), ("139０００００００6", "女儿（长女）"), (long.as_str(), long.as_str()), ("e\u{301}", "a\u{301}\u{302}")] {
        let res = w.son.post_form("/me/family/request", &[("elder", elder), ("relation", relation)]).await;
        assert_eq!(res.status(), 303, "{elder:?} {relation:?}");
        let page = w.son.page(res.headers()["location"].to_str().unwrap()).await;
        assert!(!page.contains("error."), "no raw code on the page");
    }
    w.app.stop().await;
}

#[tokio::test]
async fn a_report_her_son_files_for_her_is_hers_to_follow_and_rate() {
    let w = world().await;
    ask(&w.son, "13900000006", "child").await;
    let res = w.elder.post_form(&format!("/me/family/{}/{}/confirm", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 303);
    // The form for her says whom it is for.
    let res = w.son.get(&format!("/cases/new?for={}", w.elder_resident)).await;
    assert_eq!(res.status(), 303);
    let form = w.son.page(res.headers()["location"].to_str().unwrap()).await;
    assert!(form.contains("<h1>替李秀英反映问题</h1>"), "{form}");
    // He files for her: it is hers in 我的反映, and she can open it.
    let for_her = file(&w.son, json!({"text": "我妈家的门锁坏了，关不上", "resident_id": w.elder_resident})).await;
    let mine = w.elder.page("/me/cases").await;
    assert_eq!(mine.matches(&format!("/cases/{for_her}\"")).count(), 1, "listed once in her reports: {mine}");
    assert!(w.elder.page(&format!("/cases/{for_her}")).await.contains("门锁坏了"));
    assert!(w.son.page("/family").await.contains("门锁坏了"), "he still sees it as her family");
    // News reach her; the rating invitation is hers; he hears as her family.
    for (to, note) in [("acknowledged", "已联系，明天上门"), ("resolved", "门锁已更换")] {
        let res = w.staff().post_json(&format!("/api/v1/cases/{for_her}/moves"), &json!({"to": to, "note": note})).await;
        assert_eq!(res.status(), 200);
    }
    let inbox = w.elder.json("/api/v1/me/notifications").await;
    let links: Vec<&str> = inbox["items"].as_array().unwrap().iter().filter_map(|m| m["link"].as_str()).collect();
    assert!(links.contains(&format!("/cases/{for_her}").as_str()) && links.iter().any(|l| l.starts_with("/r/")), "{inbox}");
    let inbox = w.son.json("/api/v1/me/notifications").await;
    let links: Vec<&str> = inbox["items"].as_array().unwrap().iter().filter_map(|m| m["link"].as_str()).collect();
    assert!(links.contains(&format!("/family/cases/{for_her}").as_str()), "{inbox}");
    assert!(!links.iter().any(|l| l.starts_with("/r/")), "the rating is hers: {inbox}");
    // She rates it on its page.
    let page = w.elder.page(&format!("/cases/{for_her}")).await;
    assert!(page.contains(&format!("action=\"/cases/{for_her}/rate\"")));
    let res = w.elder.post_form(&format!("/cases/{for_her}/rate"), &[("solved", "1"), ("satisfaction", "satisfied"), ("comment", "谢谢师傅")]).await;
    assert_eq!(res.status(), 303);
    assert!(w.elder.page(&format!("/cases/{for_her}")).await.contains("满意：谢谢师傅"));
    // Another resident still cannot open it.
    let other = w.app.login("13900000009").await;
    assert_eq!(other.get(&format!("/cases/{for_her}")).await.status(), 404);
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
    w.app.stop().await;
}

/// The elder's binding-request messages (inbox items linking to her 我的 page).
async fn request_messages(elder: &Client) -> Vec<Value> {
    let inbox = elder.json("/api/v1/me/notifications").await;
    inbox["items"].as_array().unwrap().iter().filter(|m| m["link"] == "/me#family").cloned().collect()
}

#[tokio::test]
async fn asking_again_while_a_request_waits_changes_nothing_and_tells_her_once() {
    let w = world().await;
    let mut posts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let son = w.son.clone();
        posts.spawn(async move { son.post_form("/me/family/request", &[("elder", "13900000006"), ("relation", "child")]).await.status() });
    }
    while let Some(status) = posts.join_next().await {
        assert_eq!(status.unwrap(), 303);
    }
    assert_eq!(request_messages(&w.elder).await.len(), 1, "twenty posts, one message");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM family_requests WHERE status = 'pending'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(pending, 1, "one pending request per person and number");
    let asked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'family_requested'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(asked, 1, "one entry in her record");
    // The same number again, spaced differently, an hour later: still one message and one request.
    w.app.clock.advance(3_600_000);
    ask(&w.son, "139 0000 0006", "spouse").await;
    assert_eq!(request_messages(&w.elder).await.len(), 1);
    let family = w.son.page("/family").await;
    assert_eq!(family.matches("data-state=\"pending\"").count(), 1, "{family}");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
    w.app.stop().await;
}

#[tokio::test]
async fn a_business_account_cannot_ask_to_be_family() {
    let w = world().await;
    let c = w.community_id;
    w.app.user("13900000005", "马师傅家政", c, &[Role::Merchant]).await;
    let merchant = w.app.login("13900000005").await;
    let page = merchant.page("/family").await;
    assert!(page.contains("商户账号不能申请绑定家人"), "the page says why: {page}");
    assert!(!page.contains("action=\"/me/family/request\""), "no form to fill in");
    let res = merchant.post_form("/me/family/request", &[("elder", "13900000006"), ("relation", "other_relative")]).await;
    assert_eq!(res.status(), 403);
    assert!(request_messages(&w.elder).await.is_empty(), "she hears nothing");
    assert!(!w.elder.page("/me").await.contains("马师傅家政"));
    w.app.stop().await;
}

#[tokio::test]
async fn the_relation_is_chosen_from_a_list_and_older_words_stay_readable() {
    let w = world().await;
    let form = w.son.page("/family").await;
    for words in ["子女", "配偶", "孙子女", "兄弟姐妹", "其他亲属"] {
        assert!(form.contains(&format!(">{words}</option>")), "{words} is offered");
    }
    assert!(form.contains("<select id=\"relation\" name=\"relation\" required>"));
    // Neighbours and friends are not family: a value not on the list is refused in words.
    let res = w.son.post_form("/me/family/request", &[("elder", "13900000006"), ("relation", "邻居")]).await;
    let page = w.son.page(res.headers()["location"].to_str().unwrap()).await;
    assert!(page.contains("请从列表中选择"), "{page}");
    assert!(request_messages(&w.elder).await.is_empty());
    // Chosen from the list, she reads it in words, in her inbox and on her page.
    ask(&w.son, "13900000006", "child").await;
    let mine = w.elder.page("/me").await;
    assert!(mine.contains("张伟</strong> · 子女"), "{mine}");
    assert!(request_messages(&w.elder).await[0]["body"].as_str().unwrap().contains("（您的子女）"));
    // An older binding typed as free text reads as it was typed.
    sqlx::query("UPDATE family_links SET relation = '大儿子'").execute(&w.app.state.db.pool).await.unwrap();
    assert!(w.elder.page("/me").await.contains("张伟</strong> · 大儿子"));
    w.app.stop().await;
}

#[tokio::test]
async fn the_requester_follows_his_requests_without_learning_who_is_registered() {
    let w = world().await;
    ask(&w.son, "13900000006", "child").await;
    ask(&w.son, "13911112222", "child").await;
    let family = w.son.page("/family").await;
    let list = &family[family.find("data-testid=\"my-requests\"").expect("his requests are listed")..];
    // Masked numbers, relation, date and state; the registered and the unknown number alike.
    assert!(list.contains("139****0006") && list.contains("139****2222"), "{list}");
    assert_eq!(list.matches("等待确认").count(), 2);
    assert_eq!(list.matches(">撤回</button>").count(), 2);
    assert!(list.contains("子女"));

    // He takes back the request to his mother: twice is the same as once.
    let id: i64 = sqlx::query_scalar("SELECT id FROM family_requests WHERE target_masked = '139****0006'").fetch_one(&w.app.state.db.pool).await.unwrap();
    for _ in 0..2 {
        let res = w.son.post_form(&format!("/me/family/requests/{id}/withdraw"), &[]).await;
        assert_eq!(res.status(), 303);
    }
    assert!(w.son.page("/family").await.contains("已撤回"));
    assert!(!w.elder.page("/me").await.contains("张伟"), "she is no longer asked");
    let msg = &request_messages(&w.elder).await[0];
    let page = w.elder.page(&format!("/me/notifications/{}", msg["id"])).await;
    assert!(page.contains("对方已撤回申请") && !page.contains("去确认"), "the message shows what came of it: {page}");
    // Nobody else can take back his request.
    let other = w.app.login("13900000009").await;
    let other_id: i64 = sqlx::query_scalar("SELECT id FROM family_requests WHERE target_masked = '139****2222'").fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(other.post_form(&format!("/me/family/requests/{other_id}/withdraw"), &[]).await.status(), 404);

    // Asked again, she declines: he sees 已拒绝, she sees 已拒绝, her message no longer asks.
    ask(&w.son, "13900000006", "child").await;
    let res = w.elder.post_form(&format!("/me/family/{}/{}/end", w.son_id, w.elder_resident), &[]).await;
    assert_eq!(res.status(), 303);
    let after = w.elder.page(res.headers()["location"].to_str().unwrap()).await;
    assert!(after.contains("已拒绝这份绑定申请") && !after.contains("绑定已解除"), "{after}");
    let inbox = w.elder.page("/me/notifications").await;
    assert!(!inbox.contains("去确认"), "no answered request offers an answer: {inbox}");
    assert!(inbox.contains("已拒绝"));
    let family = w.son.page("/family").await;
    assert!(family.contains("已拒绝") && family.contains("已撤回"));

    // A third time she agrees: 已确认.
    ask(&w.son, "13900000006", "child").await;
    w.elder.post_form(&format!("/me/family/{}/{}/confirm", w.son_id, w.elder_resident), &[]).await;
    assert!(w.son.page("/family").await.contains("已确认"));

    // Thirty days on, the unknown number's request has lapsed, as any unanswered one would.
    w.app.clock.advance(31 * 24 * 3_600_000);
    let son = w.app.login("13900000007").await;
    let family = son.page("/family").await;
    assert!(family.contains("已过期") && !family.contains("等待确认"), "{family}");
    // Run the jobs the test started, so that they are checked too.
    w.app.run_jobs().await;
    w.app.stop().await;
}

#[tokio::test]
async fn an_id_number_ending_in_x_can_be_typed_in_lower_case() {
    let w = world().await;
    let form = w.son.page("/family").await;
    assert!(form.contains("name=\"elder\"") && form.contains("inputmode=\"text\""), "an ID's X can be typed");
    // An ID number that ends in X.
    let id = (0..1000).map(|n| kernel::crypto::IdCardNumber::with_check_digit(&format!("32010219560312{n:03}"))).find(|i| i.as_str().ends_with('X')).unwrap();
    let body = json!({"name": "黄金海", "id_number": id.as_str(), "relation": "户主", "building": "翠微新村 3栋", "unit": "1单元", "room": "301"});
    let res = w.staff().post_json(&format!("{BASE}/residents"), &body).await;
    assert_eq!(res.status(), 201);
    let huang = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    ask(&w.son, &id.as_str().to_lowercase(), "child").await;
    let asked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM family_links WHERE resident_id = $1 AND status = 'requested'").bind(huang).fetch_one(&w.app.state.db.pool).await.unwrap();
    assert_eq!(asked, 1, "the lower-case x is read as X");
    w.app.stop().await;
}

#[tokio::test]
async fn she_is_told_the_same_about_consent_wherever_she_is_asked_and_her_data_agrees() {
    let w = world().await;
    let consent = "同意后，对方可以看到您反映的问题和处理进度，可以替您反映问题，并会收到您所反映问题的消息。";
    ask(&w.son, "13900000006", "child").await;
    assert!(request_messages(&w.elder).await[0]["body"].as_str().unwrap().contains(consent), "the message says it all");
    assert!(w.elder.page("/me").await.contains(consent), "her page says the same");
    assert!(w.staff().page(&format!("/console/residents/{}?c=renjia", w.elder_resident)).await.contains(consent), "staff tell her the same");
    w.elder.post_form(&format!("/me/family/{}/{}/confirm", w.son_id, w.elder_resident), &[]).await;
    let data = w.elder.json("/api/v1/me/data").await;
    assert_eq!(data["registry"]["family"][0]["consent"], "online");
    assert!(w.elder.page("/me/data").await.contains("本人在线确认"));
    // A binding from before consent was kept says so in the download as on the pages.
    sqlx::query("UPDATE family_links SET confirmed_how = 'recorded'").execute(&w.app.state.db.pool).await.unwrap();
    let data = w.elder.json("/api/v1/me/data").await;
    assert_eq!(data["registry"]["family"][0]["consent"], "not_recorded");
    assert!(w.elder.page("/me/data").await.contains("早期登记，未记录同意方式"));
    assert!(w.elder.page("/me").await.contains("早期登记，未记录同意方式"));
    w.app.stop().await;
}
