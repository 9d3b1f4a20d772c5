//! Learning from the community (docs/triage.md, "Learning from the community"): every staff
//! correction of a triage is kept as a labelled example, and a community's own triage model is
//! trained on the shipped reports plus its corrections. A new model is switched to only when,
//! on corrections it was not trained on, it is not worse than the one in use. Each case records
//! the version of the model that classified it.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use crate::domain::CaseId;
use kernel::db::WriteTx;
use kernel::state::AppState;
use kernel::{AppError, AppResult};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use triage::{Category, Classifier, Correction, Urgency};

/// Keeps a staff correction as a labelled example, in the transaction that corrects the case.
pub(crate) async fn record_correction(
    tx: &mut WriteTx,
    community_id: CommunityId,
    case_id: CaseId,
    text: &str,
    urgency: Urgency,
    category: Category,
    by: Option<UserId>,
    now: i64,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO triage_corrections (community_id, case_id, text, urgency, category, corrected_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(community_id)
    .bind(case_id)
    .bind(text)
    .bind(urgency.code())
    .bind(category.code())
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A community's corrections, oldest first; for a case corrected twice, the last word counts.
pub async fn corrections(state: &AppState, community_id: CommunityId) -> AppResult<Vec<Correction>> {
    Ok(numbered_corrections(state, community_id).await?.into_iter().map(|(_, c)| c).collect())
}

/// [`corrections`] with the id of each, which orders them.
async fn numbered_corrections(state: &AppState, community_id: CommunityId) -> AppResult<Vec<(i64, Correction)>> {
    let rows = sqlx::query(
        "SELECT t.id, t.text, t.urgency, t.category FROM triage_corrections t \
         WHERE t.community_id = $1 AND t.id = (SELECT MAX(l.id) FROM triage_corrections l WHERE l.case_id = t.case_id) ORDER BY t.id",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let urgency: String = r.try_get("urgency")?;
            let category: String = r.try_get("category")?;
            Ok((
                r.try_get("id")?,
                Correction {
                    text: r.try_get("text")?,
                    urgency: Urgency::parse(&urgency).ok_or_else(|| AppError::internal(format!("stored urgency {urgency}")))?,
                    category: Category::parse(&category)
                        .ok_or_else(|| AppError::internal(format!("stored category {category}")))?,
                },
            ))
        })
        .collect()
}

/// Held while a retraining runs.
static RETRAINING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Loaded community models, by version (versions are unique: they end in a hash of the model).
static LOADED: LazyLock<RwLock<HashMap<String, Arc<Classifier>>>> = LazyLock::new(Default::default);

/// The classifier a community uses: its own active model, or the shipped one.
pub async fn classifier(state: &AppState, community_id: CommunityId) -> AppResult<Arc<Classifier>> {
    let version: Option<String> =
        sqlx::query_scalar("SELECT version FROM triage_models WHERE community_id = $1 AND active = 1")
            .bind(community_id)
            .fetch_optional(&state.db.pool)
            .await?;
    let Some(version) = version else {
        return Ok(Classifier::shipped_shared());
    };
    if let Some(c) = LOADED.read().map_err(|_| AppError::internal("triage model cache poisoned"))?.get(&version) {
        return Ok(c.clone());
    }
    let encoded: String = sqlx::query_scalar("SELECT model FROM triage_models WHERE community_id = $1 AND version = $2")
        .bind(community_id)
        .bind(&version)
        .fetch_one(&state.db.pool)
        .await?;
    let decoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()).map_err(AppError::internal)?
    };
    let loaded = Arc::new(
        Classifier::from_bytes(version.clone(), &decoded)
            .ok_or_else(|| AppError::internal(format!("triage model {version} does not read")))?,
    );
    LOADED.write().map_err(|_| AppError::internal("triage model cache poisoned"))?.insert(version, loaded.clone());
    Ok(loaded)
}


/// What a retraining did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Retrained {
    /// The new model's version.
    pub version: String,
    /// Whether the community now uses it.
    pub switched: bool,
    /// Corrections it learned from.
    pub corrections: usize,
    /// Corrections held out to compare the models.
    pub held_out: usize,
    /// The model in use on the held-out corrections: urgency right.
    pub before_urgency: usize,
    /// The model in use on the held-out corrections: category right.
    pub before_category: usize,
    /// The new model on the held-out corrections: urgency right.
    pub after_urgency: usize,
    /// The new model on the held-out corrections: category right.
    pub after_category: usize,
}

/// The fewest corrections worth retraining on.
pub const MIN_CORRECTIONS: usize = 5;

/// Retrains a community's triage on its corrections (`linli triage retrain`, and the button on
/// the console's triage page), and switches to the new model only when it is not worse.
pub async fn retrain(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Retrained> {
    p.require(community_id, &crate::domain::CASES_CONFIGURE)?;
    // One retraining at a time in this process; a second press is told it is under way.
    let _running = RETRAINING.try_lock().map_err(|_| AppError::field("corrections", "triage_retrain_running"))?;
    let numbered = numbered_corrections(state, community_id).await?;
    if numbered.len() < MIN_CORRECTIONS {
        return Err(AppError::field("corrections", "triage_too_few_corrections"));
    }
    // The model in use has learned the corrections up to `seen`: the comparison is made on
    // newer ones only, which neither model has learned.
    let seen: i64 = sqlx::query_scalar("SELECT trained_through FROM triage_models WHERE community_id = $1 AND active = 1")
        .bind(community_id)
        .fetch_optional(&state.db.pool)
        .await?
        .unwrap_or(0);
    let unseen_from = numbered.iter().position(|(id, _)| *id > seen).unwrap_or(numbered.len());
    if unseen_from == numbered.len() {
        return Err(AppError::field("corrections", "triage_no_new_corrections"));
    }
    let trained_through = numbered.iter().map(|(id, _)| *id).max().unwrap_or(0);
    let corrections: Vec<Correction> = numbered.into_iter().map(|(_, c)| c).collect();
    let current = classifier(state, community_id).await?;
    let slug = kernel::community::all(state, Some(&[community_id]))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?
        .slug;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM triage_models WHERE community_id = $1")
        .bind(community_id)
        .fetch_one(&state.db.pool)
        .await?;
    let n = corrections.len();
    // Training takes a few seconds of one core: off the async threads.
    let outcome = tokio::task::spawn_blocking(move || {
        let r = triage::retrain(&current, "pending", &corrections, unseen_from);
        let bytes = r.classifier.to_bytes();
        (r.not_worse(), r.held_out, r.before, r.after, bytes)
    })
    .await
    .map_err(AppError::internal)?;
    let (switched, held_out, before, after, bytes) = outcome;
    let version = format!("{slug}-{}-{:08x}", count + 1, fnv(&bytes));
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    };
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if switched {
        sqlx::query("UPDATE triage_models SET active = 0 WHERE community_id = $1")
            .bind(community_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO triage_models (community_id, version, model, corrections, held_out, before_urgency, before_category, \
         after_urgency, after_category, active, created_by, created_at, trained_through) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(community_id)
    .bind(&version)
    // A model that was not switched to is recorded without its weights.
    .bind(if switched { encoded } else { String::new() })
    .bind(n as i64)
    .bind(held_out as i64)
    .bind(before.urgency_correct as i64)
    .bind(before.category_correct as i64)
    .bind(after.urgency_correct as i64)
    .bind(after.category_correct as i64)
    .bind(switched as i64)
    .bind(p.user_id)
    .bind(now)
    .bind(if switched { trained_through } else { seen })
    .execute(&mut *tx)
    .await?;
    let model_id: i64 = sqlx::query_scalar("SELECT id FROM triage_models WHERE community_id = $1 AND version = $2")
        .bind(community_id)
        .bind(&version)
        .fetch_one(&mut *tx)
        .await?;
    kernel::audit::record_change(
        &mut tx,
        now,
        Some(p),
        Some(community_id),
        "triage_model",
        model_id,
        "retrained",
        &serde_json::json!({
            "version": version, "switched": switched, "corrections": n, "held_out": held_out,
            "before": [before.urgency_correct, before.category_correct], "after": [after.urgency_correct, after.category_correct],
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Retrained {
        version,
        switched,
        corrections: n,
        held_out,
        before_urgency: before.urgency_correct,
        before_category: before.category_correct,
        after_urgency: after.urgency_correct,
        after_category: after.category_correct,
    })
}

fn fnv(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// One retraining on record, for the console's triage page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelRecord {
    /// Version.
    pub version: String,
    /// In use now.
    pub active: bool,
    /// Corrections learned from.
    pub corrections: i64,
    /// Held out.
    pub held_out: i64,
    /// Before/after on the held-out corrections.
    pub before_urgency: i64,
    /// Before/after on the held-out corrections.
    pub after_urgency: i64,
    /// Before/after on the held-out corrections.
    pub before_category: i64,
    /// Before/after on the held-out corrections.
    pub after_category: i64,
    /// When.
    pub created_at: i64,
    /// Who retrained (none for the command line).
    pub by: Option<String>,
}

/// A community's retrainings, newest first.
pub async fn history(state: &AppState, p: &Principal, community_id: CommunityId) -> AppResult<Vec<ModelRecord>> {
    p.require(community_id, &crate::domain::CASES_CONFIGURE)?;
    let rows = sqlx::query(
        "SELECT version, active, corrections, held_out, before_urgency, after_urgency, before_category, after_category, created_at, created_by \
         FROM triage_models WHERE community_id = $1 ORDER BY id DESC LIMIT 20",
    )
    .bind(community_id)
    .fetch_all(&state.db.pool)
    .await?;
    let by = kernel::db::distinct_ids(rows.iter().filter_map(|r| r.try_get::<Option<UserId>, _>("created_by").ok().flatten()));
    let names = kernel::auth::display_names(state, &by).await?;
    rows.into_iter()
        .map(|r| {
            Ok(ModelRecord {
                by: r.try_get::<Option<UserId>, _>("created_by")?.and_then(|u| names.get(&u).cloned()),
                version: r.try_get("version")?,
                active: r.try_get::<i64, _>("active")? != 0,
                corrections: r.try_get("corrections")?,
                held_out: r.try_get("held_out")?,
                before_urgency: r.try_get("before_urgency")?,
                after_urgency: r.try_get("after_urgency")?,
                before_category: r.try_get("before_category")?,
                after_category: r.try_get("after_category")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}
