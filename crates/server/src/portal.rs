//! The resident home page and the personal-data download, which span every capability.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::auth::User;
use kernel::manifest::Tile;
use kernel::web::{render, PageCtx};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/me/data", get(download_page_data))
        .route("/api/v1/me/data", get(my_data))
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    ctx: PageCtx,
    tiles: Vec<Tile>,
    unread: i64,
    /// Back from a report that was filed already (an anonymous one's private link was shown once).
    filed: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
struct HomeQuery {
    filed: Option<String>,
}

async fn home(State(state): State<AppState>, ctx: PageCtx, kernel::web::ApiQuery(q): kernel::web::ApiQuery<HomeQuery>) -> AppResult<Response> {
    let tiles: Vec<Tile> = crate::app::manifests().iter().flat_map(|m| m.tiles.iter().copied()).collect();
    let unread = match ctx.user.as_ref().and_then(|u| u.user_id) {
        Some(uid) => notify::service::unread_count(&state, uid).await?,
        None => 0,
    };
    Ok(render(&Home { ctx, tiles, unread, filed: q.filed.is_some() }))
}

/// Everything the platform holds about me, as JSON.
#[utoipa::path(get, path = "/api/v1/me/data", tag = "accounts",
    responses((status = 200, description = "All personal data, grouped by capability", body = serde_json::Value),
              (status = 401, body = kernel::web::ErrorBody)))]
async fn my_data(State(state): State<AppState>, user: User) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(crate::app::personal_data(&state, user.person()?).await?))
}

async fn download_page_data(State(state): State<AppState>, user: User) -> AppResult<Response> {
    let data = crate::app::personal_data(&state, user.person()?).await?;
    let body = serde_json::to_string_pretty(&data).map_err(kernel::AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"linli-my-data.json\""),
        ],
        body,
    )
        .into_response())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(my_data))]
pub(crate) struct Doc;
