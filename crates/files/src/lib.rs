//! Files: one blob store for every upload (photos, materials, certificates) — a local
//! directory by default, S3-compatible storage when several nodes serve one deployment.

pub mod api;
pub mod content;
pub mod picture;
pub mod service;
pub mod store;

pub use content::Kind;

use kernel::db::Migration;
use kernel::manifest::Manifest;

const MIGRATIONS: &[Migration] = &[Migration {
    id: "files_0001_blobs",
    sql: r#"
CREATE TABLE blobs (
    id {id},
    token TEXT NOT NULL UNIQUE,
    content_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    original_name TEXT NOT NULL,
    community_id BIGINT REFERENCES communities (id) ON DELETE SET NULL,
    uploaded_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    public BIGINT NOT NULL CHECK (public IN (0, 1)),
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX blobs_content_idx ON blobs (content_key);
"#,
}];

/// The files capability.
pub fn manifest() -> Manifest {
    Manifest {
        migrations: MIGRATIONS,
        api: api::router,
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        personal_data: Some(|state, user_id| {
            Box::pin(async move {
                kernel::row! {
                    /// A file the person uploaded, as their data export lists it.
                    struct Upload {
                        original_name: String,
                        content_type: String,
                        size: i64,
                        created_at: i64,
                    }
                }
                let rows: Vec<Upload> = sqlx::query_as(
                    "SELECT original_name, content_type, size, created_at FROM blobs WHERE uploaded_by = $1 ORDER BY id",
                )
                .bind(user_id)
                .fetch_all(&state.db.pool)
                .await?;
                Ok(serde_json::json!(rows
                    .into_iter()
                    .map(|u| serde_json::json!({"name": u.original_name, "content_type": u.content_type, "size": u.size, "uploaded_at": u.created_at}))
                    .collect::<Vec<_>>()))
            })
        }),
        settings: Some(kernel::config::loader::<service::Settings>),
        ..Manifest::named("files")
    }
}
