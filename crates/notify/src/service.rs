//! The outbox: every message the platform sends is written here in the caller's transaction,
//! then delivered by a job with retries. Inbox messages land at once.

use kernel::auth::UserId;
use crate::domain::{render, scrub, Channel, Message};
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::i18n::Locale;
use kernel::state::AppState;
use serde::Serialize;
use sqlx::Row;

/// Job kind that delivers one outbox message.
pub const DELIVER_JOB: &str = "notify.deliver";

/// Queues `msg` inside `tx`. A message whose idempotency key was already queued is not queued
/// again; the existing id is returned.
pub async fn send(tx: &mut WriteTx, now: i64, msg: &Message) -> AppResult<i64> {
    if msg.channel == Channel::Inbox && msg.user_id.is_none() {
        return Err(AppError::internal("inbox message without user"));
    }
    if let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM outbox WHERE idempotency_key = $1")
        .bind(&msg.idempotency_key)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(id);
    }
    let params: serde_json::Map<String, serde_json::Value> =
        msg.params.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
    let delivered = msg.channel == Channel::Inbox;
    // An inbox message is delivered as it is queued, so its secrets are never stored.
    let (params, link) = if delivered && !msg.secret_params.is_empty() {
        (scrub(&params, msg.secret_params), None)
    } else {
        (params, msg.link.as_deref())
    };
    // A concurrent transaction may queue the same key between the check above and this insert;
    // then its row wins and this one is not queued again.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO outbox (community_id, user_id, channel, recipient, template, params, secret_params, link, locale, idempotency_key, state, attempts, created_at, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(msg.community_id)
    .bind(msg.user_id)
    .bind(msg.channel.code())
    .bind(&msg.to)
    .bind(msg.template)
    .bind(serde_json::Value::Object(params).to_string())
    .bind(msg.secret_params.join(","))
    .bind(link)
    .bind(msg.locale.tag())
    .bind(&msg.idempotency_key)
    .bind(if delivered { "sent" } else { "pending" })
    .bind(now)
    .bind(delivered.then_some(now))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = inserted else {
        return Ok(sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(&msg.idempotency_key)
            .fetch_one(&mut **tx)
            .await?);
    };
    if msg.channel == Channel::Inbox {
        let params: Vec<(String, String)> = msg.params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let (title, body) = render(msg.template, Channel::Inbox, msg.locale, &params);
        sqlx::query("INSERT INTO inbox (user_id, outbox_id, title, body, link, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(msg.user_id)
            .bind(id)
            .bind(title)
            .bind(body)
            .bind(&msg.link)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        tx.forget_after_commit(UNREAD, msg.user_id.map(UserId::get));
    } else {
        kernel::jobs::enqueue(tx, DELIVER_JOB, &serde_json::json!({"outbox_id": id}), now, now).await?;
    }
    Ok(id)
}

/// Marks the inbox messages whose idempotency key starts with `key_prefix` as answered, with
/// `outcome` (a code with words under `msg.<template>.outcome.`), in the caller's transaction.
pub async fn settle(tx: &mut WriteTx, key_prefix: &str, outcome: &str) -> AppResult<()> {
    let pattern = format!("{}%", key_prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    sqlx::query("UPDATE inbox SET outcome = $1 WHERE outbox_id IN (SELECT id FROM outbox WHERE idempotency_key LIKE $2 ESCAPE '\\')")
        .bind(outcome)
        .bind(pattern)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One inbox entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Link to what it is about.
    pub link: Option<String>,
    /// When it arrived (epoch ms).
    pub created_at: i64,
    /// When it was read (epoch ms), if read.
    pub read_at: Option<i64>,
    /// The kind of message (its template), which names its link in words.
    #[serde(skip)]
    pub template: Option<String>,
    /// What came of a message that asked for an answer, once answered (a code).
    #[serde(skip)]
    pub outcome: Option<String>,
}

impl InboxItem {
    /// Catalogue key of what came of it (`msg.<template>.outcome.<code>`), once answered: the
    /// message then offers no link to answer it.
    pub fn outcome_key(&self) -> Option<String> {
        Some(format!("msg.{}.outcome.{}", self.template.as_deref()?, self.outcome.as_deref()?))
    }
    /// The link, when it is a path on this site (the only kind a message is given).
    pub fn local_link(&self) -> Option<&str> {
        self.link.as_deref().filter(|l| kernel::web::safe_next(Some(l)) == *l)
    }
}

fn inbox_item(r: sqlx::any::AnyRow) -> InboxItem {
    InboxItem {
        id: r.get("id"),
        title: r.get("title"),
        body: r.get("body"),
        link: r.get("link"),
        created_at: r.get("created_at"),
        read_at: r.get("read_at"),
        template: r.get("template"),
        outcome: r.get("outcome"),
    }
}

const INBOX_COLUMNS: &str = "SELECT i.id, i.title, i.body, i.link, i.created_at, i.read_at, i.outcome, o.template FROM inbox i LEFT JOIN outbox o ON o.id = i.outbox_id";

/// A page of a user's inbox, newest first.
pub async fn inbox(state: &AppState, user_id: UserId, after: Option<i64>, limit: i64) -> AppResult<Vec<InboxItem>> {
    let rows = sqlx::query(&format!("{INBOX_COLUMNS} WHERE i.user_id = $1 AND i.id < $2 ORDER BY i.id DESC LIMIT $3"))
        .bind(user_id)
        .bind(after.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.into_iter().map(inbox_item).collect())
}

/// Opens one of the user's messages: it is read from now on. Someone else's is not found.
pub async fn open(state: &AppState, user_id: UserId, id: i64) -> AppResult<InboxItem> {
    mark_read(state, user_id, Some(id)).await?;
    let row = sqlx::query(&format!("{INBOX_COLUMNS} WHERE i.id = $1 AND i.user_id = $2"))
        .bind(id)
        .bind(user_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(inbox_item(row))
}

const UNREAD: &str = "notify.unread";

/// Unread count for a user (shown on every home page, so cached briefly).
pub async fn unread_count(state: &AppState, user_id: UserId) -> AppResult<i64> {
    if let Some(n) = state.db.reads.get::<i64>(UNREAD, user_id) {
        return Ok(*n);
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await?;
    state.db.reads.put(UNREAD, user_id, std::sync::Arc::new(n));
    Ok(n)
}

/// Marks one of the user's messages read (or all when `id` is `None`).
pub async fn mark_read(state: &AppState, user_id: UserId, id: Option<i64>) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    let done = match id {
        Some(id) => sqlx::query("UPDATE inbox SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL")
            .bind(state.now())
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        None => sqlx::query("UPDATE inbox SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(state.now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
    };
    if let Some(id) = id {
        if done == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM inbox WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            exists.ok_or(AppError::NotFound)?;
        }
    }
    tx.forget_after_commit(UNREAD, Some(user_id.get()));
    tx.commit().await
}

/// One outbox row as administrators see it (recipient masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    /// Id.
    pub id: i64,
    /// `inbox`, `sms` or `email`.
    pub channel: String,
    /// Masked recipient.
    pub recipient: String,
    /// The user the message went to, when it went to an account (for the page's names).
    #[serde(skip)]
    pub user_id: Option<UserId>,
    /// Template name.
    pub template: String,
    /// `pending`, `sent`, `failed` (will retry) or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// Queued at (epoch ms).
    pub created_at: i64,
}

/// Outbox rows in a state, newest first (the dead-letter view), of `communities` only when given
/// (messages about no community, such as login codes, are then left out).
pub async fn outbox_by_state(
    state: &AppState,
    st: &str,
    communities: Option<&[kernel::community::CommunityId]>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<OutboxEntry>> {
    if !matches!(st, "pending" | "sent" | "failed" | "dead") {
        return Err(AppError::field("state", "invalid_choice"));
    }
    kernel::row! {
        /// An outbox message as stored, its recipient not yet masked.
        struct OutboxRow {
            id: i64,
            channel: String,
            recipient: String,
            template: String,
            state: String,
            attempts: i64,
            last_error: Option<String>,
            created_at: i64,
            user_id: Option<UserId>,
        }
    }
    let scope = kernel::db::and_in("community_id", communities);
    let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
        "SELECT id, channel, recipient, template, state, attempts, last_error, created_at, user_id FROM outbox \
         WHERE state = $1 AND id < $2{scope} ORDER BY id DESC LIMIT $3"
    ))
    .bind(st)
    .bind(after.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OutboxEntry {
            id: r.id,
            channel: r.channel,
            recipient: if r.recipient.contains('@') { mask_email(&r.recipient) } else { kernel::crypto::mask_phone(&r.recipient) },
            user_id: r.user_id,
            template: r.template,
            state: r.state,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
        })
        .collect())
}

fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// Delivers one queued message; called by the job. Already-sent messages are skipped, so a
/// job that runs twice sends once.
pub async fn deliver(state: &AppState, outbox_id: i64, last_attempt: bool) -> Result<(), String> {
    kernel::row! {
        /// A queued message as the job delivers it.
        struct QueuedRow {
            channel: String,
            recipient: String,
            template: String,
            params: String,
            locale: String,
            idempotency_key: String,
            state: String,
            secret_params: String,
        }
    }
    let row: QueuedRow =
        sqlx::query_as("SELECT channel, recipient, template, params, locale, idempotency_key, state, secret_params FROM outbox WHERE id = $1")
            .bind(outbox_id)
            .fetch_optional(&state.db.pool)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("outbox {outbox_id} not found"))?;
    if row.state == "sent" {
        return Ok(());
    }
    let channel = Channel::parse(&row.channel).ok_or("unknown channel")?;
    let recipient = row.recipient;
    let template = row.template;
    let stored: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&row.params).map_err(|e| e.to_string())?;
    let params: Vec<(String, String)> =
        stored.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
    let locale = Locale::parse(&row.locale).unwrap_or_default();
    let key = row.idempotency_key;
    let secret = row.secret_params;
    let secret: Vec<&str> = secret.split(',').filter(|s| !s.is_empty()).collect();
    let (title, body) = render(&template, channel, locale, &params);
    let outcome = match channel {
        Channel::Sms => {
            let sign = kernel::i18n::t(locale, "msg.sms_signature");
            crate::delivery::send_sms(state.settings::<crate::Settings>(), &recipient, &format!("{sign}{body}"), &key).await
        }
        Channel::Email => crate::delivery::send_email(state.settings::<crate::Settings>(), &recipient, &title, &body, &key, state.now()).await,
        Channel::Inbox => Ok(()),
    };
    let now = state.now();
    // Secrets are needed until the last attempt; after it they could only leak.
    let done = outcome.is_ok() || last_attempt;
    let scrubbed = (done && !secret.is_empty()).then(|| serde_json::Value::Object(scrub(&stored, &secret)).to_string());
    let record = async {
        let mut tx = state.db.begin_write().await?;
        match &outcome {
            Ok(()) => {
                sqlx::query("UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
                    .bind(now)
                    .bind(outbox_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(e) => {
                sqlx::query("UPDATE outbox SET state = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3")
                    .bind(if last_attempt { "dead" } else { "failed" })
                    .bind(e.to_string())
                    .bind(outbox_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(params) = &scrubbed {
            sqlx::query("UPDATE outbox SET params = $1, link = NULL WHERE id = $2")
                .bind(params)
                .bind(outbox_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    };
    record.await.map_err(|e: AppError| e.to_string())?;
    outcome.map_err(|e| e.to_string())
}

/// Purges messages delivered before `before` (epoch ms): the person has them in their inbox
/// or on their phone, and the row is only kept to answer retries of the same key. Failed and
/// dead messages stay for the operator.
pub async fn purge_delivered(state: &AppState, before: i64) -> AppResult<u64> {
    let mut tx = state.db.begin_write().await?;
    let gone = sqlx::query("DELETE FROM outbox WHERE state = 'sent' AND sent_at < $1").bind(before).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(gone)
}
