//! Operations: health and metrics, request ids and security headers, limits and error shapes,
//! static assets, and — against the real `linli` binary — crash durability, online backup and
//! graceful shutdown.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{Client, TestApp};

fn assert_error_shape(body: &Value, code: &str) {
    let e = &body["error"];
    assert_eq!(e["code"], code, "{body}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty() && !m.starts_with("error.")), "translated message: {body}");
    assert!(e["fields"].is_array(), "{body}");
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::start().await;
    let c = app.client();
    let res = c.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    assert_eq!(c.get("/readyz").await.status(), 200);

    // Queue one SMS so the pending gauge has something to count.
    let mut tx = app.state.db.begin_write().await.unwrap();
    kernel::jobs::enqueue(&mut tx, "test.waiting", &json!({}), app.state.now(), app.state.now()).await.unwrap();
    tx.commit().await.unwrap();
    c.get("/no-such-page").await;

    let res = c.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    assert!(text.contains("# TYPE linli_http_requests_total counter"), "{text}");
    assert!(text.contains("linli_http_requests_total{class=\"client_error\"} 1"), "the 404 is counted: {text}");
    assert!(text.contains("# TYPE linli_jobs_pending gauge\nlinli_jobs_pending 1\n"), "{text}");
    assert!(text.contains("linli_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok() && line.starts_with("linli_"), "bad sample line {line:?}");
    }
    // Jobs are left behind: a job waits on purpose, for the readiness figures.
    app.allow_leftover_jobs();
}

#[tokio::test]
async fn readiness_fails_without_the_database_while_liveness_holds() {
    let app = TestApp::start().await;
    let c = app.client();
    assert_eq!(c.get("/readyz").await.status(), 200);
    app.state.db.pool.close().await;
    assert_eq!(c.get("/readyz").await.status(), 503, "not ready without a database");
    let res = c.get("/healthz").await;
    assert_eq!(res.status(), 200, "but alive: a restart would not help");
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn every_response_has_a_request_id_and_pages_have_security_headers() {
    let app = TestApp::start().await;
    let c = app.client();
    let mut ids = Vec::new();
    for path in ["/healthz", "/login", "/api/v1/me", "/api/v1/nope", "/no-such-page", "/static/app.css", "/me", "/api/openapi.json"] {
        let res = c.get(path).await;
        let id = res.headers().get("x-request-id").unwrap_or_else(|| panic!("{path} has no x-request-id")).to_str().unwrap().to_string();
        assert!(!id.is_empty());
        ids.push(id);
    }
    let res = c.http.delete(app.url("/api/v1/me")).send().await.unwrap();
    assert!(res.headers().contains_key("x-request-id"), "405 too");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "request ids are unique");
    // A caller's own request id is kept, so logs on both sides line up.
    let res = c.http.get(app.url("/healthz")).header("x-request-id", "upstream-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "upstream-42");

    for path in ["/login", "/no-such-page"] {
        let res = c.get(path).await;
        let csp = res.headers().get("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("http:") && !csp.contains("https:"), "{csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_in_the_error_shape() {
    let app = TestApp::start_with(|c| c.body_limit = 16 * 1024).await;
    let c = app.client();
    let big = "1".repeat(20 * 1024);
    let res = c.post_json("/api/v1/auth/login", &json!({"phone": big, "password": "x"})).await;
    assert_eq!(res.status(), 413);
    assert!(res.headers().contains_key("x-request-id"));
    assert_error_shape(&res.json().await.unwrap(), "payload_too_large");
    // Just under the limit is read and judged on its content.
    let res = c.post_json("/api/v1/auth/login", &json!({"phone": "1".repeat(15 * 1024), "password": "x"})).await;
    assert_eq!(res.status(), 422);
    // A form page over the limit says the same, as a page.
    let res = c.post_form("/login", &[("phone", big.as_str()), ("password", "x")]).await;
    assert_eq!(res.status(), 413, "a form over the body limit");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_4xx_in_the_right_shape() {
    let app = TestApp::start().await;
    let c = app.client();
    for path in ["/api/v1/nope", "/api/v2/communities", "/api/v1/communities/x/y/z/w"] {
        let res = c.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        assert_error_shape(&res.json().await.unwrap(), "not_found");
    }
    let res = c.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = res.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>") && page.contains("找不到该页面或记录"), "{page}");
    assert_eq!(c.get("/static/nope.js").await.status(), 404);

    // Wrong method on an API path.
    for (method, path) in [("DELETE", "/api/v1/me"), ("PUT", "/api/v1/auth/login"), ("GET", "/api/v1/auth/logout"), ("PATCH", "/api/v1/communities")] {
        let res = c.http.request(method.parse().unwrap(), app.url(path)).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert!(res.headers().contains_key("allow"), "a 405 says which methods are allowed ({method} {path})");
        assert_error_shape(&res.json().await.unwrap(), "method_not_allowed");
    }
    // Without a JSON body the CSRF guard answers first; still a 4xx in the shape.
    let res = c.http.delete(app.url("/api/v1/me")).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_error_shape(&res.json().await.unwrap(), "csrf_failed");
}

#[tokio::test]
async fn static_assets_are_cached_typed_and_local() {
    let app = TestApp::start().await;
    let c = app.client();
    for (name, ctype) in [
        ("app.css", "text/css"),
        ("app.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
        ("manifest.webmanifest", "application/manifest+json"),
    ] {
        let res = c.get(&format!("/static/{name}?v={}", kernel::assets::version())).await;
        assert_eq!(res.status(), 200, "{name}");
        let h = res.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with(ctype), "{name}: {:?}", h["content-type"]);
        let cache = h["cache-control"].to_str().unwrap();
        assert!(cache.contains("max-age=31536000") && cache.contains("immutable"), "{name}: {cache}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(!res.bytes().await.unwrap().is_empty());
    }

    let manifest: Value = serde_json::from_str(&c.get("/static/manifest.webmanifest").await.text().await.unwrap()).expect("manifest is JSON");
    assert!(manifest["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(manifest["start_url"], "/");
    let icons = manifest["icons"].as_array().expect("icons");
    assert!(!icons.is_empty());
    for icon in icons {
        let src = icon["src"].as_str().unwrap();
        assert!(src.starts_with("/static/"), "icons are served here: {src}");
        assert_eq!(c.get(src).await.status(), 200, "{src}");
    }

    // Pages load nothing from elsewhere, and link the versioned assets.
    let page = c.page("/login").await;
    assert!(page.contains(&format!("/static/app.css?v={}", kernel::assets::version())));
    assert!(page.contains("rel=\"manifest\" href=\"/static/manifest.webmanifest\""));
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!page.contains(attr), "external asset ({attr}) in {page}");
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary.

const SECRET: &str = "ops-test-secret-key-0123456789";
const DEMO: &str = "nanjing-renjia";
const STAFF: (&str, &str) = ("13900000001", "linli2026");

fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linli-ops-{label}-{}", kernel::crypto::random_token(9)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `linli` command with a clean environment apart from the secret key.
fn linli(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linli"));
    cmd.args(args).env("LINLI_SECRET_KEY", SECRET).env("RUST_LOG", "info,sqlx=warn").env("NO_COLOR", "1");
    for var in ["LINLI_CONFIG", "LINLI_DATABASE_URL", "LINLI_DATA_DIR", "LINLI_PORT", "LINLI_HOST", "LINLI_RUN_JOBS"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs a `linli` command to completion (bounded), asserting success; returns its stdout.
async fn run_cli(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run_cli_output(args, envs, Key::Configured).await;
    assert!(out.status.success(), "linli {}: {}\n{}", args.join(" "), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where a `linli` process gets its secret key.
#[derive(Clone, Copy)]
enum Key {
    /// `LINLI_SECRET_KEY` is set to the tests' key.
    Configured,
    /// Not configured: the key is read from (or generated into) `<data>/secret.key`.
    FromDataDir,
}

/// Runs a `linli` command to completion (bounded), whatever its outcome.
async fn run_cli_output(args: &[&str], envs: &[(&str, &str)], key: Key) -> std::process::Output {
    let mut cmd = linli(args);
    if let Key::FromDataDir = key {
        cmd.env_remove("LINLI_SECRET_KEY");
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let label = args.join(" ");
    tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .unwrap_or_else(|_| panic!("linli {label} took over 30 s"))
        .unwrap()
        .unwrap()
}

/// A `linli serve` or `linli demo` process; killed on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `linli <command> --port P --data DIR` and waits until `/readyz` answers.
    async fn start(command: &str, data: &Path) -> Server {
        Self::start_with_key(command, data, Key::Configured).await
    }

    /// [`Server::start`], with the secret key from where `key` says.
    async fn start_with_key(command: &str, data: &Path, key: Key) -> Server {
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let log = data.with_extension(format!("{command}-{port}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let mut cmd = linli(&[command, "--port", &port.to_string(), "--data", data.to_str().unwrap()]);
            if let Key::FromDataDir = key {
                cmd.env_remove("LINLI_SECRET_KEY");
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("spawn linli");
            let mut server = Server { child, base: format!("http://127.0.0.1:{port}"), log };
            let probe = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if server.child.try_wait().unwrap().is_some() {
                    break; // most likely the port was taken meanwhile: try another
                }
                if probe.get(format!("{}/readyz", server.base)).send().await.is_ok_and(|r| r.status() == 200) {
                    return server;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            eprintln!("linli {command} did not become ready:\n{}", server.log_text());
        }
        panic!("linli {command} never became ready");
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for the process to exit.
    async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// SIGTERM, then a bounded wait for a clean exit.
    async fn stop(mut self) {
        signal(&self.pid(), "-TERM");
        let status = self.wait_exit(Duration::from_secs(10)).await;
        assert!(status.is_some_and(|s| s.success()), "exit after SIGTERM: {status:?}\n{}", self.log_text());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: &str, sig: &str) {
    let status = Command::new("kill").args([sig, pid]).status().expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}

/// A browser-like client logged in at `base` (the demo's password, not the test kit's).
async fn login(base: &str, (phone, password): (&str, &str)) -> Client {
    let c = Client::new(base);
    let res = c.post_json("/api/v1/auth/login", &json!({"phone": phone, "password": password})).await;
    assert_eq!(res.status(), 200, "login {phone}");
    c
}

/// Registers a resident; `Ok(Some(id))` when acknowledged, `Ok(None)` on another answer,
/// `Err` when the server did not answer.
async fn create_resident(c: &Client, base: &str, name: &str, room: &str) -> Result<Result<i64, String>, reqwest::Error> {
    let body = json!({"name": name, "building": "翠微新村 3栋", "unit": "1单元", "room": room});
    let res = c
        .http
        .post(format!("{base}/api/v1/communities/{DEMO}/residents"))
        .timeout(Duration::from_secs(10))
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let text = res.text().await?;
    if status != 201 {
        return Ok(Err(format!("{status}: {text}")));
    }
    let v: Value = serde_json::from_str(&text).expect("JSON");
    Ok(Ok(v["id"].as_i64().expect("id")))
}

/// The test runs the embedded database in a data directory.
fn sqlite_only(test: &str) -> bool {
    testkit::on_engine("sqlite", test)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_a_kill_9() {
    if !sqlite_only("acknowledged_writes_survive_a_kill_9") {
        return;
    }
    let started = Instant::now();
    let root = scratch("crash");
    let data = root.join("data");
    let mut server = Server::start("demo", &data).await;
    let staff = login(&server.base, STAFF).await;

    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let (c, base, acked, refused) = (staff.clone(), server.base.clone(), acked.clone(), refused.clone());
            tokio::spawn(async move {
                for i in 0..40 {
                    let name = format!("断电测试{t}-{i}");
                    match create_resident(&c, &base, &name, &format!("9{t}{i:02}")).await {
                        Ok(Ok(id)) => acked.lock().unwrap().push((id, name)),
                        Ok(Err(answer)) => refused.lock().unwrap().push(answer),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Pull the plug in the middle of the writes.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 40 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    signal(&server.pid(), "-KILL");
    let status = server.wait_exit(Duration::from_secs(10)).await.expect("killed");
    assert!(!status.success());
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(refused.lock().unwrap().is_empty(), "answers other than 201: {:?}", refused.lock().unwrap());
    println!("{} residents acknowledged before kill -9", acked.len());
    assert!(acked.len() >= 40 && acked.len() < 160, "the kill should land mid-way ({} acknowledged)", acked.len());

    let server = Server::start("serve", &data).await;
    let staff = login(&server.base, STAFF).await;
    for (id, name) in &acked {
        let res = staff.get(&format!("/api/v1/communities/{DEMO}/residents/{id}")).await;
        assert_eq!(res.status(), 200, "acknowledged resident {id} ({name}) lost after kill -9");
        assert_eq!(res.json::<Value>().await.unwrap()["name"], name.as_str());
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&root);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_online_backup_under_load_restores_into_a_working_server() {
    if !sqlite_only("an_online_backup_under_load_restores_into_a_working_server") {
        return;
    }
    let root = scratch("backup");
    let (data, other, file) = (root.join("data"), root.join("restored"), root.join("snapshot.db"));
    let server = Server::start("demo", &data).await;
    let staff = login(&server.base, STAFF).await;

    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (c, base, acked, stop) = (staff.clone(), server.base.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) && i < 2000 {
                let name = format!("备份测试{i}");
                match create_resident(&c, &base, &name, &format!("8{i:03}")).await.expect("server answers") {
                    Ok(id) => acked.lock().unwrap().push((id, name)),
                    Err(answer) => panic!("resident {i}: {answer}"),
                }
                i += 1;
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = acked.lock().unwrap().clone();
    assert!(before.len() >= 20, "the writer is writing");
    let out = run_cli(&["backup", file.to_str().unwrap(), "--data", data.to_str().unwrap()], &[]).await;
    assert!(out.contains("backup written"), "{out}");
    let during = acked.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    println!("{} residents acknowledged before the backup, {during} while it ran", before.len());
    server.stop().await;

    run_cli(&["restore", file.to_str().unwrap(), "--data", other.to_str().unwrap()], &[]).await;
    let restored = Server::start("serve", &other).await;
    let staff = login(&restored.base, STAFF).await;
    let mut found = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = staff.json(&format!("/api/v1/communities/{DEMO}/residents?q=备份测试&limit=200&cursor={cursor}")).await;
        found.extend(page["items"].as_array().unwrap().iter().map(|r| (r["id"].as_i64().unwrap(), r["name"].as_str().unwrap().to_string())));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    for r in &before {
        assert!(found.contains(r), "resident {r:?}, acknowledged before the backup, is missing from the restore");
    }
    // The restored copy is the whole community, not only our rows.
    let counts = staff.json(&format!("/api/v1/communities/{DEMO}")).await;
    assert!(counts["buildings"].as_i64().unwrap() >= 32 && counts["residents"].as_i64().unwrap() > found.len() as i64, "{counts}");
    restored.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn sigterm_stops_a_serving_process_cleanly() {
    // Process behaviour, the same on either database: this runs on the embedded one.
    let root = scratch("term");
    let data = root.join("data");
    let data_arg = data.to_str().unwrap();
    let out = run_cli(&["admin", "create", "--phone", "13800000009", "--name", "运维", "--data", data_arg], &[("LINLI_ADMIN_PASSWORD", "ops-password-1")]).await;
    assert!(out.contains("13800000009"), "{out}");
    let server = Server::start("serve", &data).await;
    // A logged-in client keeps its connection open: shutdown must not wait for it.
    let admin = login(&server.base, ("13800000009", "ops-password-1")).await;
    assert_eq!(admin.json("/api/v1/me").await["superadmin"], true);
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&root);
}

/// The number of sessions in a database file opened on its own (copied without its `-wal`);
/// none when even the table is still only in the log.
async fn sessions_in_file_alone(file: &Path) -> i64 {
    let dir = file.parent().unwrap().parent().unwrap().join(format!("alone-{}", kernel::crypto::random_token(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("linli.db");
    std::fs::copy(file, &copy).unwrap();
    let db = kernel::db::Db::connect(&format!("sqlite://{}", copy.display()), 1).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sessions'").fetch_one(&db.pool).await.unwrap();
    let n: i64 = if tables == 0 { 0 } else { sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&db.pool).await.unwrap() };
    db.pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_keeps_the_last_writes_in_the_copy_it_sets_aside() {
    if !sqlite_only("restore_keeps_the_last_writes_in_the_copy_it_sets_aside") {
        return;
    }
    let root = scratch("aside");
    let (data, snapshot) = (root.join("data"), root.join("snapshot.db"));
    let data_arg = data.to_str().unwrap();
    run_cli(&["admin", "create", "--phone", "13800000009", "--name", "运维", "--data", data_arg], &[("LINLI_ADMIN_PASSWORD", "ops-password-1")]).await;
    run_cli(&["backup", snapshot.to_str().unwrap(), "--data", data_arg], &[]).await;

    // Five acknowledged logins (five session rows), then the process dies without a checkpoint.
    let mut server = Server::start("serve", &data).await;
    for _ in 0..5 {
        login(&server.base, ("13800000009", "ops-password-1")).await;
    }
    signal(&server.pid(), "-KILL");
    server.wait_exit(Duration::from_secs(10)).await.expect("killed");
    assert_eq!(sessions_in_file_alone(&data.join("linli.db")).await, 0, "the last writes are in the log, not yet in the file");

    let out = run_cli(&["restore", snapshot.to_str().unwrap(), "--data", data_arg], &[]).await;
    assert!(out.contains("restored"), "{out}");
    let aside: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("linli.db.before-restore-") && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "one copy set aside: {aside:?}");
    assert_eq!(sessions_in_file_alone(&aside[0]).await, 5, "the copy set aside holds every acknowledged write on its own");
    assert_eq!(sessions_in_file_alone(&data.join("linli.db")).await, 0, "the restored database is the snapshot");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn the_server_refuses_a_secret_key_that_does_not_open_the_data() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000104", "社区工作者", c, &[kernel::auth::Role::Staff]).await;
    let staff = app.login("13800000104").await;
    let id = kernel::crypto::IdCardNumber::with_check_digit("32010219500101123");
    let body = json!({"name": "张建国", "id_number": id.as_str(), "building": "翠微新村 3栋", "unit": "2单元", "room": "301"});
    assert_eq!(staff.post_json("/api/v1/communities/renjia/residents", &body).await.status(), 201);

    let start_with_key = |secret: &str| {
        let mut config = app.state.config.clone();
        config.secret_key = secret.into();
        linli::build_state(config, Arc::new(app.clock.clone()))
    };
    let err = start_with_key("another-secret-key-0123456789").await.err().expect("another key is refused").to_string();
    assert!(err.contains("encrypted with another secret key") && err.contains("secret.key") && err.contains("LINLI_SECRET_KEY"), "{err}");

    // Data from before the key's fingerprint was kept: a stored ID number must decrypt.
    sqlx::query("DELETE FROM secret_key_check").execute(&app.state.db.pool).await.unwrap();
    assert!(start_with_key("another-secret-key-0123456789").await.is_err(), "refused on the sample too");
    let same = start_with_key(&app.state.config.secret_key.clone()).await.expect("the data's own key");
    same.db.pool.close().await;
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM secret_key_check").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(kept, 1, "the fingerprint is kept again");
    assert_eq!(staff.get("/api/v1/communities/renjia/residents").await.status(), 200);
}

#[tokio::test]
async fn a_restore_without_its_secret_key_refuses_to_start() {
    if !sqlite_only("a_restore_without_its_secret_key_refuses_to_start") {
        return;
    }
    let root = scratch("key");
    let (original, restored, snapshot) = (root.join("original"), root.join("restored"), root.join("snapshot.db"));
    let admin = [("LINLI_ADMIN_PASSWORD", "ops-password-1")];
    let out = run_cli_output(&["admin", "create", "--phone", "13800000009", "--data", original.to_str().unwrap()], &admin, Key::FromDataDir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(original.join("secret.key").exists(), "a key was generated");
    let out = run_cli_output(&["backup", snapshot.to_str().unwrap(), "--data", original.to_str().unwrap()], &[], Key::FromDataDir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    run_cli(&["restore", snapshot.to_str().unwrap(), "--data", restored.to_str().unwrap()], &[]).await;

    // Without the key, or with another one, the server says what is missing and does not start.
    for (label, key) in [("no key", Key::FromDataDir), ("another key", Key::Configured)] {
        let out = run_cli_output(&["migrate", "--data", restored.to_str().unwrap()], &[], key).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{label}: started anyway");
        assert!(stderr.contains("was encrypted with another secret key") && stderr.contains("put its secret.key back or set LINLI_SECRET_KEY"), "{label}: {stderr}");
        assert!(!restored.join("secret.key").exists(), "{label}: no new key is left behind");
    }
    // With its key back it starts, and the data is there.
    std::fs::copy(original.join("secret.key"), restored.join("secret.key")).unwrap();
    let server = Server::start_with_key("serve", &restored, Key::FromDataDir).await;
    login(&server.base, ("13800000009", "ops-password-1")).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    if !sqlite_only("data_files_are_the_owners_alone") {
        return;
    }
    let root = scratch("modes");
    let (data, snapshot, other) = (root.join("data"), root.join("snapshot.db"), root.join("other"));
    let data_arg = data.to_str().unwrap();
    let admin = [("LINLI_ADMIN_PASSWORD", "ops-password-1")];
    let out = run_cli_output(&["admin", "create", "--phone", "13800000009", "--data", data_arg], &admin, Key::FromDataDir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = Server::start_with_key("serve", &data, Key::FromDataDir).await;
    login(&server.base, ("13800000009", "ops-password-1")).await;
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("blobs")), 0o700, "the blob directory");
    for file in ["secret.key", "linli.db", "linli.db-wal", "linli.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} while serving");
    }
    let out = run_cli_output(&["backup", snapshot.to_str().unwrap(), "--data", data_arg], &[], Key::FromDataDir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&snapshot), 0o600, "the backup");
    server.stop().await;

    run_cli(&["restore", snapshot.to_str().unwrap(), "--data", other.to_str().unwrap()], &[]).await;
    assert_eq!(mode(&other), 0o700, "a directory made by restore");
    assert_eq!(mode(&other.join("linli.db")), 0o600, "the restored database");

    // A directory an earlier version left open to everyone is closed at the next start.
    let set = |p: PathBuf, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    set(data.clone(), 0o755);
    for file in ["secret.key", "linli.db"] {
        set(data.join(file), 0o644);
    }
    let out = run_cli_output(&["migrate", "--data", data_arg], &[], Key::FromDataDir).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&data), 0o700);
    for file in ["secret.key", "linli.db"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} after a start");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_listed_and_revoked_from_the_command_line() {
    if !sqlite_only("api_keys_are_listed_and_revoked_from_the_command_line") {
        return;
    }
    let root = scratch("keys");
    let data = root.join("data");
    let data_arg = data.to_str().unwrap();
    let server = Server::start("demo", &data).await;
    let out = run_cli(&["apikey", "create", "--community", DEMO, "--name", "区级平台", "--data", data_arg], &[]).await;
    let token = out.lines().find(|l| l.starts_with("lk_")).unwrap_or_else(|| panic!("no key printed: {out}")).to_string();
    let id: i64 = out.split_whitespace().nth(2).and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("no id printed: {out}"));
    let http = reqwest::Client::new();
    let read = || http.get(format!("{}/api/v1/communities/{DEMO}", server.base)).bearer_auth(&token).send();
    assert_eq!(read().await.unwrap().status(), 200);

    let listed = run_cli(&["apikey", "list", "--data", data_arg], &[]).await;
    let line = listed.lines().find(|l| l.contains("区级平台")).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.trim_start().starts_with(&id.to_string()) && line.contains(DEMO) && line.contains("staff") && line.ends_with(" -"), "{line}");
    assert!(!listed.contains(&token), "the list never shows a token");

    let out = run_cli(&["apikey", "revoke", &id.to_string(), "--data", data_arg], &[]).await;
    assert!(out.contains("revoked"), "{out}");
    // The serving process was not told: it refuses the key from its very next request.
    assert_eq!(read().await.unwrap().status(), 401);
    let listed = run_cli(&["apikey", "list", "--data", data_arg], &[]).await;
    let line = listed.lines().find(|l| l.contains("区级平台")).unwrap();
    assert!(!line.ends_with(" -"), "the list shows when it was revoked: {line}");
    let out = run_cli_output(&["apikey", "revoke", "99999", "--data", data_arg], &[], Key::Configured).await;
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no API key 99999"));

    // The registry's own subcommand: an export with full ID numbers is the owner's alone and
    // never overwrites a file.
    let full = root.join("full.csv");
    let full_arg = full.to_str().unwrap();
    run_cli(&["export", "residents", full_arg, "--community", DEMO, "--full-id-numbers", "--data", data_arg], &[]).await;
    #[cfg(unix)]
    assert_eq!(mode(&full), 0o600, "an export holds names, phones and ID numbers");
    let out = run_cli_output(&["export", "residents", full_arg, "--community", DEMO, "--data", data_arg], &[], Key::Configured).await;
    assert!(!out.status.success(), "an existing file is kept");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}
