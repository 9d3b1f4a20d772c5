//! The inbox, one message opened, and the administrators' outbox page.

use crate::domain::{action_key, explain, kind_key};
use crate::service::{self, InboxItem};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::User;
use kernel::web::{render, see_other, ApiPath, ApiQuery, PageCtx, PageQuery};
use kernel::{AppResult, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(inbox_page))
        .route("/me/notifications/read-all", post(read_all))
        .route("/me/notifications/{id}", get(message_page))
        .route("/me/notifications/{id}/open", get(open_link))
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

/// The words of a message's link.
fn action(ctx: &PageCtx, item: &InboxItem) -> String {
    ctx.tr.t(&action_key(item.template.as_deref())).to_string()
}

impl InboxPage {
    fn action(&self, item: &InboxItem) -> String {
        action(&self.ctx, item)
    }
}

#[derive(Template)]
#[template(path = "notify/message.html")]
struct MessagePage {
    ctx: PageCtx,
    item: InboxItem,
    action: String,
}

/// One message, opened: from now on it is read.
async fn message_page(State(state): State<AppState>, ctx: PageCtx, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let item = service::open(&state, user.person()?, id).await?;
    let action = action(&ctx, &item);
    Ok(render(&MessagePage { ctx, item, action }))
}

/// Follows a message's link from the inbox, marking it read on the way.
async fn open_link(State(state): State<AppState>, user: User, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let item = service::open(&state, user.person()?, id).await?;
    Ok(match item.local_link() {
        Some(link) => see_other(link),
        None => see_other(&format!("/me/notifications/{id}")),
    })
}

#[derive(Template)]
#[template(path = "notify/outbox.html")]
struct OutboxPage {
    ctx: PageCtx,
    state: String,
    entries: Vec<OutboxRow>,
    next_cursor: Option<String>,
}

/// One outbox row in words.
struct OutboxRow {
    created_at: i64,
    channel: String,
    recipient: String,
    kind: String,
    attempts: i64,
    /// Why the last attempt failed, and what the other side said.
    failure: Option<(String, String)>,
}

impl OutboxRow {
    /// `names`: display names of the users the rows went to. An in-app message is named by its
    /// recipient's name; a text or e-mail by the name and the masked address.
    fn new(ctx: &PageCtx, e: crate::service::OutboxEntry, names: &std::collections::HashMap<kernel::auth::UserId, String>) -> Self {
        let name = e.user_id.and_then(|id| names.get(&id));
        let recipient = match name {
            Some(n) if e.channel == crate::Channel::Inbox.code() => n.clone(),
            Some(n) => kernel::i18n::tf(ctx.tr.0, "notify.recipient_named", &[("name", n.clone()), ("address", e.recipient)]),
            None if e.channel == crate::Channel::Inbox.code() => ctx.tr.t("notify.recipient_gone").to_string(),
            None => e.recipient,
        };
        OutboxRow {
            created_at: e.created_at,
            channel: ctx.label("notify.channel", &e.channel),
            recipient,
            kind: ctx.tr.t(&kind_key(&e.template)).to_string(),
            attempts: e.attempts,
            failure: e.last_error.as_deref().map(|err| {
                let (key, detail) = explain(err);
                (ctx.tr.t(&key).to_string(), detail)
            }),
        }
    }
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
    let mut ids: Vec<kernel::auth::UserId> = page.items.iter().filter_map(|e| e.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = kernel::auth::display_names(&state, &ids).await?;
    let entries = page.items.into_iter().map(|e| OutboxRow::new(&ctx, e, &names)).collect();
    Ok(render(&OutboxPage { ctx, state: st, entries, next_cursor: page.next_cursor }))
}

async fn read_all(State(state): State<AppState>, user: User) -> AppResult<Response> {
    service::mark_read(&state, user.person()?, None).await?;
    Ok(see_other("/me/notifications"))
}
