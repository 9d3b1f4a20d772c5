//! What someone typed into a page form that arrived after their session lapsed. The form is not
//! acted on (nobody is logged in to answer for it): the fields it names are kept, encrypted,
//! for this browser only (a random token in an HttpOnly cookie, only its hash stored), for a
//! quarter of an hour, and the person goes to the login page and from there back to the page
//! the form was on, which takes the draft once and fills the form in again to be sent anew.
//!
//! A form opts in with `_keep=<field>,<field>` and `_back=<its page>` in its action's query
//! string; nothing else is ever kept (a password field is never named), and a form without them
//! is refused as before.

use crate::crypto::{hash_token, random_token};
use crate::error::AppResult;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::response::Response;

/// Drafts one network address may leave per window: nobody is logged in when a draft is kept,
/// so without a budget anyone could fill the table.
pub const KEPT_DRAFTS: crate::quota::Budget = crate::quota::Budget { name: "kept_draft", limit: 30, window_ms: TTL_MS };

/// The cookie holding the browser's draft token.
pub const DRAFT_COOKIE: &str = "linli_draft";
/// How long a draft is kept.
pub const TTL_MS: i64 = 15 * 60_000;
/// At most this many fields, each cut to this many characters.
const MAX_FIELDS: usize = 4;
const MAX_CHARS: usize = 2000;

/// A form as it was sent, to be filled in again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The path the form was sent to, e.g. `/console/cases/7/moves`.
    pub action: String,
    /// The kept fields, in the order sent.
    pub fields: Vec<(String, String)>,
}

impl Draft {
    /// The value of a kept field, or "".
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// The fields a form asks to keep and the page to come back to, if it asks (and the page is a
/// path on this site).
pub(crate) fn wanted(query: Option<&str>) -> Option<(Vec<String>, String)> {
    let pairs: Vec<(String, String)> = query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (crate::web::url_decode(k), crate::web::url_decode(v)))
        .collect();
    let find = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let keep: Vec<String> = find("_keep")?
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty() && !f.starts_with('_'))
        .take(MAX_FIELDS)
        .map(str::to_string)
        .collect();
    let back = find("_back")?;
    (!keep.is_empty() && crate::web::safe_next(Some(&back)) == back).then_some((keep, back))
}

/// Keeps the named fields of a lapsed form and sends the browser to log in, then back.
pub(crate) async fn keep(state: &AppState, req: Request, keep: Vec<String>, back: String) -> AppResult<Response> {
    let action = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    let from = crate::web::ClientIp::from_parts(&parts, &state.config.client_ip_header);
    crate::quota::spend(state, &KEPT_DRAFTS, &from.0).await?;
    let req = Request::from_parts(parts, body);
    let held = crate::web::cookie(req.headers(), DRAFT_COOKIE).map(str::to_string);
    // Files are not kept: a field name nobody uses takes none of them.
    let form = crate::web::page_form(req, "\u{0}", 0, 0, state.config.body_limit).await?;
    let fields: Vec<(String, String)> = form
        .fields
        .into_iter()
        .filter(|(k, _)| keep.contains(k))
        .map(|(k, v)| (k, v.chars().take(MAX_CHARS).collect()))
        .collect();
    let sealed = state.cipher.encrypt(&serde_json::to_string(&fields).unwrap_or_default());
    let now = state.now();
    let token = random_token(24);
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM form_drafts WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
    // A browser holds one draft: the one it sent before goes.
    if let Some(old) = held {
        sqlx::query("DELETE FROM form_drafts WHERE token_hash = $1").bind(hash_token(&old)).execute(&mut *tx).await?;
    }
    sqlx::query("INSERT INTO form_drafts (token_hash, back, action, fields, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash_token(&token))
        .bind(&back)
        .bind(&action)
        .bind(&sealed)
        .bind(now + TTL_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut res = crate::web::see_other(&format!("/login?next={}&kept=1", crate::web::url_encode(&back)));
    res.headers_mut().append(header::SET_COOKIE, crate::web::set_cookie(DRAFT_COOKIE, &token, TTL_MS / 1000, state.config.secure_cookies));
    Ok(res)
}

/// Takes (once) the draft this browser left for the page at `path`, if it has one in time.
/// The caller shows it only to someone who may use the page's forms.
pub async fn take(state: &AppState, headers: &HeaderMap, path: &str) -> AppResult<Option<Draft>> {
    let Some(token) = crate::web::cookie(headers, DRAFT_COOKIE) else { return Ok(None) };
    let key = hash_token(token);
    crate::row! {
        /// A kept draft: the form's action and its sealed fields.
        struct DraftRow {
            action: String,
            fields: String,
        }
    }
    let mut tx = state.db.begin_write().await?;
    let row: Option<DraftRow> = sqlx::query_as("SELECT action, fields FROM form_drafts WHERE token_hash = $1 AND back = $2 AND expires_at > $3")
        .bind(&key)
        .bind(path)
        .bind(state.now())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    sqlx::query("DELETE FROM form_drafts WHERE token_hash = $1").bind(&key).execute(&mut *tx).await?;
    tx.commit().await?;
    let fields = state
        .cipher
        .decrypt(&row.fields)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    Ok(Some(Draft { action: row.action, fields }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_forms_that_ask_keep_named_fields_and_come_back_to_this_site() {
        let (keep, back) = wanted(Some("_csrf=x&_keep=note,to&_back=%2Fconsole%2Fcases%2F7")).unwrap();
        assert_eq!(keep, ["note", "to"]);
        assert_eq!(back, "/console/cases/7");
        assert!(wanted(Some("_csrf=x")).is_none(), "a form that does not ask");
        assert!(wanted(Some("_keep=note&_back=%2F%2Fevil.example")).is_none(), "another site");
        assert!(wanted(Some("_keep=note&_back=https%3A%2F%2Fevil.example")).is_none());
        assert!(wanted(Some("_keep=_csrf&_back=%2F")).is_none(), "the token is never kept");
        assert!(wanted(None).is_none());
    }
}
