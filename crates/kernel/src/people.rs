//! The kernel's people as capabilities read them: a login's name, phone and language, and who
//! holds which role in a community. Capabilities use these instead of naming `users` or
//! `memberships` (docs/architecture.md, "The boundary"). Each takes any executor: the pool, or
//! a write transaction's connection.

use crate::community::CommunityId;
use crate::auth::{Role, UserId};
use crate::error::AppResult;
use sqlx::{Any, Executor};
use std::collections::HashMap;

crate::row! {
    /// How to reach a login.
    #[derive(Debug, Clone)]
    pub struct Contact {
        /// User id.
        pub id: UserId,
        /// Name as shown.
        pub display_name: String,
        /// Mobile number (the login).
        pub phone: String,
        /// `zh-CN` or `en`.
        pub locale: String,
    }
}

impl Contact {
    /// The person's language.
    pub fn language(&self) -> crate::i18n::Locale {
        crate::i18n::Locale::parse(&self.locale).unwrap_or_default()
    }
}

const CONTACT: &str = "SELECT id, display_name, phone, locale FROM users";

/// One login.
pub async fn contact<'c, E: Executor<'c, Database = Any>>(db: E, id: UserId) -> AppResult<Option<Contact>> {
    Ok(sqlx::query_as(&format!("{CONTACT} WHERE id = $1")).bind(id).fetch_optional(db).await?)
}

/// Several logins by id, in id order (ids not found are left out).
pub async fn contacts<'c, E: Executor<'c, Database = Any>>(db: E, ids: &[UserId]) -> AppResult<Vec<Contact>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!("{CONTACT} WHERE {} ORDER BY id", crate::db::in_list("id", ids))).fetch_all(db).await?)
}

/// Names of logins by id.
pub async fn names<'c, E: Executor<'c, Database = Any>>(db: E, ids: &[UserId]) -> AppResult<HashMap<UserId, String>> {
    Ok(contacts(db, ids).await?.into_iter().map(|c| (c.id, c.display_name)).collect())
}

crate::row! {
    struct Member {
        id: UserId,
        display_name: String,
    }
}

/// The people holding any of `roles` in a community, as (user id, name), by id.
pub async fn with_roles<'c, E: Executor<'c, Database = Any>>(db: E, community_id: CommunityId, roles: &[Role]) -> AppResult<Vec<(UserId, String)>> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    // Role codes are the enum's own: safe to write into the SQL.
    let codes: Vec<String> = roles.iter().map(|r| format!("'{}'", r.code())).collect();
    let rows: Vec<Member> = sqlx::query_as(&format!(
        "SELECT DISTINCT u.id, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.community_id = $1 AND m.role IN ({}) ORDER BY u.id",
        codes.join(", ")
    ))
    .bind(community_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|m| (m.id, m.display_name)).collect())
}
