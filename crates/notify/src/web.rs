//! The inbox page.

use crate::service::{self, InboxItem};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::User;
use kernel::web::{render, see_other, ApiQuery, PageCtx, PageQuery};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(inbox_page))
        .route("/me/notifications/read-all", post(read_all))
        .route("/console/outbox", get(outbox_page))
}

#[derive(Template)]
#[template(path = "notify/inbox.html")]
struct InboxPage {
    ctx: PageCtx,
    items: Vec<InboxItem>,
    unread: i64,
    next_cursor: Option<String>,
}


async fn inbox_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<PageQuery>) -> AppResult<Response> {
    let uid = user.person()?;
    let limit = 30;
    let page = kernel::web::Page::from_rows(service::inbox(&state, uid, q.after()?, limit).await?, limit, |r| r.id);
    let unread = service::unread_count(&state, uid).await?;
    Ok(render(&InboxPage { ctx, items: page.items, unread, next_cursor: page.next_cursor }))
}

#[derive(Template)]
#[template(path = "notify/outbox.html")]
struct OutboxPage {
    ctx: PageCtx,
    state: String,
    entries: Vec<crate::service::OutboxEntry>,
    next_cursor: Option<String>,
}

impl OutboxPage {
    fn is_state(&self, s: &str) -> bool {
        self.state == s
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    cursor: Option<String>,
}

/// Administrators' view of messages by delivery state; `dead` letters first.
async fn outbox_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<OutboxQuery>) -> AppResult<Response> {
    let scope = crate::api::outbox_scope(&user)?;
    let st = q.state.unwrap_or_else(|| "dead".into());
    let page = PageQuery { cursor: q.cursor, limit: Some(50) };
    let rows = service::outbox_by_state(&state, &st, scope.as_deref(), page.after()?, 50).await?;
    let page = kernel::web::Page::from_rows(rows, 50, |r| r.id);
    Ok(render(&OutboxPage { ctx, state: st, entries: page.items, next_cursor: page.next_cursor }))
}

async fn read_all(State(state): State<AppState>, user: User) -> AppResult<Response> {
    service::mark_read(&state, user.person()?, None).await?;
    Ok(see_other("/me/notifications"))
}
