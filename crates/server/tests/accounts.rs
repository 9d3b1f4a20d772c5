//! Logging in: password, SMS code through the outbox, throttling and lockout, sessions.

use kernel::auth::Role;
use kernel::clock::MINUTE;
use testkit::{FakeSmsGateway, TestApp, PASSWORD};

async fn app_with_sms() -> (TestApp, FakeSmsGateway) {
    let gw = FakeSmsGateway::start().await;
    let url = gw.url.clone();
    let app = TestApp::start_with(|c| c.sms_gateway_url = url).await;
    (app, gw)
}

#[tokio::test]
async fn password_login_sets_a_session_cookie_that_is_httponly() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    let res = client.post_json("/api/v1/auth/login", &serde_json::json!({"phone": "138 0000 0001", "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("linli_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let me = client.json("/api/v1/me").await;
    assert_eq!(me["display_name"], "王芳");
    assert_eq!(me["phone"], "138****0001", "phone is masked in the API");
    assert_eq!(me["memberships"][0]["role"], "resident");

    // Logging out ends the session on the server, not just in the browser.
    let token = client.cookie("linli_session").unwrap();
    assert_eq!(client.post_json("/api/v1/auth/logout", &serde_json::json!({})).await.status(), 204);
    let stolen = app.client();
    let res = stolen.http.get(app.url("/api/v1/me")).header("cookie", format!("linli_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn wrong_password_and_unknown_phone_fail_alike() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    let wrong = client.post_json("/api/v1/auth/login", &serde_json::json!({"phone": "13800000001", "password": "nope-nope"})).await;
    let unknown = client.post_json("/api/v1/auth/login", &serde_json::json!({"phone": "13800000009", "password": "nope-nope"})).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(unknown.status(), 422);
    let a: serde_json::Value = wrong.json().await.unwrap();
    let b: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["error"]["fields"][0]["code"], "login_failed");
}

#[tokio::test]
async fn five_failures_lock_the_number_for_fifteen_minutes() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    let bad = serde_json::json!({"phone": "13800000001", "password": "wrong-password"});
    for _ in 0..4 {
        assert_eq!(client.post_json("/api/v1/auth/login", &bad).await.status(), 422);
    }
    let locked = client.post_json("/api/v1/auth/login", &bad).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));
    // Even the right password is refused while locked.
    let good = serde_json::json!({"phone": "13800000001", "password": PASSWORD});
    assert_eq!(client.post_json("/api/v1/auth/login", &good).await.status(), 429);
    app.clock.advance(16 * MINUTE);
    assert_eq!(client.post_json("/api/v1/auth/login", &good).await.status(), 200);
}

#[tokio::test]
async fn sms_code_login_goes_through_the_outbox_and_works_once() {
    let (app, gw) = app_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    assert_eq!(client.post_json("/api/v1/auth/sms-code", &serde_json::json!({"phone": "13800000001"})).await.status(), 202);
    // Nothing leaves before the job runs: the message waits in the outbox.
    assert!(gw.sent().is_empty());
    assert_eq!(app.run_jobs().await, 1);
    let sent = gw.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "13800000001");
    assert!(sent[0].text.starts_with("【邻里】"), "{}", sent[0].text);
    let code: String = sent[0].text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    let login = serde_json::json!({"phone": "13800000001", "code": code});
    assert_eq!(client.post_json("/api/v1/auth/sms-login", &login).await.status(), 200);
    assert_eq!(client.json("/api/v1/me").await["display_name"], "王芳");
    // The same code does not work twice.
    assert_eq!(app.client().post_json("/api/v1/auth/sms-login", &login).await.status(), 422);
}

#[tokio::test]
async fn sms_codes_expire_after_five_minutes_and_are_rate_limited() {
    let (app, gw) = app_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    let ask = serde_json::json!({"phone": "13800000001"});
    assert_eq!(client.post_json("/api/v1/auth/sms-code", &ask).await.status(), 202);
    // A second code within a minute is refused.
    assert_eq!(client.post_json("/api/v1/auth/sms-code", &ask).await.status(), 429);
    app.run_jobs().await;
    let code: String = gw.sent()[0].text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    app.clock.advance(5 * MINUTE + 1);
    let res = client.post_json("/api/v1/auth/sms-login", &serde_json::json!({"phone": "13800000001", "code": code})).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn unknown_numbers_get_the_same_answer_but_no_text() {
    let (app, gw) = app_with_sms().await;
    let client = app.client();
    assert_eq!(client.post_json("/api/v1/auth/sms-code", &serde_json::json!({"phone": "13800000077"})).await.status(), 202);
    app.run_jobs().await;
    assert!(gw.sent().is_empty());
}

#[tokio::test]
async fn login_page_works_without_javascript_and_keeps_next() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let browser = app.client();
    // A protected page sends the visitor to the login form, remembering where they were going.
    let res = browser.get("/me").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=%2Fme");
    let page = browser.page("/login?next=%2Fme").await;
    assert!(page.contains("name=\"_csrf\""));
    let res = browser.post_form("/login", &[("phone", "13800000001"), ("password", "wrong-password"), ("next", "/me")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("手机号或密码不正确"));
    let res = browser.post_form("/login", &[("phone", "13800000001"), ("password", PASSWORD), ("next", "/me")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/me");
    // An off-site next is ignored.
    let other = app.client();
    let res = other.post_form("/login", &[("phone", "13800000001"), ("password", PASSWORD), ("next", "//evil.example/")]).await;
    assert_eq!(res.headers()["location"], "/");
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let browser = app.client();
    browser.csrf().await;
    let res = browser
        .http
        .post(app.url("/login"))
        .form(&[("phone", "13800000001"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("页面已过期"));
    // A cross-site form post to the API (not JSON) is refused too.
    let res = browser.http.post(app.url("/api/v1/auth/login")).form(&[("phone", "13800000001")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn language_and_elder_mode_follow_the_user() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.login("13800000001").await;
    let home = client.page("/").await;
    assert!(home.contains("lang=\"zh-CN\"") && !home.contains("class=\"elder"));
    assert_eq!(client.post_form("/prefs/elder", &[("on", "1"), ("next", "/")]).await.status(), 303);
    assert_eq!(client.post_form("/prefs/lang", &[("lang", "en"), ("next", "/")]).await.status(), 303);
    let home = client.page("/").await;
    assert!(home.contains("lang=\"en\""), "language switched");
    assert!(home.contains("<body class=\"elder"), "elder mode on");
    assert!(home.contains("Hello"));
    // Stored on the account: a new session on another device keeps both.
    let again = app.login("13800000001").await;
    let me = again.json("/api/v1/me").await;
    assert_eq!(me["locale"], "en");
    assert_eq!(me["elder_mode"], true);
}

#[tokio::test]
async fn pages_speak_chinese_first_and_the_api_follows_accept_language() {
    let app = TestApp::start().await;
    let browser = app.client();
    let page = browser.http.get(app.url("/login")).header("accept-language", "en-US,en;q=0.9").send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("登录"), "pages default to zh-CN");
    // One tap in the footer switches a visitor to English.
    assert_eq!(browser.post_form("/prefs/lang", &[("lang", "en"), ("next", "/login")]).await.status(), 303);
    assert!(browser.page("/login").await.contains("lang=\"en\""));
    // API clients get errors in the language they ask for.
    let res = app.client().http.get(app.url("/api/v1/me")).header("accept-language", "en").send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Please log in first");
}
