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
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        // The configured upload limit is enforced while reading, below; this is only a ceiling.
        .route("/api/v1/files", post(upload).layer(axum::extract::DefaultBodyLimit::max(kernel::web::UPLOAD_CEILING)))
        .route("/api/v1/files/{token}", get(download))
        .route("/files/{token}", get(download))
}

/// Uploads a photo or document (multipart field `file`): JPEG, PNG, WebP, GIF or PDF,
/// recognised by content; it stays private to the uploader until a capability attaches it.
#[utoipa::path(post, path = "/api/v1/files", tag = "files",
    request_body(content_type = "multipart/form-data", description = "Field `file`"),
    responses((status = 201, body = Blob), (status = 413, body = kernel::web::ErrorBody), (status = 422, body = kernel::web::ErrorBody)))]
async fn upload(State(state): State<AppState>, user: User, multipart: Multipart) -> AppResult<(StatusCode, Json<Blob>)> {
    let file = kernel::web::multipart_file(multipart, state.config.upload_limit).await?;
    let blob = service::save(&state, &user, None, &file.name, &file.bytes, Kind::MATERIALS, "upload").await?;
    Ok((StatusCode::CREATED, Json(blob)))
}

/// Downloads a file: public files to anyone, private ones to their uploader.
#[utoipa::path(get, path = "/api/v1/files/{token}", tag = "files", params(("token" = String, Path)),
    responses((status = 200, description = "The file, with its content type"), (status = 404, body = kernel::web::ErrorBody)))]
async fn download(State(state): State<AppState>, viewer: Viewer, ApiPath(token): ApiPath<String>) -> AppResult<Response> {
    service::serve(&state, viewer.0.as_deref(), &token).await
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, download))]
pub(crate) struct Doc;
