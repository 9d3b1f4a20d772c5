//! Online backup and restore of the embedded database.

use kernel::config::Config;
use kernel::db::Backend;
use kernel::state::AppState;
use kernel::{AppError, AppResult};
use std::path::Path;

/// Writes a consistent snapshot with `VACUUM INTO`, which reads one transaction's view while
/// the server keeps writing.
pub async fn backup(state: &AppState, file: &Path) -> AppResult<()> {
    if state.db.backend != Backend::Sqlite {
        return Err(AppError::internal("on PostgreSQL, back up with pg_dump (see docs/operations.md)"));
    }
    if file.exists() {
        return Err(AppError::internal(format!("{} already exists", file.display())));
    }
    let target = std::path::absolute(file).map_err(AppError::internal)?;
    // VACUUM INTO fills an empty file; made here first, it is the owner's alone (0600).
    kernel::owner_only::create_new(&target).map_err(|e| AppError::internal(format!("{}: {e}", target.display())))?;
    if let Err(e) = sqlx::query("VACUUM INTO $1").bind(target.to_string_lossy().to_string()).execute(&state.db.pool).await {
        let _ = std::fs::remove_file(&target);
        return Err(e.into());
    }
    Ok(())
}

/// Replaces the database file with a checked backup; the old file is kept beside it.
pub async fn restore(cfg: &Config, file: &Path) -> AppResult<()> {
    let url = cfg.database_url();
    let Some(db_path) = url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p).to_string()) else {
        return Err(AppError::internal("on PostgreSQL, restore with pg_restore (see docs/operations.md)"));
    };
    let header = std::fs::read(file).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
    if !header.starts_with(b"SQLite format 3\0") {
        return Err(AppError::internal(format!("{} is not a Linli backup", file.display())));
    }
    let check = kernel::db::Db::connect(&format!("sqlite://{}?mode=ro", file.display()), 1).await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&check.pool).await?;
    let has_schema: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'").fetch_one(&check.pool).await?;
    check.pool.close().await;
    if verdict != "ok" || has_schema == 0 {
        return Err(AppError::internal(format!("{} failed its integrity check: {verdict}", file.display())));
    }
    let db = Path::new(&db_path);
    if db.exists() {
        checkpoint(&db_path).await?;
        let aside = format!("{db_path}.before-restore-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
        std::fs::rename(db, &aside).map_err(AppError::internal)?;
        // Whatever the checkpoint left in the log goes with the copy, where SQLite looks for it.
        for ext in ["-wal", "-shm"] {
            let log = format!("{db_path}{ext}");
            if Path::new(&log).exists() {
                std::fs::rename(&log, format!("{aside}{ext}")).map_err(AppError::internal)?;
            }
        }
    }
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        kernel::owner_only::create_dir_all(parent).map_err(AppError::internal)?;
    }
    std::fs::copy(file, db).map_err(AppError::internal)?;
    kernel::owner_only::restrict(db).map_err(AppError::internal)?;
    Ok(())
}

/// Moves every write in the old database's write-ahead log into its file, so the copy kept
/// aside holds the last acknowledged writes on its own (a killed server leaves them in the
/// log). A checkpoint that cannot finish means a server still has the database open.
async fn checkpoint(db_path: &str) -> AppResult<()> {
    let old = kernel::db::Db::connect(&format!("sqlite://{db_path}"), 1).await?;
    let busy: Result<i64, sqlx::Error> = sqlx::query_scalar("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&old.pool).await;
    old.pool.close().await;
    if busy? != 0 {
        return Err(AppError::internal(format!("{db_path} is in use: stop the server before restoring")));
    }
    Ok(())
}
