//! Logging in: password, SMS code through the outbox, throttling and lockout, sessions.

use kernel::auth::Role;
use kernel::clock::MINUTE;
use testkit::{FakeSmsGateway, TestApp, PASSWORD};

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
    let (app, gw) = TestApp::start_with_sms().await;
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
    let (app, gw) = TestApp::start_with_sms().await;
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
    let (app, gw) = TestApp::start_with_sms().await;
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

fn password_body(phone: &str, password: &str) -> serde_json::Value {
    serde_json::json!({"phone": phone, "password": password})
}

/// Tries a password login as if from `source` (the app trusts `X-Forwarded-For`); the status.
async fn login_from(app: &TestApp, source: &str, phone: &str, password: &str) -> u16 {
    let res = app.client().http.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", source).json(&password_body(phone, password)).send().await.unwrap();
    res.status().as_u16()
}

/// Asks for a login code, delivers it and logs in with it; the status of the login.
async fn sms_login(app: &TestApp, gw: &FakeSmsGateway, phone: &str) -> u16 {
    let client = app.client();
    assert_eq!(client.post_json("/api/v1/auth/sms-code", &serde_json::json!({"phone": phone})).await.status(), 202);
    app.run_jobs().await;
    let text = gw.sent().last().expect("a code was texted").text.clone();
    let code: String = text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    client.post_json("/api/v1/auth/sms-login", &serde_json::json!({"phone": phone, "code": code})).await.status().as_u16()
}

async fn throttle_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM login_throttle").fetch_one(&app.state.db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_attempts_check_at_most_five_passwords() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.client();
    let before = app.state.metrics.password_checks.get();
    // Forty at once, the right password 36th: the count used to be read before any was recorded.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, password) = (client.clone(), if i == 35 { PASSWORD } else { "wrong-password" });
        tasks.push(tokio::spawn(async move {
            client.post_json("/api/v1/auth/login", &password_body("13800000001", password)).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = app.state.metrics.password_checks.get() - before;
    assert!(statuses.iter().all(|s| [200, 422, 429].contains(s)), "{statuses:?}");
    if statuses[35] == 200 {
        // It took one of the first five checks, and a right password gives the budget back;
        // the wrong ones around it are still held to five before and five after.
        assert!(checked <= 10, "{checked} passwords checked: {statuses:?}");
    } else {
        assert_eq!(statuses[35], 429, "the right password after the budget was spent is refused unchecked");
        assert_eq!(checked, 5, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 4, "the fifth wrong one says the number is now locked: {statuses:?}");
        // The lock holds, for the right password too, until the window is over.
        assert_eq!(client.post_json("/api/v1/auth/login", &password_body("13800000001", PASSWORD)).await.status(), 429);
        assert_eq!(app.state.metrics.password_checks.get() - before, 5);
        app.clock.advance(15 * MINUTE);
        assert_eq!(client.post_json("/api/v1/auth/login", &password_body("13800000001", PASSWORD)).await.status(), 200);
    }
}

#[tokio::test]
async fn every_failed_login_costs_one_password_check() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    // A resident registered by staff has no password until they set one (SMS login only).
    let phone = kernel::crypto::PhoneNumber::parse("13800000002").unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let new = accounts::service::NewUser { phone: &phone, display_name: "李明", password: None, superadmin: false };
    accounts::service::create_user(&mut tx, app.state.now(), &new).await.unwrap();
    tx.commit().await.unwrap();

    let client = app.client();
    let mut answers = Vec::new();
    for (phone, password, status) in [
        ("13800000009", "nope-nope", 422),     // nobody has this number
        ("13800000002", "nope-nope", 422),     // no password on the account
        ("13800000001", "nope-nope", 422),     // the wrong password
        ("13800000001", PASSWORD, 200),        // the right one
    ] {
        let before = app.state.metrics.password_checks.get();
        let res = client.post_json("/api/v1/auth/login", &password_body(phone, password)).await;
        assert_eq!(res.status(), status, "{phone}");
        // The same argon2 work on every path, so the time taken does not say who is registered.
        assert_eq!(app.state.metrics.password_checks.get() - before, 1, "{phone} with {password}");
        answers.push(res.text().await.unwrap());
    }
    assert_eq!(answers[0], answers[1], "no password and no account fail alike");
    assert_eq!(answers[0], answers[2]);

    // A refused attempt checks nothing.
    for _ in 0..5 {
        client.post_json("/api/v1/auth/login", &password_body("13800000009", "nope-nope")).await;
    }
    let before = app.state.metrics.password_checks.get();
    assert_eq!(client.post_json("/api/v1/auth/login", &password_body("13800000009", "nope-nope")).await.status(), 429);
    assert_eq!(app.state.metrics.password_checks.get(), before);
}

#[tokio::test]
async fn a_guesser_locks_only_their_own_source_and_never_the_sms_login() {
    let gw = FakeSmsGateway::start().await;
    let app = TestApp::start_with(|c| {
        gw.wire(c);
        c.client_ip_header = "x-forwarded-for".into();
    })
    .await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let phone = "13800000001";

    // Five wrong passwords from one address spend that address's tries on this number …
    for _ in 0..4 {
        assert_eq!(login_from(&app, "198.51.100.7", phone, "wrong-password").await, 422);
    }
    assert_eq!(login_from(&app, "198.51.100.7", phone, "wrong-password").await, 429);
    assert_eq!(login_from(&app, "198.51.100.7", phone, PASSWORD).await, 429);
    // … and nobody else's: the owner logs in from home, by password and by SMS code.
    assert_eq!(login_from(&app, "203.0.113.9", phone, PASSWORD).await, 200);
    assert_eq!(sms_login(&app, &gw, phone).await, 200);

    // A guesser spread over many addresses is held to the number's own budget: then the
    // password path is locked for everyone, but the SMS code still lets the owner in.
    let mut status = 0;
    for i in 0..accounts::service::CHECKS_PER_PHONE {
        status = login_from(&app, &format!("10.0.{}.{}", i / 4, i % 4), phone, "wrong-password").await;
    }
    assert_eq!(status, 429, "the last check allowed says the number is locked");
    assert_eq!(login_from(&app, "10.9.9.9", phone, "wrong-password").await, 429);
    assert_eq!(login_from(&app, "203.0.113.9", phone, PASSWORD).await, 429);
    app.clock.advance(CODE_GAP);
    assert_eq!(sms_login(&app, &gw, phone).await, 200);
    app.clock.advance(15 * MINUTE);
    assert_eq!(login_from(&app, "203.0.113.9", phone, PASSWORD).await, 200);
}

const CODE_GAP: i64 = accounts::service::CODE_GAP_MS + 1;

#[tokio::test]
async fn a_forged_forwarded_header_is_not_a_new_source() {
    // By default the header is not trusted: the connection's address is the source.
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    for i in 0..5 {
        login_from(&app, &format!("192.0.2.{i}"), "13800000001", "wrong-password").await;
    }
    assert_eq!(login_from(&app, "192.0.2.99", "13800000001", PASSWORD).await, 429);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let here = app.login("13800000001").await;
    let elsewhere = app.login("13800000001").await;
    // Both sessions work (and are now in the session cache).
    assert_eq!(elsewhere.json("/api/v1/me").await["display_name"], "王芳");
    assert_eq!(here.json("/api/v1/me").await["display_name"], "王芳");
    let old_token = here.cookie("linli_session").unwrap();

    let res = here.post_form("/me/password", &[("current_password", PASSWORD), ("new_password", "a-new-password-2")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/me/password?done=1");
    // Whoever changed it stays logged in, on a new session; the confirmation's forms work.
    assert_eq!(here.json("/api/v1/me").await["display_name"], "王芳");
    assert!(here.page("/me/password?done=1").await.contains("密码已修改"));
    assert_eq!(here.post_form("/prefs/elder", &[("on", "1"), ("next", "/")]).await.status(), 303);
    // Every other session is over at once, the old cookie of this browser included.
    assert_eq!(elsewhere.get("/api/v1/me").await.status(), 401);
    let stolen = app.client().http.get(app.url("/api/v1/me")).header("cookie", format!("linli_session={old_token}")).send().await.unwrap();
    assert_eq!(stolen.status(), 401);
    // The new password is the one that works.
    assert_eq!(app.client().post_json("/api/v1/auth/login", &password_body("13800000001", PASSWORD)).await.status(), 422);
    assert_eq!(app.client().post_json("/api/v1/auth/login", &password_body("13800000001", "a-new-password-2")).await.status(), 200);
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let client = app.login("13800000001").await;
    let before = app.state.metrics.password_checks.get();
    let wrong = [("current_password", "wrong-password"), ("new_password", "a-new-password-2")];
    for _ in 0..4 {
        let res = client.post_form("/me/password", &wrong).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("手机号或密码不正确"));
    }
    let res = client.post_form("/me/password", &wrong).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("尝试次数过多"), "the form says why");
    // Further tries, the right one too, are refused without a check until the window is over.
    let right = [("current_password", PASSWORD), ("new_password", "a-new-password-2")];
    for _ in 0..7 {
        assert_eq!(client.post_form("/me/password", &wrong).await.status(), 429);
    }
    assert_eq!(client.post_form("/me/password", &right).await.status(), 429);
    assert_eq!(app.state.metrics.password_checks.get() - before, 5);
    app.clock.advance(15 * MINUTE);
    assert_eq!(client.post_form("/me/password", &right).await.status(), 303);
}

#[tokio::test]
async fn a_flood_of_unknown_numbers_leaves_no_rows_behind() {
    let app = TestApp::start().await;
    let client = app.client();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        flood.spawn(async move { client.post_json("/api/v1/auth/login", &password_body(&format!("139{i:08}"), "nope-nope")).await.status() });
        if flood.len() >= 8 {
            assert_eq!(flood.join_next().await.unwrap().unwrap(), 422);
        }
    }
    while let Some(status) = flood.join_next().await {
        assert_eq!(status.unwrap(), 422);
    }
    // Two budgets per number (this source, all sources) while their window lasts …
    assert_eq!(throttle_rows(&app).await, 400);
    // … and none once it is over: the next attempt purges them.
    app.clock.advance(15 * MINUTE);
    assert_eq!(client.post_json("/api/v1/auth/login", &password_body("13900009999", "nope-nope")).await.status(), 422);
    assert_eq!(throttle_rows(&app).await, 2);
}

#[tokio::test]
async fn login_codes_do_not_stay_in_the_outbox() {
    let (app, gw) = TestApp::start_with_sms().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    assert_eq!(sms_login(&app, &gw, "13800000001").await, 200);
    let code: String = gw.sent()[0].text.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT params, link FROM outbox").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows.iter().all(|(params, link)| !params.contains(&code) && !link.as_deref().unwrap_or("").contains(&code)), "{rows:?}");
    assert!(rows[0].0.contains("•••"), "{rows:?}");
}
