//! Needs express (需求直通车) and the problem ledger (问题台账): every report becomes a case,
//! triaged on arrival, with a first-response clock and a result clock, a workflow from first
//! response to on-site check, and anonymity that holds. This slice serves the API, the
//! resident pages, the console queue, the rating links, the public ledger and Open311
//! GeoReport v2; photos and assignment build on it.

pub mod api;
mod cli;
mod demo;
pub mod domain;
pub use domain::CaseId;
pub mod family;
pub mod draft;
pub mod events;
pub mod learning;
pub mod ledger;
mod open311;
pub mod photos;
pub mod policy;
pub mod rating;
pub mod reach;
pub mod classify;
pub mod clocks;
pub mod service;
pub mod store;
mod web;

use async_trait::async_trait;
use kernel::db::Migration;
use kernel::jobs::{JobFailure, JobHandler, JobRun};
use kernel::manifest::{Door, Figure, Manifest, Tile};
use kernel::web::NavEntry;
use kernel::state::AppState;
use std::sync::Arc;

const MIGRATIONS: &[Migration] = &[
    Migration {
        id: "cases_0001_cases",
        sql: r#"
CREATE TABLE cases (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('resident', 'grid_worker', 'window', 'phone', 'vehicle')),
    author_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    anonymous BIGINT NOT NULL CHECK (anonymous IN (0, 1)),
    follow_token_hash TEXT UNIQUE,
    text TEXT NOT NULL,
    place TEXT NOT NULL,
    building_id BIGINT REFERENCES buildings (id) ON DELETE SET NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('critical', 'urgent', 'normal', 'low')),
    category TEXT NOT NULL CHECK (category IN ('repair', 'municipal', 'sanitation', 'safety', 'living', 'care', 'dispute', 'consult', 'suggestion')),
    triage_reasons TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'acknowledged', 'in_progress', 'scheduled', 'referred', 'resolved', 'verified', 'closed', 'duplicate', 'not_ours', 'withdrawn')),
    first_response_due BIGINT NOT NULL,
    result_due BIGINT NOT NULL,
    first_response_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (anonymous = 0 OR author_user_id IS NULL),
    UNIQUE (community_id, idempotency_key)
);
CREATE INDEX cases_queue_idx ON cases (community_id, state);
CREATE INDEX cases_author_idx ON cases (author_user_id);
CREATE TABLE case_events (
    id {id},
    case_id BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    state TEXT,
    note TEXT NOT NULL
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);
"#,
    },
    Migration {
        id: "cases_0002_ratings",
        sql: r#"
CREATE TABLE case_ratings (
    id {id},
    case_id BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    solved BIGINT CHECK (solved IN (0, 1)),
    satisfaction TEXT CHECK (satisfaction IN ('satisfied', 'basic', 'unsatisfied')),
    comment TEXT
);
CREATE INDEX case_ratings_case_idx ON case_ratings (case_id);
"#,
    },
    Migration {
        id: "cases_0003_followers",
        sql: r#"
CREATE TABLE case_followers (
    case_id BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followers_user_idx ON case_followers (user_id);
CREATE INDEX cases_similar_idx ON cases (community_id, category, state);
"#,
    },
    Migration {
        id: "cases_0004_photos_places_assignment",
        sql: r#"
ALTER TABLE cases ADD COLUMN unit_id BIGINT REFERENCES units (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN lat_e6 BIGINT;
ALTER TABLE cases ADD COLUMN lng_e6 BIGINT;
ALTER TABLE cases ADD COLUMN resident_id BIGINT REFERENCES residents (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN entered_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN owner_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN assignee_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN parent_case_id BIGINT REFERENCES cases (id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN paused_at BIGINT;
ALTER TABLE cases ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_assignee_idx ON cases (assignee_user_id);
CREATE TABLE case_photos (
    id {id},
    case_id BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('before', 'after')),
    original_blob_id BIGINT NOT NULL REFERENCES blobs (id),
    shown_blob_id BIGINT NOT NULL REFERENCES blobs (id),
    thumb_blob_id BIGINT NOT NULL REFERENCES blobs (id),
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    hidden BIGINT NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
    redacted_cells TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX case_photos_case_idx ON case_photos (case_id, id);
CREATE TABLE sla_policies (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    urgency TEXT NOT NULL CHECK (urgency IN ('critical', 'urgent', 'normal', 'low')),
    category TEXT NOT NULL,
    first_response_minutes BIGINT NOT NULL CHECK (first_response_minutes > 0),
    result_minutes BIGINT NOT NULL CHECK (result_minutes > 0),
    working_hours BIGINT NOT NULL CHECK (working_hours IN (0, 1)),
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (community_id, urgency, category)
);
CREATE TABLE case_routes (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    grid_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    UNIQUE (community_id, category, grid_id)
);
CREATE TABLE duty_roster (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, weekday, user_id)
);
CREATE TABLE work_hours (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    weekday BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute BIGINT NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute BIGINT NOT NULL CHECK (end_minute BETWEEN 0 AND 1440),
    PRIMARY KEY (community_id, weekday, start_minute)
);
CREATE TABLE calendar_days (
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    working BIGINT NOT NULL CHECK (working IN (0, 1)),
    PRIMARY KEY (community_id, day)
);
"#,
    },
    Migration {
        id: "cases_0005_private",
        sql: r#"
ALTER TABLE cases ADD COLUMN private BIGINT NOT NULL DEFAULT 0;
"#,
    },
    Migration {
        id: "cases_0006_triage_pending",
        sql: r#"
ALTER TABLE cases ADD COLUMN triage_pending BIGINT NOT NULL DEFAULT 0 CHECK (triage_pending IN (0, 1));
"#,
    },
    Migration {
        id: "cases_0007_report_drafts",
        sql: r#"
CREATE TABLE case_drafts (
    key_hash TEXT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    author_tag TEXT NOT NULL,
    fields TEXT NOT NULL,
    photos TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX case_drafts_expiry_idx ON case_drafts (expires_at);
"#,
    },
    Migration {
        // The one-time key of the staff form that sent a step: the same form sent again is
        // answered as the first was, with nothing recorded twice.
        id: "cases_0008_step_keys",
        sql: r#"
ALTER TABLE case_events ADD COLUMN request_key TEXT;
"#,
    },
    Migration {
        id: "cases_0009_triage_learning",
        sql: r#"
ALTER TABLE cases ADD COLUMN triage_model TEXT;
CREATE TABLE triage_corrections (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    case_id BIGINT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('critical', 'urgent', 'normal', 'low')),
    category TEXT NOT NULL CHECK (category IN ('repair', 'municipal', 'sanitation', 'safety', 'living', 'care', 'dispute', 'consult', 'suggestion')),
    corrected_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX triage_corrections_idx ON triage_corrections (community_id, case_id);
CREATE TABLE triage_models (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    model TEXT NOT NULL,
    corrections BIGINT NOT NULL,
    held_out BIGINT NOT NULL,
    before_urgency BIGINT NOT NULL,
    before_category BIGINT NOT NULL,
    after_urgency BIGINT NOT NULL,
    after_category BIGINT NOT NULL,
    active BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (community_id, version)
);
"#,
    },
    Migration {
        // The last correction a model learned from: a retraining compares the models on
        // corrections neither has seen.
        id: "cases_0010_triage_trained_through",
        sql: r#"
ALTER TABLE triage_models ADD COLUMN trained_through BIGINT NOT NULL DEFAULT 0;
"#,
    },
    Migration {
        // `cases_0005` added `private` without the CHECK every other flag has. PostgreSQL adds
        // the constraint; SQLite cannot add one to a table, so triggers refuse the same values.
        id: "cases_0011_private_check",
        sql: r#"
/*postgres*/ ALTER TABLE cases ADD CONSTRAINT cases_private_check CHECK (private IN (0, 1));
/*sqlite*/ CREATE TRIGGER cases_private_check_insert BEFORE INSERT ON cases WHEN NEW.private NOT IN (0, 1) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: cases_private_check'); END;
/*sqlite*/ CREATE TRIGGER cases_private_check_update BEFORE UPDATE OF private ON cases WHEN NEW.private NOT IN (0, 1) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: cases_private_check'); END;
"#,
    },
    Migration {
        // What the queue's search looks in: the report and its place, folded
        // (kernel::query::fold) so that search ignores case alike on both engines. Earlier
        // cases get it from the backfill `cases_0012_search_text_fill`.
        id: "cases_0012_search_text",
        sql: "ALTER TABLE cases ADD COLUMN search_text TEXT;\n",
    },
    Migration {
        // Search also finds a case by its building's and unit's names, in text folded as
        // kernel::query::fold now does; the backfill `cases_0013_search_text_refill` refills it.
        id: "cases_0013_search_refold",
        sql: "UPDATE cases SET search_text = NULL;\n",
    },
];

/// Changes to earlier rows that SQL cannot make.
const BACKFILLS: &[kernel::db::Backfill] = &[
    kernel::db::Backfill { id: "cases_0012_search_text_fill", run: |db| Box::pin(store::fill_search_text(db)) },
    kernel::db::Backfill { id: "cases_0013_search_text_refill", run: |db| Box::pin(store::fill_search_text(db)) },
];

/// Checks a case's clock when its warning or escalation time comes.
struct ClockCheckJob;

#[async_trait]
impl JobHandler for ClockCheckJob {
    async fn run(&self, state: &AppState, payload: serde_json::Value, _run: JobRun) -> Result<(), JobFailure> {
        // A payload that does not read is the job's failure, never a guess at what it meant.
        let check: clocks::ClockCheck = serde_json::from_value(payload).map_err(|e| JobFailure(format!("clock check payload: {e}")))?;
        service::check_clock(state, &check).await.map_err(|e| JobFailure(e.to_string()))
    }
}

/// The console overview's case figures: open, overdue, due today and this month's satisfaction,
/// over the cases the viewer may handle, each leading to the queue narrowed to it.
async fn console_figures(
    state: &AppState,
    p: &kernel::auth::Principal,
    community: &kernel::community::Community,
) -> kernel::AppResult<Vec<Figure>> {
    let Some(w) = service::workload(state, p, community.id).await? else {
        return Ok(Vec::new());
    };
    let queue = format!("/console/cases?c={}", community.slug);
    Ok(vec![
        Figure {
            label: "console.cases_open",
            value: w.open.to_string(),
            href: queue.clone(),
            tone: "",
        },
        Figure {
            label: "console.cases_overdue",
            value: w.overdue.to_string(),
            href: format!("{queue}&overdue=1"),
            tone: if w.overdue > 0 { "bad" } else { "" },
        },
        Figure {
            label: "console.cases_due_today",
            value: w.due_today.to_string(),
            href: format!("{queue}&due=today"),
            tone: if w.due_today > 0 { "warn" } else { "" },
        },
        Figure {
            label: "console.satisfaction_month",
            value: Some(ledger::percent(w.satisfaction_this_month))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "—".into()),
            href: format!("/ledger/{}", community.slug),
            tone: "",
        },
    ])
}

/// The cases capability's words (`crates/cases/catalogue.toml`).
pub const CATALOGUE: &str = include_str!("../catalogue.toml");

/// The cases capability.
pub fn manifest() -> Manifest {
    Manifest {
        migrations: MIGRATIONS,
        api: api::router,
        web: || web::router().merge(open311::router()),
        jobs: || {
            vec![(
                clocks::CLOCK_JOB,
                Arc::new(ClockCheckJob) as Arc<dyn JobHandler>,
            )]
        },
        permissions: &[crate::domain::CASES_HANDLE, crate::domain::CASES_CONFIGURE],
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        demo_seed: Some(|state, ctx| Box::pin(demo::seed(state, ctx))),
        personal_data: Some(|state, user_id| {
            Box::pin(async move {
                serde_json::to_value(service::mine(state, user_id).await?).map_err(kernel::AppError::internal)
            })
        }),
        tiles: &[
            Tile {
                href: "/cases/new",
                label: "cases.report",
                icon: "✎",
            },
            Tile {
                href: "/me/cases",
                label: "cases.mine",
                icon: "☰",
            },
            Tile {
                href: "/ledger",
                label: "ledger.title",
                icon: "▤",
            },
        ],
        console_figures: Some(|state, p, c| Box::pin(console_figures(state, p, c))),
        catalogue: CATALOGUE,
        nav: &[NavEntry { href: "/console/cases", label: "nav.cases", permission: &crate::domain::CASES_HANDLE, rank: 10 }],
        doors: &[
            Door { role: "family", href: "/family", label: "home.door.family", permission: None, rank: 10 },
            Door { role: "family", href: "/cases/new", label: "cases.report", permission: None, rank: 12 },
            Door { role: "family", href: "/me/cases", label: "cases.mine", permission: None, rank: 13 },
            Door { role: "grid_worker", href: "/console/cases", label: "nav.cases", permission: Some(&crate::domain::CASES_HANDLE), rank: 10 },
            Door { role: "grid_worker", href: "/console/cases/quick", label: "cases.quick", permission: Some(&crate::domain::CASES_HANDLE), rank: 11 },
            Door { role: "staff", href: "/console/cases", label: "nav.cases", permission: Some(&crate::domain::CASES_HANDLE), rank: 10 },
            Door { role: "liaison", href: "/cases/new", label: "cases.report", permission: None, rank: 12 },
            Door { role: "liaison", href: "/me/cases", label: "cases.mine", permission: None, rank: 13 },
            Door { role: "liaison", href: "/ledger", label: "ledger.title", permission: None, rank: 14 },
            Door { role: "volunteer", href: "/cases/new", label: "cases.report", permission: None, rank: 12 },
            Door { role: "volunteer", href: "/ledger", label: "ledger.title", permission: None, rank: 14 },
            Door { role: "volunteer", href: "/me/cases", label: "cases.mine", permission: None, rank: 13 },
            Door { role: "merchant", href: "/cases/new", label: "cases.report", permission: None, rank: 12 },
            Door { role: "merchant", href: "/ledger", label: "ledger.title", permission: None, rank: 14 },
            Door { role: "merchant", href: "/me/cases", label: "cases.mine", permission: None, rank: 13 },
            Door { role: "visitor", href: "/cases/new", label: "home.door.anonymous_report", permission: None, rank: 12 },
            Door { role: "visitor", href: "/ledger", label: "ledger.title", permission: None, rank: 14 },
        ],
        commands: &[cli::TRIAGE],
        backfills: BACKFILLS,
        ..Manifest::named("cases")
    }
}
