//! How a capability plugs into the platform: one manifest with its routes, jobs,
//! permissions, migrations, OpenAPI paths and demo seed.

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
pub type PersonalData = for<'a> fn(&'a AppState, i64) -> BoxFuture<'a, AppResult<serde_json::Value>>;

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

/// Facts earlier seeds hand to later ones.
#[derive(Debug, Clone, Default)]
pub struct DemoContext {
    /// The demo community's id.
    pub community_id: i64,
    /// The demo community's slug.
    pub community_slug: String,
}

/// Everything one capability contributes.
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
}
