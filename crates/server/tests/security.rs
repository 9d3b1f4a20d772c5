//! The web layer's defences: redirects that stay on this site, CSRF tokens the server issued
//! and bound to the session, the metrics endpoint kept to its readers, and API keys kept to
//! the API.

use kernel::auth::Role;
use testkit::{TestApp, PASSWORD};

/// `next=` values a visitor could be sent with, decoded as the server sees them.
const NASTY_NEXT: &[&str] = &[
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/%09/evil.example/x",
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "https://evil.example/x",
    "/x\r\nSet-Cookie:a=b",
    "\u{0}",
    "/\u{0}/evil.example",
    "/ledger/南京人家",
];

/// A redirect to a path on this site, never a 500.
fn assert_same_site(what: &str, res: &reqwest::Response) -> String {
    assert_eq!(res.status(), 303, "{what}");
    let location = res.headers()["location"].to_str().unwrap_or_else(|_| panic!("{what}: Location is not ASCII"));
    let bytes = location.as_bytes();
    assert!(
        bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\')) && !bytes.iter().any(|b| *b <= b' ' || *b == 0x7f || *b == b'\\'),
        "{what}: Location {location:?} is not a path on this site"
    );
    location.to_string()
}

#[tokio::test]
async fn next_never_leads_off_site_or_to_an_error() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let resident = app.login("13800000001").await;
    let visitor = app.client();
    let cjk = "/ledger/%E5%8D%97%E4%BA%AC%E4%BA%BA%E5%AE%B6";

    // The finding as reported: a tab between two slashes, encoded in the query string.
    let res = resident.get("/login?next=/%09/evil.example/x").await;
    assert_eq!(assert_same_site("GET /login?next=/%09/evil.example/x", &res), "/");

    for next in NASTY_NEXT {
        // A literal `%09` stays encoded in a path, so that one is a harmless path here.
        let expected = match *next {
            "/ledger/南京人家" => cjk,
            "/%09/evil.example/x" => next,
            _ => "/",
        };
        let res = resident.get(&format!("/login?next={}", kernel::web::url_encode(next))).await;
        assert_eq!(assert_same_site(&format!("GET /login next={next:?}"), &res), expected);
        for client in [&resident, &visitor] {
            let res = client.post_form("/prefs/lang", &[("lang", "zh-CN"), ("next", next)]).await;
            assert_eq!(assert_same_site(&format!("POST /prefs/lang next={next:?}"), &res), expected);
            let res = client.post_form("/prefs/elder", &[("on", "0"), ("next", next)]).await;
            assert_eq!(assert_same_site(&format!("POST /prefs/elder next={next:?}"), &res), expected);
        }
    }
    // Logging in with a form follows the same rule.
    let res = visitor.post_form("/login", &[("phone", "13800000001"), ("password", PASSWORD), ("next", "/\t/evil.example/x")]).await;
    assert_eq!(assert_same_site("POST /login", &res), "/");
}

/// The value of the first `_csrf` field in a page.
fn form_token(page: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// A client that keeps no cookies: each request carries exactly the cookies the test names.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn post_with(app: &TestApp, path: &str, cookies: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    bare_client().post(app.url(path)).header("cookie", cookies).form(fields).send().await.unwrap()
}

#[tokio::test]
async fn csrf_tokens_the_server_did_not_issue_for_this_browser_are_refused() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;

    // Not logged in: a cookie and a matching field planted by someone else (a neighbouring
    // site can set cookies for this one) are refused, however the value looks.
    for planted in ["planted-by-a-neighbouring-site-0123456789", "a.chosen-nonce.made-up-signature"] {
        let res = post_with(&app, "/prefs/lang", &format!("linli_csrf={planted}"), &[("_csrf", planted), ("lang", "en"), ("next", "/")]).await;
        assert_eq!(res.status(), 400, "planted anonymous pair {planted:?}");
        assert!(res.text().await.unwrap().contains("页面已过期"));
    }

    // Logged in: a token this server issued to the attacker's own browser, planted in the
    // victim's together with the matching field, is not the victim's session's token.
    let attacker = app.client();
    let attackers_token = attacker.csrf().await;
    assert_eq!(attacker.post_form("/prefs/lang", &[("lang", "zh-CN"), ("next", "/")]).await.status(), 303, "it is a real token for its own browser");
    let victim = app.login("13800000001").await;
    let session = victim.cookie(kernel::auth::SESSION_COOKIE).unwrap();
    for planted in [attackers_token.as_str(), "planted-by-a-neighbouring-site-0123456789"] {
        let cookies = format!("linli_session={session}; linli_csrf={planted}");
        let res = post_with(&app, "/prefs/elder", &cookies, &[("_csrf", planted), ("on", "1"), ("next", "/")]).await;
        assert_eq!(res.status(), 400, "planted pair {planted:?} with the victim's session");
    }
    assert_eq!(victim.json("/api/v1/me").await["elder_mode"], false, "nothing changed");

    // The token the victim's own pages carry works, cookie or no cookie: it comes from the session.
    let token = form_token(&victim.page("/").await);
    let res = post_with(&app, "/prefs/elder", &format!("linli_session={session}"), &[("_csrf", &token), ("on", "1"), ("next", "/")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(victim.json("/api/v1/me").await["elder_mode"], true);
    // Another session of the same person has another token, and neither opens the other.
    let other = app.login("13800000001").await;
    let other_token = form_token(&other.page("/").await);
    assert_ne!(other_token, token);
    let res = post_with(&app, "/prefs/elder", &format!("linli_session={session}"), &[("_csrf", &other_token), ("on", "0"), ("next", "/")]).await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_browser_logs_in_and_posts_forms_with_the_tokens_its_pages_carry() {
    let app = TestApp::start().await;
    let c = app.community("t", "测试社区").await;
    app.user("13800000001", "王芳", c, &[Role::Resident]).await;
    let browser = app.client();
    let login_token = form_token(&browser.page("/login").await);
    assert_eq!(browser.cookie(kernel::web::CSRF_COOKIE).as_deref(), Some(login_token.as_str()), "the cookie carries the page's token");
    let res = browser
        .http
        .post(app.url("/login"))
        .form(&[("_csrf", login_token.as_str()), ("phone", "13800000001"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Logged in, pages carry the session's token, and the cookie follows at once.
    let token = form_token(&browser.page("/").await);
    assert_ne!(token, login_token);
    assert_eq!(browser.cookie(kernel::web::CSRF_COOKIE).as_deref(), Some(token.as_str()));
    let post = |t: &str| browser.http.post(app.url("/prefs/elder")).form(&[("_csrf", t), ("on", "1"), ("next", "/")]).send();
    assert_eq!(post(&login_token).await.unwrap().status(), 400, "a form from before the login is stale");
    assert_eq!(post(&token).await.unwrap().status(), 303);
    // Logging out hands the browser a fresh anonymous token; the session's stops working.
    assert_eq!(browser.http.post(app.url("/logout")).form(&[("_csrf", token.as_str())]).send().await.unwrap().status(), 303);
    let after = browser.cookie(kernel::web::CSRF_COOKIE).unwrap();
    assert!(after != token && after.starts_with("a."), "{after}");
    assert_eq!(browser.post_form("/prefs/lang", &[("lang", "en"), ("next", "/")]).await.status(), 303);
    // A page posted from another site's form is refused whatever it carries.
    let res = browser.http.post(app.url("/prefs/lang")).header("sec-fetch-site", "cross-site").form(&[("_csrf", after.as_str()), ("lang", "en")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

async fn metrics_from(app: &TestApp, peer: [u8; 4], token: Option<&str>) -> u16 {
    use axum::extract::ConnectInfo;
    let mut req = axum::http::Request::get("/metrics").extension(ConnectInfo(std::net::SocketAddr::from((peer, 40_000))));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let router = linli::router(app.state.clone());
    tower::ServiceExt::oneshot(router, req.body(axum::body::Body::empty()).unwrap()).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn metrics_answer_this_machine_or_the_holder_of_the_token() {
    // No token configured: loopback only, as a local Prometheus or scripts/bench reads it.
    let app = TestApp::start().await;
    let c = app.client();
    let res = c.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("linli_http_requests_total"));
    assert_eq!(metrics_from(&app, [127, 0, 0, 1], None).await, 200);
    assert_eq!(metrics_from(&app, [203, 0, 113, 9], None).await, 404, "another machine");
    assert_eq!(metrics_from(&app, [10, 0, 0, 7], None).await, 404, "the local network too");
    // A proxy on this machine makes every visitor look local; what it forwards is not.
    let res = c.http.get(app.url("/metrics")).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("linli_"));

    // A token configured: whoever sends it, from anywhere; nobody without it, loopback included.
    let token = "scrape-token-0123456789abcdef";
    let app = TestApp::start_with(|c| c.metrics_token = token.into()).await;
    let c = app.client();
    let res = c.get("/metrics").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(c.http.get(app.url("/metrics")).bearer_auth("scrape-token-wrong").send().await.unwrap().status(), 401);
    let res = c.http.get(app.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("linli_http_requests_total"));
    assert_eq!(metrics_from(&app, [203, 0, 113, 9], Some(token)).await, 200);
    assert_eq!(metrics_from(&app, [203, 0, 113, 9], None).await, 401);
}

#[tokio::test]
async fn api_keys_open_the_api_and_nothing_else() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let (_, key) = kernel::auth::create_api_key(&app.state, "区级平台", kernel::community::CommunityId::new(c), Role::Staff, None).await.unwrap();
    let http = bare_client();
    let with_key = |method: reqwest::Method, path: &str| http.request(method, app.url(path)).bearer_auth(&key);
    assert_eq!(with_key(reqwest::Method::GET, "/api/v1/communities/renjia").send().await.unwrap().status(), 200);
    // A page does not take a key for a login: the visitor is asked to log in.
    for page in ["/console", "/console/residents?c=renjia", "/me"] {
        let res = with_key(reqwest::Method::GET, page).send().await.unwrap();
        assert_eq!(res.status(), 303, "{page}");
        assert!(res.headers()["location"].to_str().unwrap().starts_with("/login?next="), "{page}");
    }
    // Nor does a key excuse a page form from its CSRF token.
    let res = with_key(reqwest::Method::POST, "/prefs/lang").form(&[("lang", "en"), ("next", "/")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    // Other credentials a proxy may add do not get in a page's way.
    let res = http.get(app.url("/login")).header("authorization", "Basic b3BzOm9wcw==").send().await.unwrap();
    assert_eq!(res.status(), 200);
}
