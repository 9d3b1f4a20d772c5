//! The inbox page.

use crate::service::{self, InboxItem};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::User;
use kernel::clock::format_local;
use kernel::web::{render, see_other, ApiQuery, PageCtx, PageQuery};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(inbox_page))
        .route("/me/notifications/read-all", post(read_all))
}

#[derive(Template)]
#[template(path = "notify/inbox.html")]
struct InboxPage {
    ctx: PageCtx,
    items: Vec<InboxItem>,
    unread: i64,
    next_cursor: Option<String>,
}

impl InboxPage {
    fn when(&self, ms: &i64) -> String {
        format_local(*ms)
    }
}

async fn inbox_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiQuery(q): ApiQuery<PageQuery>) -> AppResult<Response> {
    let uid = user.person()?;
    let limit = 30;
    let page = kernel::web::Page::from_rows(service::inbox(&state, uid, q.after()?, limit).await?, limit, |r| r.id);
    let unread = service::unread_count(&state, uid).await?;
    Ok(render(&InboxPage { ctx, items: page.items, unread, next_cursor: page.next_cursor }))
}

async fn read_all(State(state): State<AppState>, user: User) -> AppResult<Response> {
    service::mark_read(&state, user.person()?, None).await?;
    Ok(see_other("/me/notifications"))
}
