//! Community registry: communities, grids, buildings, units, households and residents with
//! their tags; import from and export to the spreadsheets staff already keep.

pub mod api;
mod cli;
pub mod demo;
pub mod domain;
pub use domain::{BuildingId, GridId, HouseholdId, ResidentId, UnitId};
pub mod family;
pub mod id_reviews;
pub mod members;
pub mod people;
pub mod places;
pub mod service;
pub mod spreadsheet;
pub mod store;
mod web;

use kernel::db::Migration;
use kernel::manifest::{Door, Manifest, Tile};
use kernel::web::NavEntry;

const MIGRATIONS: &[Migration] = &[
    Migration {
        id: "registry_0001_structure",
        sql: r#"
CREATE TABLE grids (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (community_id, name)
);
CREATE TABLE grid_staff (
    grid_id BIGINT NOT NULL REFERENCES grids (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (grid_id, user_id)
);
CREATE INDEX grid_staff_user_idx ON grid_staff (user_id);
CREATE TABLE buildings (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    grid_id BIGINT REFERENCES grids (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    estate TEXT NOT NULL,
    floors BIGINT NOT NULL,
    has_elevator BIGINT NOT NULL CHECK (has_elevator IN (0, 1)),
    plan_x BIGINT,
    plan_y BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (community_id, name)
);
CREATE INDEX buildings_grid_idx ON buildings (grid_id);
CREATE TABLE units (
    id {id},
    building_id BIGINT NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (building_id, name)
);
CREATE TABLE households (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    building_id BIGINT NOT NULL REFERENCES buildings (id) ON DELETE CASCADE,
    unit_id BIGINT NOT NULL REFERENCES units (id) ON DELETE CASCADE,
    room TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (unit_id, room)
);
CREATE INDEX households_building_idx ON households (building_id);
CREATE INDEX households_community_idx ON households (community_id, id);
CREATE TABLE residents (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    household_id BIGINT REFERENCES households (id) ON DELETE SET NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('', 'male', 'female')),
    birth_year BIGINT,
    phone TEXT NOT NULL,
    id_number_enc TEXT,
    id_number_idx TEXT,
    id_number_masked TEXT,
    relation TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (community_id, id_number_idx)
);
CREATE INDEX residents_community_idx ON residents (community_id, id);
CREATE INDEX residents_household_idx ON residents (household_id);
CREATE INDEX residents_user_idx ON residents (user_id);
CREATE TABLE resident_tags (
    resident_id BIGINT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    tag TEXT NOT NULL CHECK (tag IN ('elderly', 'living_alone', 'disabled', 'low_income', 'renter', 'child', 'party_member', 'veteran')),
    PRIMARY KEY (resident_id, tag)
);
CREATE INDEX resident_tags_tag_idx ON resident_tags (tag, resident_id);
CREATE TABLE family_links (
    family_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resident_id BIGINT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    relation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (family_user_id, resident_id)
);
"#,
    },
    Migration {
        id: "registry_0002_id_number_reviews",
        sql: r#"
CREATE TABLE id_number_reviews (
    id {id},
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    resident_id BIGINT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    holder_id BIGINT REFERENCES residents (id) ON DELETE SET NULL,
    id_number_idx TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    entered_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    entered_by_api_key_id BIGINT REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX id_number_reviews_open_idx ON id_number_reviews (community_id, resolved_at);
CREATE INDEX id_number_reviews_resident_idx ON id_number_reviews (resident_id);
CREATE INDEX id_number_reviews_holder_idx ON id_number_reviews (holder_id);
"#,
    },
    Migration {
        id: "registry_0003_family_consent_phone_search",
        sql: r#"
ALTER TABLE family_links ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('requested', 'confirmed', 'ended'));
ALTER TABLE family_links ADD COLUMN requested_at BIGINT;
ALTER TABLE family_links ADD COLUMN confirmed_at BIGINT;
ALTER TABLE family_links ADD COLUMN confirmed_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE family_links ADD COLUMN confirmed_how TEXT CHECK (confirmed_how IN ('in_person', 'online', 'recorded'));
ALTER TABLE family_links ADD COLUMN ended_at BIGINT;
ALTER TABLE family_links ADD COLUMN ended_by_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
UPDATE family_links SET requested_at = created_at, confirmed_at = created_at, confirmed_how = 'recorded' WHERE status = 'confirmed';
CREATE INDEX family_links_resident_idx ON family_links (resident_id, status);
ALTER TABLE residents ADD COLUMN phone_last4 TEXT NOT NULL DEFAULT '';
UPDATE residents SET phone_last4 = SUBSTR(phone, LENGTH(phone) - 3) WHERE LENGTH(phone) >= 4;
CREATE INDEX residents_phone_idx ON residents (community_id, phone);
CREATE INDEX residents_phone_last4_idx ON residents (community_id, phone_last4);
"#,
    },
    Migration {
        id: "registry_0004_family_requests",
        // What a family member asked for, whether or not anyone is registered under the number:
        // their own list shows it alike either way. One pending request per person and number.
        sql: r#"
CREATE TABLE family_requests (
    id {id},
    requester_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_idx TEXT NOT NULL,
    target_masked TEXT NOT NULL,
    relation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined', 'withdrawn', 'ended', 'expired')),
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE UNIQUE INDEX family_requests_pending_idx ON family_requests (requester_user_id, target_idx) WHERE status = 'pending';
CREATE INDEX family_requests_requester_idx ON family_requests (requester_user_id, created_at);
ALTER TABLE family_links ADD COLUMN request_id BIGINT REFERENCES family_requests (id) ON DELETE SET NULL;
"#,
    },
    Migration {
        id: "registry_0005_search_columns",
        // What the resident search looks in, folded (kernel::query::fold) so that it ignores
        // case alike on both engines: a resident's name, and a household's address as
        // "building unit room". Earlier rows get them from `registry_0005_search_fill`.
        sql: r#"
ALTER TABLE residents ADD COLUMN search_name TEXT;
ALTER TABLE households ADD COLUMN search_address TEXT;
"#,
    },
    Migration {
        id: "registry_0006_search_refold",
        // The search columns are folded anew (Unicode's compatibility form, format characters
        // dropped; names without the separators between their parts) by the backfill
        // `registry_0006_search_refill`.
        sql: r#"
UPDATE residents SET search_name = NULL;
UPDATE households SET search_address = NULL;
"#,
    },
];

/// Changes to earlier rows that SQL cannot make.
const BACKFILLS: &[kernel::db::Backfill] =
    &[
        kernel::db::Backfill { id: "registry_0005_search_fill", run: |db| Box::pin(store::fill_search_columns(db)) },
        kernel::db::Backfill { id: "registry_0006_search_refill", run: |db| Box::pin(store::fill_search_columns(db)) },
    ];

/// The registry capability's words (`crates/registry/catalogue.toml`).
pub const CATALOGUE: &str = include_str!("../catalogue.toml");

/// The registry capability.
pub fn manifest() -> Manifest {
    Manifest {
        migrations: MIGRATIONS,
        api: api::router,
        web: web::router,
        permissions: &[
            crate::domain::STRUCTURE_READ,
            crate::domain::STRUCTURE_WRITE,
            crate::domain::RESIDENTS_READ,
            crate::domain::RESIDENTS_WRITE,
            crate::domain::ID_REVEAL,
            crate::domain::IMPORT_EXPORT,
            family::FAMILY_CONFIRM,
            members::MEMBERS_READ,
            members::MEMBERS_WRITE,
        ],
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        demo_seed: Some(|state, ctx| Box::pin(demo::seed(state, ctx))),
        personal_data: Some(|state, user_id| {
            Box::pin(async move {
                let family = family::personal(state, user_id).await?;
                let Some(h) = service::my_household(state, user_id).await? else { return Ok(serde_json::json!({ "family": family })) };
                // The person's own data in full: their ID number is theirs to see.
                let id_number: Option<String> = sqlx::query_scalar("SELECT id_number_enc FROM residents WHERE id = $1")
                    .bind(h.me.id)
                    .fetch_one(&state.db.pool)
                    .await?;
                let id_number = id_number.map(|enc| state.cipher.decrypt(&enc)).transpose()?;
                let phone: String = sqlx::query_scalar("SELECT phone FROM residents WHERE id = $1").bind(h.me.id).fetch_one(&state.db.pool).await?;
                Ok(serde_json::json!({
                    "resident": h.me,
                    "id_number": id_number,
                    "phone": phone,
                    "household": h.members.iter().map(|m| serde_json::json!({"name": m.name, "relation": m.relation})).collect::<Vec<_>>(),
                    "community": h.community,
                    "family": family,
                }))
            })
        }),
        tiles: &[Tile { href: "/me", label: "me.household", icon: "⌂" }],
        catalogue: CATALOGUE,
        nav: &[
            NavEntry { href: "/console", label: "nav.console", permission: &crate::domain::STRUCTURE_READ, rank: 0 },
            NavEntry { href: "/console/residents", label: "nav.residents", permission: &crate::domain::RESIDENTS_READ, rank: 30 },
            NavEntry { href: "/console/buildings", label: "nav.buildings", permission: &crate::domain::STRUCTURE_READ, rank: 31 },
            NavEntry { href: "/console/households", label: "nav.households", permission: &crate::domain::RESIDENTS_READ, rank: 32 },
            NavEntry { href: "/console/import", label: "nav.import", permission: &crate::domain::IMPORT_EXPORT, rank: 50 },
        ],
        doors: &[
            Door { role: "grid_worker", href: "/console/residents", label: "nav.residents", permission: Some(&crate::domain::RESIDENTS_READ), rank: 30 },
            Door { role: "grid_worker", href: "/console/households", label: "nav.households", permission: Some(&crate::domain::RESIDENTS_READ), rank: 32 },
            Door { role: "staff", href: "/console", label: "nav.console", permission: Some(&crate::domain::STRUCTURE_READ), rank: 0 },
            Door { role: "staff", href: "/console/residents", label: "nav.residents", permission: Some(&crate::domain::RESIDENTS_READ), rank: 30 },
            Door { role: "staff", href: "/console/import", label: "nav.import", permission: Some(&crate::domain::IMPORT_EXPORT), rank: 50 },
            Door { role: "liaison", href: "/console/buildings", label: "nav.buildings", permission: Some(&crate::domain::STRUCTURE_READ), rank: 31 },
        ],
        commands: &[cli::IMPORT, cli::EXPORT],
        backfills: BACKFILLS,
        ..Manifest::named("registry")
    }
}
