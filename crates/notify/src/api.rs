//! JSON API of the inbox and the outbox.

use crate::service::{self, InboxItem, OutboxEntry};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::auth::{Permission, Role, User};
use kernel::web::{ApiPath, ApiQuery, Page, PageQuery};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

/// Reading the outbox and its dead letters.
pub const OUTBOX_READ: Permission = Permission { name: "notify.outbox.read", roles: &[Role::Admin] };

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/notifications", get(list))
        .route("/api/v1/me/notifications/{id}/read", post(read_one))
        .route("/api/v1/me/notifications/read-all", post(read_all))
        .route("/api/v1/admin/outbox", get(outbox))
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications", params(PageQuery),
    responses((status = 200, body = Page<InboxItem>), (status = 401, body = kernel::web::ErrorBody)))]
async fn list(state: axum::extract::State<AppState>, user: User, ApiQuery(q): ApiQuery<PageQuery>) -> AppResult<Json<Page<InboxItem>>> {
    let limit = q.limit()?;
    let rows = service::inbox(&state, user.person()?, q.after()?, limit).await?;
    Ok(Json(Page::from_rows(rows, limit, |r| r.id)))
}

/// Marks one notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 204), (status = 404, body = kernel::web::ErrorBody)))]
async fn read_one(state: axum::extract::State<AppState>, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<axum::http::StatusCode> {
    service::mark_read(&state, user.person()?, Some(id)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Marks every notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "notifications",
    responses((status = 204), (status = 401, body = kernel::web::ErrorBody)))]
async fn read_all(state: axum::extract::State<AppState>, user: User) -> AppResult<axum::http::StatusCode> {
    service::mark_read(&state, user.person()?, None).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OutboxQuery {
    /// `pending`, `sent`, `failed` or `dead` (default `dead`).
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Outbox messages by delivery state (administrators see their communities' messages; `dead` is the
/// dead-letter queue).
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "notifications", params(OutboxQuery),
    responses((status = 200, body = Page<OutboxEntry>), (status = 403, body = kernel::web::ErrorBody)))]
async fn outbox(state: axum::extract::State<AppState>, user: User, ApiQuery(q): ApiQuery<OutboxQuery>) -> AppResult<Json<Page<OutboxEntry>>> {
    let scope = outbox_scope(&user)?;
    let page = PageQuery { cursor: q.cursor, limit: q.limit };
    let limit = page.limit()?;
    let rows = service::outbox_by_state(&state, q.state.as_deref().unwrap_or("dead"), scope.as_deref(), page.after()?, limit).await?;
    Ok(Json(Page::from_rows(rows, limit, |r| r.id)))
}

/// The communities whose outbox the viewer may read: `None` for deployment administrators
/// (everything), the communities they administer otherwise; Forbidden for everyone else.
pub(crate) fn outbox_scope(user: &kernel::auth::Principal) -> AppResult<Option<Vec<kernel::community::CommunityId>>> {
    if user.superadmin {
        return Ok(None);
    }
    let communities: Vec<kernel::community::CommunityId> =
        user.memberships.iter().filter(|m| OUTBOX_READ.roles.contains(&m.role)).map(|m| m.community_id).collect();
    if communities.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(Some(communities))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, read_one, read_all, outbox))]
pub(crate) struct Doc;
