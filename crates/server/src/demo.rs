//! `linli demo`: a seeded 南京人家社区 on the embedded database.

use kernel::manifest::DemoContext;
use kernel::state::AppState;
use kernel::{AppError, AppResult};

/// Slug of the demo community.
pub const SLUG: &str = "nanjing-renjia";

/// Seeds the demo community unless it exists; returns whether it seeded.
pub async fn seed(state: &AppState) -> AppResult<bool> {
    if kernel::community::by_slug(state, SLUG).await?.is_some() {
        return Ok(false);
    }
    let mut tx = state.db.begin_write().await?;
    let id: kernel::community::CommunityId = sqlx::query_scalar("INSERT INTO communities (slug, name, city, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(SLUG)
        .bind("南京人家社区")
        .bind("南京")
        .bind(state.now())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let ctx = DemoContext { community_id: id, community_slug: SLUG.into() };
    for m in crate::app::manifests() {
        if let Some(seed) = m.demo_seed {
            seed(state, &ctx).await.map_err(|e| AppError::internal(format!("demo seed of {}: {e}", m.name)))?;
        }
    }
    Ok(true)
}

/// The text printed when the demo starts.
pub fn banner(url: &str) -> String {
    let mut s = format!("\n  邻里 Linli demo — 南京人家社区\n  Open {url}\n\n  Logins (password: {}):\n", registry::demo::DEMO_PASSWORD);
    for (role, phone, name) in registry::demo::DEMO_LOGINS {
        s.push_str(&format!("    {:<12} {phone}  {name}\n", role.code()));
    }
    s.push_str("\n  SMS codes are written to this log (no SMS gateway in the demo).\n  Press Ctrl+C to stop.\n");
    s
}
