//! Who changed what and when (audit trail), and who saw which sensitive field (access log).

use crate::community::CommunityId;
use crate::auth::Principal;
use crate::db::WriteTx;
use crate::error::AppResult;

/// Records a change to a staff-editable record, inside the change's own transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record_change(
    tx: &mut WriteTx,
    at: i64,
    actor: Option<&Principal>,
    community_id: Option<CommunityId>,
    entity: &str,
    entity_id: impl Into<i64>,
    action: &str,
    changes: &serde_json::Value,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_api_key_id, community_id, entity, entity_id, action, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(at)
    .bind(actor.and_then(|a| a.user_id))
    .bind(actor.and_then(|a| a.api_key_id))
    .bind(community_id)
    .bind(entity)
    .bind(entity_id.into())
    .bind(action)
    .bind(changes.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records that `actor` saw the clear value of a sensitive field.
pub async fn record_access(
    tx: &mut WriteTx,
    at: i64,
    actor: &Principal,
    community_id: CommunityId,
    subject: &str,
    subject_id: impl Into<i64>,
    field: &str,
    purpose: &str,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO access_log (at, actor_user_id, actor_api_key_id, community_id, subject, subject_id, field, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(at)
    .bind(actor.user_id)
    .bind(actor.api_key_id)
    .bind(community_id)
    .bind(subject)
    .bind(subject_id.into())
    .bind(field)
    .bind(purpose)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Compares two JSON objects and keeps only the keys whose values differ, as `{key: [old, new]}`.
pub fn diff(old: &serde_json::Value, new: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let (Some(o), Some(n)) = (old.as_object(), new.as_object()) {
        for (k, nv) in n {
            let ov = o.get(k).unwrap_or(&serde_json::Value::Null);
            if ov != nv {
                out.insert(k.clone(), serde_json::json!([ov, nv]));
            }
        }
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn diff_keeps_changed_keys_only() {
        let d = super::diff(&serde_json::json!({"a": 1, "b": 2}), &serde_json::json!({"a": 1, "b": 3}));
        assert_eq!(d, serde_json::json!({"b": [2, 3]}));
    }
}
