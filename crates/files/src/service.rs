//! Uploads: checked by their bytes and size, stored once per content, recorded with who
//! uploaded them, and served with the right type and never as something executable.

use kernel::community::CommunityId;
use crate::content::{sniff, Kind};
use crate::store::{content_key, BlobStore, S3Settings};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kernel::auth::Principal;
use kernel::error::{AppError, AppResult, FieldError};
use kernel::state::AppState;
use serde::Serialize;

/// The files section of the configuration (`[files]`, `LINLI_FILES_*`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// S3-compatible endpoint for uploads; empty keeps them in `<data_dir>/blobs`.
    pub s3_endpoint: String,
    /// Bucket for uploads.
    pub s3_bucket: String,
    /// Region used in S3 signatures.
    pub s3_region: String,
    /// S3 access key id.
    pub s3_access_key: String,
    /// S3 secret key.
    pub s3_secret_key: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            s3_endpoint: String::new(),
            s3_bucket: "linli".into(),
            s3_region: "us-east-1".into(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
        }
    }
}

impl kernel::config::Section for Settings {
    const NAME: &'static str = "files";
    fn check(&self) -> Result<(), String> {
        if self.s3_endpoint.is_empty() {
            if !self.s3_access_key.is_empty() || !self.s3_secret_key.is_empty() {
                return Err("s3_access_key is set but s3_endpoint is empty: uploads would stay in the data directory".into());
            }
            return Ok(());
        }
        if !(self.s3_endpoint.starts_with("http://") || self.s3_endpoint.starts_with("https://")) {
            return Err(format!("s3_endpoint: {:?} is not an http:// or https:// address", self.s3_endpoint));
        }
        Ok(())
    }
}

/// The configured store: S3-compatible when `s3_endpoint` is set, else `<data_dir>/blobs`.
pub fn store_for(data_dir: &std::path::Path, settings: &Settings) -> BlobStore {
    if settings.s3_endpoint.is_empty() {
        BlobStore::Local(data_dir.join("blobs"))
    } else {
        BlobStore::S3(S3Settings {
            endpoint: settings.s3_endpoint.clone(),
            bucket: settings.s3_bucket.clone(),
            region: settings.s3_region.clone(),
            access_key: settings.s3_access_key.clone(),
            secret_key: settings.s3_secret_key.clone(),
        })
    }
}

/// The application's store.
pub fn store(state: &AppState) -> BlobStore {
    store_for(&state.config.data_dir, state.settings::<Settings>())
}

/// A stored upload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Blob {
    /// Id.
    pub id: i64,
    /// Unguessable token used in its URL.
    pub token: String,
    /// MIME type, decided from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The name it was uploaded with (for display only).
    pub original_name: String,
    /// Where to fetch it.
    pub url: String,
}

fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>')).take(100).collect();
    if cleaned.trim().is_empty() { "file".into() } else { cleaned }
}

/// Checks and stores an upload. `allowed` says which kinds this use accepts.
pub async fn save(
    state: &AppState,
    uploader: &Principal,
    community_id: Option<CommunityId>,
    name: &str,
    bytes: &[u8],
    allowed: &[Kind],
    purpose: &str,
) -> AppResult<Blob> {
    if bytes.is_empty() {
        return Err(AppError::field("file", "required"));
    }
    if bytes.len() > state.config.upload_limit {
        return Err(AppError::PayloadTooLarge);
    }
    let kind = sniff(bytes).filter(|k| allowed.contains(k)).ok_or_else(|| {
        let names: Vec<&str> = allowed.iter().map(|k| k.extension()).collect();
        AppError::Validation(vec![FieldError::new("file", "file_type").arg("types", names.join(", "))])
    })?;
    let key = put_bytes(state, bytes).await?;
    let mut tx = state.db.begin_write().await?;
    let blob = insert(&mut tx, state.now(), &NewBlob { key: &key, kind, size: bytes.len(), name, community_id, uploaded_by: uploader.user_id, purpose }).await?;
    tx.commit().await?;
    Ok(blob)
}

/// Puts bytes in the store and returns their content key. The bytes go to the store before
/// any row is written; a crash in between leaves an unreferenced blob, never a row without bytes.
pub async fn put_bytes(state: &AppState, bytes: &[u8]) -> AppResult<String> {
    let key = content_key(bytes);
    store(state).put(&key, bytes).await.map_err(AppError::internal)?;
    Ok(key)
}

/// A blob row to write for bytes already in the store.
#[derive(Clone, Copy)]
pub struct NewBlob<'a> {
    /// Content key from [`put_bytes`].
    pub key: &'a str,
    /// What the bytes are.
    pub kind: Kind,
    /// Size in bytes.
    pub size: usize,
    /// The name it came with.
    pub name: &'a str,
    /// Community it belongs to.
    pub community_id: Option<CommunityId>,
    /// Who uploaded it (`None` when that must not be recorded, e.g. for an anonymous report).
    pub uploaded_by: Option<kernel::auth::UserId>,
    /// What it is for.
    pub purpose: &'a str,
}

/// Records a private blob in the caller's transaction.
pub async fn insert(tx: &mut kernel::db::WriteTx, now: i64, b: &NewBlob<'_>) -> AppResult<Blob> {
    let token = kernel::crypto::random_token(18);
    let name = clean_name(b.name);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO blobs (token, content_key, content_type, size, original_name, community_id, uploaded_by, public, purpose, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) RETURNING id",
    )
    .bind(&token)
    .bind(b.key)
    .bind(b.kind.mime())
    .bind(b.size as i64)
    .bind(&name)
    .bind(b.community_id)
    .bind(b.uploaded_by)
    .bind(b.purpose)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Blob { id, url: format!("/files/{token}"), token, content_type: b.kind.mime().into(), size: b.size as i64, original_name: name })
}

/// Serves a blob by id to a reader a capability has already checked, with `cache_control` (a
/// capability whose files can be withdrawn or redacted must not let caches keep them).
pub async fn respond(state: &AppState, blob_id: i64, cache_control: &'static str) -> AppResult<Response> {
    let blob: StoredBlob = sqlx::query_as("SELECT content_key, content_type, original_name FROM blobs WHERE id = $1")
        .bind(blob_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    deliver(state, blob, cache_control).await
}

/// The bytes of a blob, by id.
pub async fn bytes(state: &AppState, blob_id: i64) -> AppResult<Vec<u8>> {
    let key: String = sqlx::query_scalar("SELECT content_key FROM blobs WHERE id = $1")
        .bind(blob_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    store(state).get(&key).await.map_err(AppError::internal)?.ok_or(AppError::NotFound)
}

/// Marks a blob public (for example a redacted photo on the public ledger).
pub async fn publish(state: &AppState, blob_id: i64) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE blobs SET public = 1 WHERE id = $1").bind(blob_id).execute(&mut *tx).await?;
    tx.commit().await
}

/// Serves a blob by token: public ones to anyone, private ones to their uploader and to
/// deployment administrators. Capabilities serve attached files through their own checks.
pub async fn serve(state: &AppState, viewer: Option<&Principal>, token: &str) -> AppResult<Response> {
    if token.len() > 64 {
        return Err(AppError::NotFound);
    }
    kernel::row! {
        /// A blob with who may see it.
        struct SharedBlob {
            content_key: String,
            content_type: String,
            original_name: String,
            public: i64,
            uploaded_by: Option<kernel::auth::UserId>,
        }
    }
    let row: SharedBlob = sqlx::query_as("SELECT content_key, content_type, original_name, public, uploaded_by FROM blobs WHERE token = $1")
        .bind(token)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let public = row.public != 0;
    let allowed = public || viewer.is_some_and(|v| v.superadmin || (v.user_id.is_some() && v.user_id == row.uploaded_by));
    if !allowed {
        // Not revealing that a private file exists.
        return Err(AppError::NotFound);
    }
    let blob = StoredBlob { content_key: row.content_key, content_type: row.content_type, original_name: row.original_name };
    deliver(state, blob, if public { "public, max-age=86400" } else { "private, max-age=3600" }).await
}

kernel::row! {
    /// What serving a blob needs: where its bytes are, their type and the name to give them.
    struct StoredBlob {
        content_key: String,
        content_type: String,
        original_name: String,
    }
}

async fn deliver(state: &AppState, blob: StoredBlob, cache_control: &'static str) -> AppResult<Response> {
    let bytes = store(state).get(&blob.content_key).await.map_err(AppError::internal)?.ok_or(AppError::NotFound)?;
    let kind = Kind::from_mime(&blob.content_type).ok_or_else(|| AppError::internal("stored blob with unknown type"))?;
    let disposition =
        format!("inline; filename=\"file.{}\"; filename*=UTF-8''{}", kind.extension(), kernel::web::url_encode(&blob.original_name));
    Ok((
        [
            (header::CONTENT_TYPE, kind.mime().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            // Even if a browser were tricked into rendering it as a page, nothing could run.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_string()),
            (header::CACHE_CONTROL, cache_control.to_string()),
        ],
        bytes,
    )
        .into_response())
}
