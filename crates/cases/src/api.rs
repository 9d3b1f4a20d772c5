//! JSON API of the needs express. So far: triage of a report's text.

use axum::routing::post;
use axum::{Json, Router};
use kernel::web::ApiJson;
use kernel::{AppResult, AppState};
use serde::Deserialize;
use triage::Triage;

/// Longest text triage accepts.
pub const MAX_TEXT: usize = 2000;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/triage", post(classify))
}

/// A report's text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TriageRequest {
    /// What the resident wrote (Chinese or English).
    pub text: String,
}

/// Classifies a report into an urgency and a category and names the words that decided it.
/// Open to everyone: the intake form shows it before a case is submitted.
#[utoipa::path(post, path = "/api/v1/triage", tag = "cases", request_body = TriageRequest,
    responses((status = 200, body = Triage), (status = 422, body = kernel::web::ErrorBody)))]
async fn classify(ApiJson(body): ApiJson<TriageRequest>) -> AppResult<Json<Triage>> {
    let text = kernel::validate::required("text", &body.text, MAX_TEXT)?;
    Ok(Json(triage::classify(text)))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(classify))]
pub(crate) struct Doc;
