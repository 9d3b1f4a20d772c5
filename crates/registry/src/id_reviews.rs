//! ID numbers entered for a second resident. Whether a number is already registered must not
//! be something a person who may not see ID numbers can learn by trying numbers: for them a
//! number registered to someone else is accepted like any other, held back (encrypted and
//! masked, but not indexed) and queued for staff, who may see the numbers and decide. Staff
//! are told at once (409). Every clash is written to the access log, as it says whose number
//! it is.

use kernel::community::CommunityId;
use crate::ResidentId;
use crate::domain::{IdStanding, ID_REVEAL};
use crate::store::Community;
use kernel::audit;
use kernel::auth::Principal;
use kernel::crypto::IdCardNumber;
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult};
use kernel::state::AppState;
use serde::Serialize;

/// The access log's purpose for an ID number entered while registered to another resident.
pub const CLASH_PURPOSE: &str = "id_number_clash";

/// How a write of `number` (for resident `except`, if they exist yet) goes on: registered when
/// no other resident holds it; held for review when the writer may not see ID numbers;
/// otherwise refused with 409, the clash logged in a transaction of its own since the write's
/// is abandoned.
pub(crate) async fn standing(
    mut tx: WriteTx,
    state: &AppState,
    p: &Principal,
    c: &Community,
    number: Option<&IdCardNumber>,
    except: Option<ResidentId>,
) -> AppResult<(WriteTx, IdStanding)> {
    let Some(n) = number else { return Ok((tx, IdStanding::Registered)) };
    let holder: Option<ResidentId> = sqlx::query_scalar("SELECT id FROM residents WHERE community_id = $1 AND id_number_idx = $2 AND id <> $3")
        .bind(c.id)
        .bind(state.cipher.blind_index(n.as_str()))
        .bind(except.map_or(0, ResidentId::get))
        .fetch_optional(&mut *tx)
        .await?;
    let Some(holder) = holder else { return Ok((tx, IdStanding::Registered)) };
    if !p.can(c.id, &ID_REVEAL) {
        return Ok((tx, IdStanding::AwaitingReview { holder }));
    }
    drop(tx);
    let mut log = state.db.begin_write().await?;
    audit::record_access(&mut log, state.now(), p, c.id, "resident", holder, "id_number", CLASH_PURPOSE).await?;
    log.commit().await?;
    Err(AppError::Conflict { field: "id_number".into(), code: "id_number_taken" })
}

/// For a number held for review: logs the clash and queues it for staff (once per resident
/// and number), inside the write's transaction.
pub(crate) async fn queue(
    tx: &mut WriteTx,
    state: &AppState,
    p: &Principal,
    community_id: CommunityId,
    resident_id: ResidentId,
    held: IdStanding,
    number: Option<&IdCardNumber>,
) -> AppResult<()> {
    let (IdStanding::AwaitingReview { holder }, Some(number)) = (held, number) else { return Ok(()) };
    let now = state.now();
    audit::record_access(tx, now, p, community_id, "resident", holder, "id_number", CLASH_PURPOSE).await?;
    let idx = state.cipher.blind_index(number.as_str());
    let open: Option<i64> = sqlx::query_scalar("SELECT id FROM id_number_reviews WHERE resident_id = $1 AND id_number_idx = $2 AND resolved_at IS NULL")
        .bind(resident_id)
        .bind(&idx)
        .fetch_optional(&mut **tx)
        .await?;
    if open.is_none() {
        sqlx::query(
            "INSERT INTO id_number_reviews (community_id, resident_id, holder_id, id_number_idx, id_number_masked, entered_by_user_id, entered_by_api_key_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(community_id)
        .bind(resident_id)
        .bind(holder)
        .bind(idx)
        .bind(number.masked())
        .bind(p.user_id)
        .bind(p.api_key_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An ID number entered for a resident while registered to another: a possible duplicate
/// person, or a typing slip, for staff to sort out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdNumberReview {
    /// Id.
    pub id: i64,
    /// The resident the number was entered for; it is held on their record, not indexed.
    pub resident_id: ResidentId,
    /// Their name.
    pub resident_name: String,
    /// The resident the number is registered to (gone if since deleted).
    pub holder_id: Option<ResidentId>,
    /// Their name.
    pub holder_name: Option<String>,
    /// The number, masked.
    pub id_number: String,
    /// Who entered it (display name, or the API key's name).
    pub entered_by: String,
    /// When (epoch ms).
    pub entered_at: i64,
}

/// Open reviews of the community, or those about one resident (on either side), oldest first.
pub async fn open_reviews(state: &AppState, p: &Principal, c: &Community, resident_id: Option<ResidentId>) -> AppResult<Vec<IdNumberReview>> {
    p.require(c.id, &ID_REVEAL)?;
    let about = if resident_id.is_some() { " AND (v.resident_id = $2 OR v.holder_id = $2)" } else { "" };
    let sql = format!(
        "SELECT v.id, v.resident_id, r.name AS resident_name, v.holder_id, h.name AS holder_name, v.id_number_masked, \
           COALESCE(u.display_name, k.name, '') AS entered_by, v.created_at \
         FROM id_number_reviews v JOIN residents r ON r.id = v.resident_id LEFT JOIN residents h ON h.id = v.holder_id \
         LEFT JOIN users u ON u.id = v.entered_by_user_id LEFT JOIN api_keys k ON k.id = v.entered_by_api_key_id \
         WHERE v.community_id = $1 AND v.resolved_at IS NULL{about} ORDER BY v.id LIMIT 500"
    );
    kernel::row! {
        /// An open review with both residents' names and who entered the number.
        struct Open {
            id: i64,
            resident_id: ResidentId,
            resident_name: String,
            holder_id: Option<ResidentId>,
            holder_name: Option<String>,
            id_number_masked: String,
            entered_by: String,
            created_at: i64,
        }
    }
    let mut query = sqlx::query_as::<_, Open>(&sql).bind(c.id);
    if let Some(r) = resident_id {
        query = query.bind(r);
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| IdNumberReview {
            id: r.id,
            resident_id: r.resident_id,
            resident_name: r.resident_name,
            holder_id: r.holder_id,
            holder_name: r.holder_name,
            id_number: r.id_number_masked,
            entered_by: r.entered_by,
            entered_at: r.created_at,
        })
        .collect())
}

/// Closes a review once staff have sorted the records out (by editing either resident).
pub async fn resolve(state: &AppState, p: &Principal, c: &Community, review_id: i64) -> AppResult<()> {
    p.require(c.id, &ID_REVEAL)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let done = sqlx::query("UPDATE id_number_reviews SET resolved_at = $1, resolved_by_user_id = $2 WHERE id = $3 AND community_id = $4 AND resolved_at IS NULL")
        .bind(now)
        .bind(p.user_id)
        .bind(review_id)
        .bind(c.id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    audit::record_change(&mut tx, now, Some(p), Some(c.id), "id_number_review", review_id, "resolve", &serde_json::json!({})).await?;
    tx.commit().await
}
