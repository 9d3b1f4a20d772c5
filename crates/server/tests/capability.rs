//! A capability plugs in through its manifest alone (docs/architecture.md, "Writing a new
//! capability"): its routes are mounted, its words merged with everyone's, its console page
//! listed for those who may open it, its home-page link shown to its role, its settings read
//! from its own section and `LINLI_<NAME>_*` variables, and its service started and stopped
//! with the server. The example here is plugged in as a real one is.

use axum::extract::State;
use axum::routing::get;
use kernel::auth::{Permission, Role};
use kernel::config::{Config, Section};
use kernel::manifest::{Door, Manifest, Service, Shutdown};
use kernel::state::AppState;
use kernel::web::{NavEntry, PageCtx};
use kernel::AppResult;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use testkit::TestApp;

const GREET: Permission = Permission { name: "example.greet", roles: &[Role::Staff, Role::Admin] };

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    greeting: String,
    times: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { greeting: "hello".into(), times: 1 }
    }
}

impl Section for Settings {
    const NAME: &'static str = "example";
}

const CATALOGUE: &str = r#"
"example.title" = { zh = "示例", en = "Example" }
"example.door" = { zh = "示例入口", en = "Example door" }
"#;

async fn page(State(state): State<AppState>, ctx: PageCtx) -> String {
    let s = state.settings::<Settings>();
    format!("{} {}", ctx.tr.t("example.title"), s.greeting.repeat(s.times as usize))
}

/// How many times the service started, and how many times it stopped when asked.
static STARTED: AtomicUsize = AtomicUsize::new(0);
static STOPPED: AtomicUsize = AtomicUsize::new(0);

fn service(_state: AppState, mut shutdown: Shutdown) -> kernel::events::BoxFuture<'static, AppResult<()>> {
    Box::pin(async move {
        STARTED.fetch_add(1, Ordering::SeqCst);
        shutdown.requested().await;
        STOPPED.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
}

fn example() -> Manifest {
    Manifest {
        web: || axum::Router::new().route("/console/example", get(page)),
        permissions: &[GREET],
        catalogue: CATALOGUE,
        nav: &[NavEntry { href: "/console/example", label: "example.title", permission: &GREET, rank: 40 }],
        doors: &[Door { role: "staff", href: "/console/example", label: "example.door", permission: Some(&GREET), rank: 40 }],
        settings: Some(kernel::config::loader::<Settings>),
        services: &[Service { name: "example.ticker", run: service }],
        ..Manifest::named("example")
    }
}

#[tokio::test]
async fn a_capability_brings_its_pages_words_navigation_settings_and_service() {
    let app = TestApp::start_full(
        |c| {
            let file = Config::from_toml("[example]\ngreeting = \"你好\"\n").unwrap();
            c.sections = file.sections;
            c.environment.insert("LINLI_EXAMPLE_TIMES".into(), "2".into());
        },
        vec![example()],
    )
    .await;
    for _ in 0..200 {
        if STARTED.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(STARTED.load(Ordering::SeqCst), 1, "the service runs with the server");
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "周晓梅", c, &[Role::Staff]).await;
    app.user("13800000006", "李秀英", c, &[Role::Resident]).await;

    let staff = app.login("13800000001").await;
    let res = staff.get("/console/example").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "示例 你好你好", "its words, its file section and its variable");
    let console = staff.get("/console/cases").await.text().await.unwrap();
    assert!(console.contains("href=\"/console/example\""), "its page is in the console navigation");
    let home = staff.get("/").await.text().await.unwrap();
    assert!(home.contains("示例入口"), "its link is on the staff part of the home page");
    let cases = console.find("href=\"/console/cases\"").unwrap();
    let residents = console.find("href=\"/console/residents\"").unwrap();
    let example = console.find("href=\"/console/example\"").unwrap();
    assert!(cases < residents && residents < example, "the navigation goes by rank");

    let resident = app.login("13800000006").await;
    assert!(!resident.get("/").await.text().await.unwrap().contains("示例入口"), "not shown to whom it is not for");
    app.stop().await;
    assert_eq!(STOPPED.load(Ordering::SeqCst), 1, "the service is told to stop and awaited");
}

async fn composed(adjust: impl FnOnce(&mut Config)) -> Result<(), String> {
    let dir = testkit::temp_dir();
    let mut config = Config { data_dir: dir.clone(), secret_key: "test-secret-key-0123456789".into(), run_jobs: false, ..Config::default() };
    adjust(&mut config);
    let clock = Arc::new(kernel::clock::SystemClock);
    let out = linli::app::build_state_with(config, clock, vec![example()]).await.map_err(|e| e.to_string());
    if let Ok(state) = &out {
        state.db.pool.close().await;
    }
    let _ = std::fs::remove_dir_all(dir);
    out.map(|_| ())
}

#[tokio::test]
async fn a_wrong_setting_stops_the_start_and_says_where() {
    let err = composed(|c| c.sections = Config::from_toml("[example]\ngreting = \"x\"\n").unwrap().sections).await.unwrap_err();
    assert!(err.contains("[example]") && err.contains("greting"), "{err}");
    let err = composed(|c| c.sections = Config::from_toml("[exmaple]\ngreeting = \"x\"\n").unwrap().sections).await.unwrap_err();
    assert!(err.contains("[exmaple]") && err.contains("example"), "an unknown section is named, with the known ones: {err}");
    let err = composed(|c| {
        c.environment.insert("LINLI_EXAMPLE_TIMES".into(), "twice".into());
    })
    .await
    .unwrap_err();
    assert!(err.contains("LINLI_EXAMPLE_TIMES"), "{err}");
    // The platform's own sections are read the same way.
    let err = composed(|c| c.sections = Config::from_toml("[notify]\nsms_gateway = \"x\"\n").unwrap().sections).await.unwrap_err();
    assert!(err.contains("[notify]"), "{err}");
    let err = composed(|c| c.sections = Config::from_toml("[notify]\nsmtp_url = \"mail.example.org:587\"\n").unwrap().sections).await.unwrap_err();
    assert!(err.contains("[notify]") && err.contains("smtp_url"), "a mail server that is not a URL stops the start: {err}");
    for (section, why) in [
        ("[notify]\nsms_gateway_url = \"not a url\"\n", "sms_gateway_url"),
        ("[notify]\nsms_gateway_url = \"ftp://x/y\"\n", "sms_gateway_url"),
        ("[notify]\nsmtp_url = \"smtp://user:secret@mail.example.org:25\"\n", "login needs TLS"),
        ("[notify]\nsmtp_url = \"http://mail.example.org\"\n", "smtp_url"),
        ("[notify]\nsmtp_from = \"not an address\"\n", "smtp_from"),
        ("[files]\ns3_access_key = \"k\"\n", "s3_endpoint is empty"),
    ] {
        let err = composed(|c| c.sections = Config::from_toml(section).unwrap().sections).await.unwrap_err();
        assert!(err.contains(why), "{section}: {err}");
    }
    assert!(composed(|_| {}).await.is_ok());
}

#[tokio::test]
async fn two_capabilities_may_not_define_one_word() {
    let mut twin = example();
    twin.name = "twin";
    twin.settings = None;
    twin.services = &[];
    let dir = testkit::temp_dir();
    let config = Config { data_dir: dir.clone(), secret_key: "test-secret-key-0123456789".into(), run_jobs: false, ..Config::default() };
    let err = linli::app::build_state_with(config, Arc::new(kernel::clock::SystemClock), vec![example(), twin]).await.err().expect("refused");
    assert!(err.to_string().contains("in both example's and twin's catalogue"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_platform_subcommand_name_is_taken_once() {
    let names: Vec<&str> = linli::cli::capability_commands().unwrap().iter().map(|c| c.name).collect();
    assert_eq!(names, ["import", "export", "triage"]);
}
