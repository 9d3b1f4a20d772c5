//! A report on its way: what a resident has typed and the photos they chose, kept against the
//! report form's idempotency key between one sending of the form and the next — when the form
//! comes back to show open cases like it ("已有人反映"), to say what is wrong, or to ask for a
//! login because the session lapsed. Photos are read and stored once, and never chosen again.
//! A draft lives for [`TTL_MS`]; filing the report ends it. The words are kept encrypted.

use kernel::community::CommunityId;
use kernel::auth::UserId;
use crate::photos::Stored;
use kernel::clock::HOUR;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::{Deserialize, Serialize};

/// How long a draft is kept.
pub const TTL_MS: i64 = 24 * HOUR;

/// The report form's fields, as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields {
    /// What is wrong.
    pub text: String,
    /// Where, in words.
    pub place: String,
    /// The place picker's choice (`b12`, `u34` or "").
    pub place_choice: String,
    /// Someone is in danger now.
    pub danger_now: bool,
    /// File without a name.
    pub anonymous: bool,
    /// The map point, as the form carries it.
    pub lat: String,
    /// The map point, as the form carries it.
    pub long: String,
    /// Family reporting for an elder they are bound to: her resident id.
    #[serde(default)]
    pub for_resident: Option<registry::ResidentId>,
}

impl Fields {
    /// Checks the lengths, as filing would, so a draft never holds more than a report may.
    pub fn check(&self) -> AppResult<()> {
        let mut errors = Vec::new();
        for r in [
            kernel::validate::at_most_multiline("text", &self.text, 2000),
            kernel::validate::at_most("place", &self.place, 100),
            kernel::validate::at_most("building_id", &self.place_choice, 24),
            kernel::validate::at_most("lat", &self.lat, 24),
            kernel::validate::at_most("long", &self.long, 24),
        ] {
            if let Err(e) = r {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

/// A kept draft.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The fields as last sent.
    pub fields: Fields,
    /// How many photos are kept.
    pub photos: usize,
    /// Whom the draft may be given back to after a login (see [`author_tag`]), or "".
    pub author_tag: String,
}

/// Names a logged-in author without saying who they are: the report form carries it, so a
/// form whose session lapsed still says it was filled by someone logged in, and its draft is
/// given back only to that person.
pub fn author_tag(state: &AppState, user_id: UserId) -> String {
    state.cipher.sign("report-author", &user_id.to_string())
}

fn key_hash(state: &AppState, community_id: CommunityId, key: &str) -> String {
    state.cipher.blind_index(&format!("case-draft:{community_id}:{}", key.trim()))
}

/// Keeps `fields` and adds `photos` (already in the blob store) to the draft of `key`; returns
/// how many photos the draft now holds. Photos beyond [`crate::photos::MAX_PHOTOS`] are refused.
pub async fn keep(
    state: &AppState,
    community_id: CommunityId,
    key: &str,
    fields: &Fields,
    author_tag: &str,
    photos: Vec<Stored>,
) -> AppResult<usize> {
    fields.check()?;
    let hash = key_hash(state, community_id, key);
    let now = state.now();
    let mut kept = stored_photos(state, &hash).await?;
    if kept.len() + photos.len() > crate::photos::MAX_PHOTOS {
        return Err(crate::photos::too_many());
    }
    kept.extend(photos);
    let sealed = state.cipher.encrypt(&serde_json::to_string(fields).map_err(AppError::internal)?);
    let photos_json = serde_json::to_string(&kept).map_err(AppError::internal)?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("DELETE FROM case_drafts WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO case_drafts (key_hash, community_id, author_tag, fields, photos, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (key_hash) DO UPDATE SET author_tag = excluded.author_tag, fields = excluded.fields, photos = excluded.photos, expires_at = excluded.expires_at",
    )
    .bind(&hash)
    .bind(community_id)
    .bind(author_tag)
    .bind(&sealed)
    .bind(&photos_json)
    .bind(now)
    .bind(now + TTL_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(kept.len())
}

async fn stored_photos(state: &AppState, hash: &str) -> AppResult<Vec<Stored>> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT photos FROM case_drafts WHERE key_hash = $1 AND expires_at > $2")
            .bind(hash)
            .bind(state.now())
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
}

/// The draft of `key`, if one is kept.
pub async fn load(state: &AppState, community_id: CommunityId, key: &str) -> AppResult<Option<Draft>> {
    kernel::row! {
        /// A draft as stored: its fields encrypted, its photos as JSON.
        struct Kept {
            author_tag: String,
            fields: String,
            photos: String,
        }
    }
    let row: Option<Kept> = sqlx::query_as("SELECT author_tag, fields, photos FROM case_drafts WHERE key_hash = $1 AND expires_at > $2")
        .bind(key_hash(state, community_id, key))
        .bind(state.now())
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.map(|r| Draft {
        author_tag: r.author_tag,
        fields: state
            .cipher
            .decrypt(&r.fields)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        photos: serde_json::from_str::<Vec<Stored>>(&r.photos)
            .map(|p| p.len())
            .unwrap_or(0),
    }))
}

/// The photos kept for `key` (none when there is no draft).
pub async fn photos(state: &AppState, community_id: CommunityId, key: &str) -> AppResult<Vec<Stored>> {
    stored_photos(state, &key_hash(state, community_id, key)).await
}

/// Drops the photos kept for `key` (the resident does not want them after all).
pub async fn drop_photos(state: &AppState, community_id: CommunityId, key: &str) -> AppResult<()> {
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE case_drafts SET photos = '[]' WHERE key_hash = $1")
        .bind(key_hash(state, community_id, key))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The draft of `key` if `reader` may see it: a logged-in person's own, or a visitor's
/// (whose key alone is the secret).
pub async fn readable(state: &AppState, community_id: CommunityId, key: &str, reader: Option<UserId>) -> AppResult<Option<Draft>> {
    Ok(load(state, community_id, key).await?.filter(|d| {
        d.author_tag.is_empty() || reader.is_some_and(|uid| d.author_tag == author_tag(state, uid))
    }))
}

/// Ends the draft of `key` (the report was filed), in the filing's transaction.
pub async fn end(tx: &mut kernel::db::WriteTx, state: &AppState, community_id: CommunityId, key: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM case_drafts WHERE key_hash = $1")
        .bind(key_hash(state, community_id, key))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Fields;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is typed, a draft's check answers with a field error or lets it through.
        #[test]
        fn any_words_are_checked_never_a_panic(text in "\\PC{0,2100}", place in ".{0,120}", choice in ".{0,30}") {
            let fields = Fields { text: text.clone(), place, place_choice: choice, ..Fields::default() };
            match fields.check() {
                Ok(()) => prop_assert!(text.chars().count() <= 2000),
                Err(kernel::AppError::Validation(errors)) => prop_assert!(!errors.is_empty()),
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
