//! Communities: the tenancy every capability works within. The kernel owns the table, so the
//! lookups live here, once.

crate::id! {
    /// A community's id.
    pub struct CommunityId;
}

use crate::error::AppResult;
use crate::state::AppState;
use serde::Serialize;
use std::sync::Arc;

crate::row! {
    /// A community (社区).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct Community {
        /// Id.
        pub id: CommunityId,
        /// URL name, e.g. `nanjing-renjia`.
        pub slug: String,
        /// Display name.
        pub name: String,
        /// City.
        pub city: String,
    }
}

const CACHE: &str = "kernel.community";

fn slug_key(slug: &str) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    slug.hash(&mut h);
    h.finish() as i64
}

/// Looks a community up by slug.
pub async fn by_slug(state: &AppState, slug: &str) -> AppResult<Option<Community>> {
    // Every community URL starts with this lookup; communities are created, not edited, so a
    // short-lived cache is safe. The key is a hash of the slug; the slug is compared on a hit.
    let key = slug_key(slug);
    if let Some(c) = state.db.reads.get::<Community>(CACHE, key).filter(|c| c.slug == slug) {
        return Ok(Some((*c).clone()));
    }
    let found: Option<Community> = sqlx::query_as("SELECT id, slug, name, city FROM communities WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&state.db.pool)
        .await?;
    if let Some(c) = &found {
        state.db.reads.put(CACHE, key, Arc::new(c.clone()));
    }
    Ok(found)
}

/// Every community, or those with the given ids, in id order.
pub async fn all(state: &AppState, ids: Option<&[CommunityId]>) -> AppResult<Vec<Community>> {
    let rows: Vec<Community> = sqlx::query_as("SELECT id, slug, name, city FROM communities ORDER BY id").fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().filter(|c| ids.is_none_or(|ids| ids.contains(&c.id))).collect())
}

/// The community a request without a slug means: the viewer's first, else the deployment's
/// only one. `None` when that is ambiguous.
pub async fn default_for(state: &AppState, community_ids: &[CommunityId]) -> AppResult<Option<Community>> {
    let all = all(state, None).await?;
    if let Some(first) = community_ids.first() {
        return Ok(all.into_iter().find(|c| c.id == *first));
    }
    Ok(if all.len() == 1 { all.into_iter().next() } else { None })
}
