//! How a capability plugs into the platform: one manifest with its routes, jobs, permissions,
//! migrations, OpenAPI paths, demo seed, words, console navigation, home-page links, settings,
//! command-line subcommands, long-running services and event subscribers.

use crate::community::CommunityId;
use crate::auth::Permission;
use crate::db::Migration;
use crate::error::AppResult;
use crate::jobs::JobHandler;
use crate::state::AppState;
use axum::Router;
use futures::future::BoxFuture;
use std::sync::Arc;

/// Seeds a capability's part of the demo community.
pub type DemoSeed = for<'a> fn(&'a AppState, &'a DemoContext) -> BoxFuture<'a, AppResult<()>>;

/// Collects what a capability holds about one person, for their data download (PIPL).
pub type PersonalData = for<'a> fn(&'a AppState, crate::auth::UserId) -> BoxFuture<'a, AppResult<serde_json::Value>>;

/// A shortcut on the resident home page.
#[derive(Debug, Clone, Copy)]
pub struct Tile {
    /// Link target.
    pub href: &'static str,
    /// Catalogue key of the label.
    pub label: &'static str,
    /// A short symbol shown above the label.
    pub icon: &'static str,
}

/// A figure on the console's overview, from one capability (open cases, those overdue …).
#[derive(Debug, Clone)]
pub struct Figure {
    /// Catalogue key of the label.
    pub label: &'static str,
    /// The figure as shown (`12`, `87%`, `—`).
    pub value: String,
    /// Where it leads: the list behind the figure.
    pub href: String,
    /// `""`, `warn` or `bad`: how it is marked.
    pub tone: &'static str,
}

/// The figures a capability shows on a community's console overview, for the person viewing it
/// (only what they may see; none when they may see none).
pub type ConsoleFigures =
    for<'a> fn(&'a AppState, &'a crate::auth::Principal, &'a crate::community::Community) -> BoxFuture<'a, AppResult<Vec<Figure>>>;

/// Purges what a capability keeps only for a while (delivered messages, expired drafts …)
/// older than `before` (epoch ms); returns how many rows went. Run about once an hour.
pub type Housekeeping = for<'a> fn(&'a AppState, i64) -> BoxFuture<'a, AppResult<u64>>;

/// A link on the home page, in the part for one role, shown only to those who may open it.
#[derive(Debug, Clone, Copy)]
pub struct Door {
    /// The code of the role whose part of the home page shows it (`grid_worker`; `staff` for
    /// staff and administrators alike; `visitor` for someone not logged in).
    pub role: &'static str,
    /// Link target.
    pub href: &'static str,
    /// Catalogue key of the label.
    pub label: &'static str,
    /// The permission the page requires (`None`: whoever holds the role).
    pub permission: Option<&'static crate::auth::Permission>,
    /// Where it stands in its role's part, as [`crate::web::NavEntry::rank`]: lower first.
    pub rank: u8,
}

/// Loads and checks a capability's section of the configuration (see [`crate::config::Section`]);
/// run at start, so that a wrong setting stops the server before it serves.
pub type SettingsLoader =
    fn(&crate::config::Config) -> Result<(&'static str, Arc<dyn std::any::Any + Send + Sync>), crate::config::ConfigError>;

/// The roles with a part of the home page, in the order the parts are shown (a [`Door`]'s
/// `role` is one of these).
pub const HOME_ROLES: &[&str] = &["resident", "family", "grid_worker", "staff", "liaison", "volunteer", "merchant", "visitor"];

/// What a command-line subcommand gets: the configuration, and the application on demand (a
/// command that needs no database never opens one).
pub struct CommandContext {
    /// The loaded configuration.
    pub config: crate::config::Config,
    /// Composes the application (every capability) from a configuration.
    pub connect: Box<dyn FnOnce(crate::config::Config) -> BoxFuture<'static, AppResult<AppState>> + Send>,
}

impl CommandContext {
    /// Connects, migrates and composes the application.
    pub async fn state(self) -> AppResult<AppState> {
        (self.connect)(self.config).await
    }
}

/// A top-level subcommand of `linli` that a capability contributes (`linli import residents …`).
#[derive(Clone, Copy)]
pub struct CliCommand {
    /// The subcommand's name, unique across capabilities.
    pub name: &'static str,
    /// Its arguments and help (clap), named `name`.
    pub command: fn() -> clap::Command,
    /// Runs it with the arguments given to it.
    pub run: fn(CommandContext, clap::ArgMatches) -> BoxFuture<'static, AppResult<()>>,
}

/// Resolves once the server is asked to stop.
#[derive(Clone)]
pub struct Shutdown(pub tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Waits for the stop.
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
    /// Whether the stop has been asked for.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// Work that runs for as long as the server does (an MQTT subscriber, a scheduler): started
/// with the server, told to stop through its [`Shutdown`], and awaited before the server ends.
#[derive(Clone, Copy)]
pub struct Service {
    /// Name, for the log.
    pub name: &'static str,
    /// The service's loop; it returns once its shutdown is requested.
    pub run: fn(AppState, Shutdown) -> BoxFuture<'static, AppResult<()>>,
}

/// Facts earlier seeds hand to later ones.
#[derive(Debug, Clone)]
pub struct DemoContext {
    /// The demo community's id.
    pub community_id: CommunityId,
    /// The demo community's slug.
    pub community_slug: String,
}

/// Everything one capability contributes. A capability lists what it has and takes the rest
/// from [`Manifest::named`]: `Manifest { migrations: MIGRATIONS, ..Manifest::named("care") }`.
#[derive(Clone)]
pub struct Manifest {
    /// Short name, e.g. `registry`.
    pub name: &'static str,
    /// Schema changes, applied in order after the kernel's.
    pub migrations: &'static [Migration],
    /// JSON API routes (mounted at the root; paths start with `/api/v1/`).
    pub api: fn() -> Router<AppState>,
    /// HTML page routes.
    pub web: fn() -> Router<AppState>,
    /// Background job handlers by kind.
    pub jobs: fn() -> Vec<(&'static str, Arc<dyn JobHandler>)>,
    /// Permissions, for the documentation and the role matrix test.
    pub permissions: &'static [Permission],
    /// OpenAPI paths and schemas of the API routes.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    /// Demo data, run by `linli demo` in manifest order.
    pub demo_seed: Option<DemoSeed>,
    /// Personal data held about a user, keyed by the capability's name in the download.
    pub personal_data: Option<PersonalData>,
    /// Shortcuts on the resident home page.
    pub tiles: &'static [Tile],
    /// Figures on the console overview.
    pub console_figures: Option<ConsoleFigures>,
    /// Purges what the capability keeps only for the retention period (`retention_days`).
    pub housekeeping: Option<Housekeeping>,
    /// Its reactions to other capabilities' domain events (crate::events).
    pub subscribers: fn() -> Vec<crate::events::Subscriber>,
    /// Its words: the TOML source of its catalogue (`include_str!("../catalogue.toml")`),
    /// merged with the kernel's and the others' at start.
    pub catalogue: &'static str,
    /// Its pages in the console navigation, each shown to those holding its permission.
    pub nav: &'static [crate::web::NavEntry],
    /// Its links on the home page, by role.
    pub doors: &'static [Door],
    /// Its section of the configuration (`[name]` in the file, `LINLI_<NAME>_*`).
    pub settings: Option<SettingsLoader>,
    /// Its changes to existing rows that SQL cannot make, run once after the migrations.
    pub backfills: &'static [crate::db::Backfill],
    /// Its subcommands of `linli`.
    pub commands: &'static [CliCommand],
    /// Its long-running services, started and stopped with the server.
    pub services: &'static [Service],
}

fn no_routes() -> Router<AppState> {
    Router::new()
}

fn no_jobs() -> Vec<(&'static str, Arc<dyn JobHandler>)> {
    Vec::new()
}

fn no_openapi() -> utoipa::openapi::OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

fn no_subscribers() -> Vec<crate::events::Subscriber> {
    Vec::new()
}

impl Manifest {
    /// A capability called `name` that contributes nothing yet: the base its manifest fills in.
    pub const fn named(name: &'static str) -> Manifest {
        Manifest {
            name,
            migrations: &[],
            api: no_routes,
            web: no_routes,
            jobs: no_jobs,
            permissions: &[],
            openapi: no_openapi,
            demo_seed: None,
            personal_data: None,
            tiles: &[],
            console_figures: None,
            housekeeping: None,
            subscribers: no_subscribers,
            catalogue: "",
            nav: &[],
            doors: &[],
            settings: None,
            backfills: &[],
            commands: &[],
            services: &[],
        }
    }
}
