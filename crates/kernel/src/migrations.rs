//! The kernel's own tables: tenancy, accounts, sessions, keys, jobs, the two logs and the
//! fingerprint of the secret key.

use crate::db::Migration;

/// Kernel migrations, applied before any capability's.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
    id: "kernel_0001_foundation",
    sql: r#"
CREATE TABLE communities (
    id {id},
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    city TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE TABLE users (
    id {id},
    phone TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    locale TEXT NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    elder_mode BIGINT NOT NULL DEFAULT 0 CHECK (elder_mode IN (0, 1)),
    is_superadmin BIGINT NOT NULL DEFAULT 0 CHECK (is_superadmin IN (0, 1)),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE memberships (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('resident', 'family', 'grid_worker', 'staff', 'liaison', 'volunteer', 'merchant', 'admin')),
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, community_id, role)
);
CREATE INDEX memberships_community_idx ON memberships (community_id, role);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE TABLE api_keys (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE jobs (
    id {id},
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);
CREATE TABLE audit_log (
    id {id},
    at BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor_api_key_id BIGINT,
    community_id BIGINT,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX audit_entity_idx ON audit_log (entity, entity_id);
CREATE TABLE access_log (
    id {id},
    at BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor_api_key_id BIGINT,
    community_id BIGINT NOT NULL,
    subject TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    field TEXT NOT NULL,
    purpose TEXT NOT NULL
);
CREATE INDEX access_subject_idx ON access_log (subject, subject_id);
"#,
}, Migration {
    id: "kernel_0002_secret_key_check",
    sql: r#"
CREATE TABLE secret_key_check (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
"#,
}, Migration {
    id: "kernel_0003_quotas",
    sql: r#"
CREATE TABLE quotas (
    key TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL
);
CREATE INDEX quotas_expiry_idx ON quotas (expires_at);
"#,
}, Migration {
    id: "kernel_0004_form_drafts",
    sql: r#"
CREATE TABLE form_drafts (
    token_hash TEXT PRIMARY KEY,
    back TEXT NOT NULL,
    action TEXT NOT NULL,
    fields TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX form_drafts_expiry_idx ON form_drafts (expires_at);
"#,
},
    Migration {
        // Domain events and which subscriber has handled which (crate::events).
        id: "kernel_0002_domain_events",
        sql: r#"
CREATE TABLE domain_events (
    id {id},
    name TEXT NOT NULL,
    community_id BIGINT,
    payload TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX domain_events_at_idx ON domain_events (at);
CREATE TABLE event_deliveries (
    event_id BIGINT NOT NULL REFERENCES domain_events (id) ON DELETE CASCADE,
    subscriber TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, subscriber)
);
"#,
    },
];
