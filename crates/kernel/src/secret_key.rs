//! The start-up check that the configured secret key is the one the stored data was
//! encrypted with: started with another key (a restore without `secret.key`), the server
//! would run and fail on every record holding an encrypted field.

use crate::crypto::FieldCipher;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// What the fingerprint is a signature of; any fixed text would do.
const FINGERPRINT_OF: &str = "linli secret key check v1";

/// Compares the key's fingerprint with the one stored at the first start, storing it now if
/// there is none. Data from before fingerprints were kept has none: then `sample`, one stored
/// encrypted value if there is any, must decrypt. `holder` names where the data lives, for the
/// message.
pub async fn check(db: &Db, cipher: &FieldCipher, sample: Option<String>, holder: &str, now_ms: i64) -> AppResult<()> {
    let mismatch = || {
        AppError::internal(format!(
            "the data in {holder} was encrypted with another secret key; put its secret.key back or set LINLI_SECRET_KEY (secret_key) to the key it was written with"
        ))
    };
    let fingerprint = cipher.sign("secret-key-check", FINGERPRINT_OF);
    let stored: Option<String> = sqlx::query_scalar("SELECT fingerprint FROM secret_key_check WHERE id = 1").fetch_optional(&db.pool).await?;
    if let Some(stored) = stored {
        return if crate::crypto::same_secret(&stored, &fingerprint) { Ok(()) } else { Err(mismatch()) };
    }
    if let Some(sample) = sample {
        cipher.decrypt(&sample).map_err(|_| mismatch())?;
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO secret_key_check (id, fingerprint, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
        .bind(&fingerprint)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Another node may have stored its key's fingerprint first.
    let stored: String = sqlx::query_scalar("SELECT fingerprint FROM secret_key_check WHERE id = 1").fetch_one(&db.pool).await?;
    if crate::crypto::same_secret(&stored, &fingerprint) { Ok(()) } else { Err(mismatch()) }
}
