//! Test kit: starts the real application on a random port against a fresh database (SQLite
//! by default, PostgreSQL when `LINLI_TEST_PG_URL` names an admin URL), with a fake clock,
//! cookie-keeping HTTP clients, and real local servers standing in for the SMS gateway and
//! the SMTP relay; and [`World`], a community with its people logged in, for tests that start
//! from one.

mod outside;
mod world;

pub use outside::{smtp_ca_file, FakeSmsGateway, FakeSmtp};
pub use world::{id_number, World, WorldBuilder, COMMUNITY_NAME, COMMUNITY_SLUG};

use kernel::auth::Role;
use kernel::clock::FakeClock;
use kernel::config::Config;
use kernel::crypto::PhoneNumber;
use kernel::state::AppState;
use reqwest::cookie::CookieStore;
use std::path::PathBuf;
use std::sync::Arc;

/// 2026-06-01 09:00 in Asia/Shanghai, where every test's clock starts.
pub const T0: i64 = 1_780_275_600_000;

/// The password of users made by [`TestApp::user`].
pub const PASSWORD: &str = "test-password-1";

/// A running application.
pub struct TestApp {
    /// Shared state (database, clock, config).
    pub state: AppState,
    /// The fake clock; move it instead of sleeping.
    pub clock: FakeClock,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    running: std::sync::Mutex<Option<linli::serve::Running>>,
    dir: PathBuf,
    leftover_jobs_allowed: std::sync::atomic::AtomicBool,
}

/// A fresh directory under the system's temporary one.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linli-test-{}", kernel::crypto::random_token(9)));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The value of an environment variable a test needs to cover something (an S3-compatible
/// server, say). Without it the test covers less and says so; under `CI=true`, where nothing
/// may be skipped, it fails instead.
pub fn required_env(var: &str, covers: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{var} is not set, so {covers} would not be tested: under CI=true nothing may be skipped (scripts/test sets it)")
        }
        _ => {
            eprintln!("skipped: {covers} ({var} is not set)");
            None
        }
    }
}

/// Whether this run is on `engine` (`sqlite` or `postgres`), for a test that means something on
/// one engine only; it runs in that engine's stage of `scripts/test`, and says so in the other.
pub fn on_engine(engine: &str, test: &str) -> bool {
    let here = backend_name();
    if here != engine {
        println!("{test}: runs in the {engine} stage, not on {here}");
    }
    here == engine
}

/// The files under `dir` (searched through) whose names end in `.<ext>`, sorted: for tests that
/// read the project's own source, templates or data.
pub fn files_under(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Which database tests run on.
pub fn backend_name() -> &'static str {
    if std::env::var("LINLI_TEST_PG_URL").is_ok_and(|u| !u.is_empty()) { "postgres" } else { "sqlite" }
}

async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("LINLI_TEST_PG_URL") {
        Ok(admin) if !admin.is_empty() => {
            use sqlx::Connection;
            let name = format!("linli_t_{}", kernel::crypto::random_token(9).to_lowercase().replace(['-', '_'], "x"));
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to LINLI_TEST_PG_URL");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("linli.db").display()),
    }
}

impl TestApp {
    /// Starts the app with default test configuration.
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    /// Starts the app after `adjust` has changed the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::start_full(adjust, Vec::new()).await
    }

    /// Starts the app with its text messages going to a [`FakeSmsGateway`] started for it.
    pub async fn start_with_sms() -> (TestApp, FakeSmsGateway) {
        let gateway = FakeSmsGateway::start().await;
        let app = Self::start_with(|c| gateway.wire(c)).await;
        (app, gateway)
    }

    /// Starts the app with capabilities beyond the platform's own (an example capability that
    /// subscribes to events, say), plugged in as real ones are.
    pub async fn start_with_capabilities(extra: Vec<kernel::manifest::Manifest>) -> TestApp {
        Self::start_full(|_| {}, extra).await
    }

    /// Starts the app with capabilities beyond the platform's own, after `adjust` has changed
    /// the configuration.
    pub async fn start_full(adjust: impl FnOnce(&mut Config), extra: Vec<kernel::manifest::Manifest>) -> TestApp {
        let dir = temp_dir();
        let mut config = Config {
            port: 0,
            data_dir: dir.clone(),
            secret_key: "test-secret-key-0123456789".into(),
            // Tests run jobs themselves, after moving the clock.
            run_jobs: false,
            db_max_connections: 8,
            ..Config::default()
        };
        config.database_url = fresh_database_url(&dir).await;
        adjust(&mut config);
        let clock = FakeClock::at(T0);
        let state = linli::app::build_state_with(config, Arc::new(clock.clone()), extra).await.expect("app state");
        let running = linli::serve::start(state.clone(), "127.0.0.1", 0).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        TestApp { state, clock, base, running: std::sync::Mutex::new(Some(running)), dir, leftover_jobs_allowed: Default::default() }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new client with its own cookies (a different browser).
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Lets the test end with jobs dead or due and not run (a test of retries or of dead
    /// letters, or one that stops before the work it started is delivered).
    pub fn allow_leftover_jobs(&self) {
        self.leftover_jobs_allowed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs every background job that is due at the fake clock's now.
    pub async fn run_jobs(&self) -> usize {
        kernel::jobs::run_due(&self.state).await.expect("jobs run")
    }

    /// Creates a community and returns its id.
    pub async fn community(&self, slug: &str, name: &str) -> i64 {
        let mut tx = self.state.db.begin_write().await.unwrap();
        let id: i64 = sqlx::query_scalar("INSERT INTO communities (slug, name, city, created_at) VALUES ($1, $2, '南京', $3) RETURNING id")
            .bind(slug)
            .bind(name)
            .bind(self.state.now())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Creates a user with [`PASSWORD`] and the given roles in `community_id`.
    pub async fn user(&self, phone: &str, name: &str, community_id: i64, roles: &[Role]) -> i64 {
        let phone = PhoneNumber::parse(phone).expect("test phone");
        let now = self.state.now();
        let mut tx = self.state.db.begin_write().await.unwrap();
        let new = accounts::service::NewUser { phone: &phone, display_name: name, password: Some(PASSWORD), superadmin: false };
        let id = accounts::service::create_user(&mut tx, now, &new).await.unwrap();
        for r in roles {
            accounts::service::grant(&mut tx, now, id, kernel::community::CommunityId::new(community_id), *r).await.unwrap();
        }
        tx.commit().await.unwrap();
        id.get()
    }

    /// A client logged in as `phone` (password [`PASSWORD`]).
    pub async fn login(&self, phone: &str) -> Client {
        let c = self.client();
        let res = c.post_json("/api/v1/auth/login", &serde_json::json!({"phone": phone, "password": PASSWORD})).await;
        assert_eq!(res.status(), 200, "login as {phone}: {}", res.text().await.unwrap_or_default());
        c
    }

    /// A second node on the same database: its own pool, job registry and metrics, sharing
    /// only the database and the fake clock (as two `linli` processes would share PostgreSQL).
    pub async fn second_node(&self) -> AppState {
        linli::build_state(self.state.config.clone(), Arc::new(self.clock.clone())).await.expect("second node state")
    }

    /// Stops the server (drains requests and the worker) and closes the database pool; the data
    /// directory goes when the app is dropped. Takes `&self` so that an app held in a shared
    /// [`World`] can be stopped too.
    pub async fn stop(&self) {
        let running = self.running.lock().expect("running server").take();
        if let Some(r) = running {
            r.stop().await;
        }
        self.state.db.pool.close().await;
    }
}

impl Drop for TestApp {
    /// Fails the test when it leaves a job dead, or due and not run (a message never sent, a
    /// clock never checked), unless it said so with [`TestApp::allow_leftover_jobs`]; then
    /// removes the data directory.
    fn drop(&mut self) {
        let allowed = self.leftover_jobs_allowed.load(std::sync::atomic::Ordering::Relaxed);
        let left = if allowed || std::thread::panicking() { Ok(Vec::new()) } else { leftover_jobs(&self.state.config.database_url, self.state.now()) };
        let _ = std::fs::remove_dir_all(&self.dir);
        drop_database(&self.state.config.database_url);
        match left {
            Ok(left) if left.is_empty() => {}
            Ok(left) => panic!(
                "the test left jobs behind (run them with app.run_jobs(), or call app.allow_leftover_jobs() if that is the point):\n{}",
                left.join("\n")
            ),
            Err(e) => panic!("could not check the jobs left behind: {e}"),
        }
    }
}

/// Drops a test's own PostgreSQL database (made by `fresh_database_url`), as its SQLite
/// directory is removed: a suite run leaves nothing behind on a long-lived server. Best effort.
fn drop_database(database_url: &str) {
    let Ok(admin) = std::env::var("LINLI_TEST_PG_URL") else { return };
    let Some((_, name)) = database_url.rsplit_once('/') else { return };
    if admin.is_empty() || !database_url.starts_with("postgres") || !name.starts_with("linli_t_") {
        return;
    }
    let name = name.to_string();
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::Executor::execute(&mut conn, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                let _ = conn.close().await;
            }
        });
    })
    .join();
}

/// Jobs dead, or due at `now` and not run, described one per line. Read on a connection of its
/// own, on a thread of its own: the test's runtime may be finishing.
fn leftover_jobs(database_url: &str, now: i64) -> Result<Vec<String>, String> {
    let url = database_url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.map_err(|e| e.to_string())?;
            kernel::row! {
                /// A job left behind.
                struct Left {
                    kind: String,
                    state: String,
                    last_error: Option<String>,
                }
            }
            let rows: Vec<Left> = sqlx::query_as(
                "SELECT kind, state, last_error FROM jobs WHERE state = 'dead' OR (state IN ('pending', 'running') AND run_at <= $1) ORDER BY id",
            )
            .bind(now)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            let _ = conn.close().await;
            Ok(rows.into_iter().map(|r| format!("  {}: {}{}", r.kind, r.state, r.last_error.map(|e| format!(" ({e})")).unwrap_or_default())).collect())
        })
    })
    .join()
    .map_err(|_| "the check panicked".to_string())?
}

/// An HTTP client that keeps cookies and fills in the CSRF token of forms.
#[derive(Clone)]
pub struct Client {
    /// The underlying client (redirects are not followed, so tests see them).
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
}

impl Client {
    /// A client for the app at `base`.
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Client { http, jar, base: base.to_string() }
    }

    /// Sends the report form as the page does: multipart, the CSRF token a field of it (never
    /// in the address), and `photos` small JPEGs.
    pub async fn send_report_form(&self, token: &str, fields: &[(&str, &str)], photos: usize) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("_csrf", token.to_string());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for i in 0..photos {
            form = form.part("photos", reqwest::multipart::Part::bytes(jpeg(i as u8)).file_name("IMG_0001.jpg"));
        }
        self.http.post(format!("{}/cases/new", self.base)).multipart(form).send().await.expect("POST /cases/new")
    }

    /// The app's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The value of a cookie the client holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().ok()?;
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    /// GET `path` and return the body, asserting 200.
    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The CSRF token, fetching a page first if the client has none yet.
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.cookie(kernel::web::CSRF_COOKIE) {
            return t;
        }
        self.get("/login").await;
        self.cookie(kernel::web::CSRF_COOKIE).expect("csrf cookie set")
    }

    /// POST a form (CSRF token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.http.post(format!("{}{path}", self.base)).form(&all).send().await.expect("POST form")
    }

    /// POST JSON.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).json(body).send().await.expect("POST json")
    }

    /// PATCH JSON.
    pub async fn patch_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.patch(format!("{}{path}", self.base)).json(body).send().await.expect("PATCH json")
    }

    /// PUT JSON.
    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.put(format!("{}{path}", self.base)).json(body).send().await.expect("PUT json")
    }

    /// DELETE (a body-less write, so it carries the CSRF token in `X-CSRF-Token` as scripts do).
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        let token = self.csrf().await;
        self.http.delete(format!("{}{path}", self.base)).header("x-csrf-token", token).send().await.expect("DELETE")
    }

    /// GET JSON, asserting 200.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let res = self.get(path).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).expect("JSON body")
    }

    /// POST a file as multipart field `file` (CSRF token in the query string, as the page does).
    pub async fn upload(&self, path: &str, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
        let token = self.csrf().await;
        let sep = if path.contains('?') { '&' } else { '?' };
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()));
        self.http.post(format!("{}{path}{sep}_csrf={token}", self.base)).multipart(form).send().await.expect("upload")
    }
}

/// A small JPEG photo, different for each seed.
pub fn jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, 128]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Jpeg).expect("encode a JPEG");
    out
}
