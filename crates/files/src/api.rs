//! Upload and download routes.

use crate::content::Kind;
use crate::service::{self, Blob};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::auth::{User, Viewer};
use kernel::web::ApiPath;
use kernel::{AppError, AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        // The configured upload limit is enforced while reading, below; this is only a ceiling.
        .route("/api/v1/files", post(upload).layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024)))
        .route("/api/v1/files/{token}", get(download))
        .route("/files/{token}", get(download))
}

/// Uploads a photo or document (multipart field `file`): JPEG, PNG, WebP, GIF or PDF,
/// recognised by content; it stays private to the uploader until a capability attaches it.
#[utoipa::path(post, path = "/api/v1/files", tag = "files",
    request_body(content_type = "multipart/form-data", description = "Field `file`"),
    responses((status = 201, body = Blob), (status = 413, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn upload(State(state): State<AppState>, user: User, mut multipart: Multipart) -> AppResult<(StatusCode, Json<Blob>)> {
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::bad_request("malformed_upload", e.body_text()))? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("file").to_string();
            let bytes = read_limited(field, state.config.upload_limit).await?;
            let blob = service::save(&state, &user, None, &name, &bytes, Kind::MATERIALS, "upload").await?;
            return Ok((StatusCode::CREATED, Json(blob)));
        }
    }
    Err(AppError::field("file", "required"))
}

/// Downloads a file: public files to anyone, private ones to their uploader.
#[utoipa::path(get, path = "/api/v1/files/{token}", tag = "files", params(("token" = String, Path)),
    responses((status = 200, description = "The file, with its content type"), (status = 404, body = kernel::web::ErrorBody)))]
async fn download(State(state): State<AppState>, viewer: Viewer, ApiPath(token): ApiPath<String>) -> AppResult<Response> {
    service::serve(&state, viewer.0.as_deref(), &token).await
}

/// Reads a multipart field, stopping with 413 as soon as it passes `limit` bytes.
pub async fn read_limited(mut field: axum::extract::multipart::Field<'_>, limit: usize) -> AppResult<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::bad_request("malformed_upload", e.body_text()),
    })? {
        if buf.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, download))]
pub(crate) struct Doc;
