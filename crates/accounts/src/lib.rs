//! Accounts: log in with a mobile number and password or an SMS code, sessions, lockout,
//! language and elder-mode preferences.

pub mod api;
pub mod service;
mod web;

use kernel::db::Migration;
use kernel::manifest::{Door, Manifest};

const MIGRATIONS: &[Migration] = &[Migration {
    id: "accounts_0001_logins",
    sql: r#"
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);
CREATE TABLE login_codes (
    id {id},
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    attempts BIGINT NOT NULL
);
CREATE INDEX login_codes_phone_idx ON login_codes (phone, created_at);
"#,
}, Migration {
    id: "accounts_0002_password_budgets",
    // The table now counts password checks per budget (taken before each check) instead of
    // failures with a separate lock; counts in the old shape are dropped.
    sql: r#"
DELETE FROM login_throttle;
ALTER TABLE login_throttle DROP COLUMN locked_until;
ALTER TABLE login_throttle RENAME COLUMN failures TO checks;
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
"#,
}];

/// The accounts capability's words (`crates/accounts/catalogue.toml`).
pub const CATALOGUE: &str = include_str!("../catalogue.toml");

/// The accounts capability.
pub fn manifest() -> Manifest {
    Manifest {
        migrations: MIGRATIONS,
        api: api::router,
        web: web::router,
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        personal_data: Some(|state, user_id| {
            Box::pin(async move {
                let p = kernel::auth::load_user(state, user_id).await?.ok_or(kernel::AppError::NotFound)?;
                Ok(serde_json::json!({
                    "user_id": user_id,
                    "display_name": p.display_name,
                    "phone": p.phone,
                    "locale": p.locale.tag(),
                    "elder_mode": p.elder_mode,
                    "memberships": p.memberships,
                }))
            })
        }),
        catalogue: CATALOGUE,
        doors: &[Door { role: "visitor", href: "/login", label: "nav.login", permission: None, rank: 20 }],
        ..Manifest::named("accounts")
    }
}
