//! Storage: one pool over SQLite (embedded, default) or PostgreSQL, chosen by the URL scheme,
//! and one migration runner fed by every capability's manifest.

use crate::error::{AppError, AppResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};
use std::time::Duration;

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The shared database handle.
#[derive(Debug, Clone)]
pub struct Db {
    /// Connection pool.
    pub pool: AnyPool,
    /// Engine behind the pool.
    pub backend: Backend,
    /// SQLite allows one writer: write transactions in this process queue here instead of
    /// failing with `SQLITE_BUSY` when a deferred transaction tries to upgrade.
    writer: Arc<Mutex<()>>,
    /// Wakes the job worker after a transaction that enqueued a job commits.
    pub job_wakeup: Arc<tokio::sync::Notify>,
    /// Short-lived cache of per-person reads; write transactions forget what they change (ADR 005).
    pub reads: Arc<crate::cache::ReadCache>,
}

/// A write transaction. Derefs to the connection, so queries run with `.execute(&mut *tx)`.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// Set by `jobs::enqueue` so the worker is woken on commit.
    pub after_commit_wake_jobs: bool,
    wake: Arc<tokio::sync::Notify>,
    reads: Arc<crate::cache::ReadCache>,
    forget: Vec<(&'static str, Option<i64>)>,
    // Dropped after `tx`, so a rollback finishes before the next writer starts.
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits, then forgets the cached reads this transaction changed and wakes the job
    /// worker if a job was enqueued.
    pub async fn commit(self) -> AppResult<()> {
        let WriteTx { tx, after_commit_wake_jobs, wake, reads, forget, _writer } = self;
        tx.commit().await?;
        for (namespace, id) in forget {
            match id {
                Some(id) => reads.forget(namespace, id),
                None => reads.forget_all(namespace),
            }
        }
        if after_commit_wake_jobs {
            wake.notify_one();
        }
        Ok(())
    }

    /// After commit, forget the cached read `(namespace, id)`; `None` forgets the namespace.
    pub fn forget_after_commit(&mut self, namespace: &'static str, id: Option<i64>) {
        self.forget.push((namespace, id));
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// One schema change, written once with portable type tokens:
/// `{id}` (auto-increment primary key) and `{blob}` (binary).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Unique, ordered id, e.g. `registry_0001_communities`.
    pub id: &'static str,
    /// SQL statements separated by `;` at line ends.
    pub sql: &'static str,
}

/// A change to existing rows that SQL cannot make (a value computed in Rust for a new
/// column): run once at start after the SQL migrations, in manifest order. It must be safe to
/// run again after a crash part-way (touch only rows not done yet), and it writes in batches
/// of its own transactions; returns how many rows it changed.
#[derive(Clone, Copy)]
pub struct Backfill {
    /// Unique id, recorded with the migrations' ids when done (`cases_0012_search_text_fill`).
    pub id: &'static str,
    /// The work.
    pub run: for<'a> fn(&'a Db) -> futures::future::BoxFuture<'a, AppResult<u64>>,
}

impl Migration {
    /// SHA-256 of the migration's text, as applied migrations record it.
    pub fn checksum(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.sql.as_bytes()))
    }
}

impl Db {
    /// Connects, creating the SQLite file if needed and setting WAL and foreign keys.
    pub async fn connect(url: &str, max_connections: u32) -> AppResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(AppError::internal(format!("unsupported database URL scheme: {url}")));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        // A read-only file (a backup being checked) cannot switch its journal mode.
        let read_only = url.contains("mode=ro");
        if backend == Backend::Sqlite && !read_only {
            if let Some(path) = url.strip_prefix("sqlite://").and_then(|p| p.split('?').next()) {
                prepare_private_sqlite_file(std::path::Path::new(path)).map_err(|e| AppError::internal(format!("{path}: {e}")))?;
            }
        }
        let opts = AnyConnectOptions::from_str(&url).map_err(AppError::internal)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite && read_only {
                        conn.execute("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;").await?;
                    } else if backend == Backend::Sqlite {
                        // WAL keeps readers off the writer's back; NORMAL sync loses nothing
                        // on a process crash (only on power loss), which is what we promise.
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16000; PRAGMA temp_store=MEMORY;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(AppError::internal)?;
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
            job_wakeup: Arc::new(tokio::sync::Notify::new()),
            reads: Arc::default(),
        })
    }

    /// Begins a write transaction (serialised per process on SQLite).
    pub async fn begin_write(&self) -> AppResult<WriteTx> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            after_commit_wake_jobs: false,
            wake: self.job_wakeup.clone(),
            reads: self.reads.clone(),
            forget: Vec::new(),
            _writer: guard,
        })
    }

    /// An aggregate joining `expr` over a group with commas (`group_concat` / `string_agg`).
    pub fn list_agg(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("group_concat({expr}, ',')"),
            Backend::Postgres => format!("string_agg({expr}, ',')"),
        }
    }

    /// Rewrites the portable type tokens for this backend.
    pub fn render_ddl(&self, sql: &str) -> String {
        match self.backend {
            Backend::Sqlite => sql
                .replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT")
                .replace("{blob}", "BLOB"),
            Backend::Postgres => sql.replace("{id}", "BIGSERIAL PRIMARY KEY").replace("{blob}", "BYTEA"),
        }
    }

    /// A migration's statements for this engine: a statement that starts with `/*sqlite*/` or
    /// `/*postgres*/` runs on that engine only (docs/architecture.md, "Changing the schema").
    fn statements_for_engine(&self, sql: &str) -> Vec<String> {
        split_statements(sql)
            .into_iter()
            .filter_map(|stmt| match (stmt.strip_prefix("/*sqlite*/"), stmt.strip_prefix("/*postgres*/")) {
                (Some(rest), _) => (self.backend == Backend::Sqlite).then(|| rest.trim().to_string()),
                (_, Some(rest)) => (self.backend == Backend::Postgres).then(|| rest.trim().to_string()),
                _ => Some(stmt),
            })
            .collect()
    }

    /// Applies every migration not yet applied, in order, each in its own transaction.
    /// On PostgreSQL an advisory lock keeps two starting nodes from racing.
    pub async fn migrate(&self, migrations: &[Migration], now_ms: i64) -> AppResult<usize> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_lock(7141)").await?;
        }
        let result = self.migrate_locked(&mut conn, migrations, now_ms).await;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7141)").await?;
        }
        result
    }

    async fn migrate_locked(
        &self,
        conn: &mut sqlx::AnyConnection,
        migrations: &[Migration],
        now_ms: i64,
    ) -> AppResult<usize> {
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL, checksum TEXT)")
            .await?;
        // Databases from before checksums were kept get the column; their applied migrations
        // are recorded with the checksum of the text they have now.
        if sqlx::query("SELECT checksum FROM schema_migrations WHERE 1 = 0").execute(&mut *conn).await.is_err() {
            conn.execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT").await?;
        }
        crate::row! {
            /// A migration this database has applied, with the checksum of its text (none when
            /// applied before checksums were kept).
            struct Applied {
                id: String,
                checksum: Option<String>,
            }
        }
        let applied: Vec<Applied> = sqlx::query_as("SELECT id, checksum FROM schema_migrations").fetch_all(&mut *conn).await?;
        // An applied migration whose text has changed since would leave this database unlike
        // every other: refuse to start. A schema change is a new migration (docs/architecture.md).
        for m in migrations {
            let Some(stored) = applied.iter().find(|a| a.id == m.id).map(|a| &a.checksum) else { continue };
            let now = m.checksum();
            match stored {
                Some(sum) if *sum != now => {
                    return Err(AppError::internal(format!(
                        "migration {} was changed after it was applied (checksum {sum}, now {now}): restore its text and put the change in a new migration",
                        m.id
                    )))
                }
                Some(_) => {}
                None => {
                    sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE id = $2").bind(&now).bind(m.id).execute(&mut *conn).await?;
                }
            }
        }
        let applied: Vec<String> = applied.into_iter().map(|a| a.id).collect();
        let mut count = 0;
        for m in migrations {
            if applied.iter().any(|a| a == m.id) {
                continue;
            }
            // SQLite rebuilds a table to change its constraints (create, copy, drop, rename):
            // with foreign keys enforced, dropping the old table would cascade into its
            // children. They are off during a migration and checked before it commits.
            let sqlite = self.backend == Backend::Sqlite;
            if sqlite {
                conn.execute("PRAGMA foreign_keys = OFF").await?;
            }
            let applied = self.apply(&mut *conn, m, now_ms).await;
            if sqlite {
                conn.execute("PRAGMA foreign_keys = ON").await?;
            }
            applied?;
            count += 1;
        }
        Ok(count)
    }

    async fn apply(&self, conn: &mut sqlx::AnyConnection, m: &Migration, now_ms: i64) -> AppResult<()> {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for stmt in self.statements_for_engine(&self.render_ddl(m.sql)) {
            tx.execute(stmt.as_str()).await.map_err(|e| AppError::internal(format!("migration {}: {e}", m.id)))?;
        }
        if self.backend == Backend::Sqlite {
            let broken: Vec<String> = sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&mut *tx).await?;
            if !broken.is_empty() {
                return Err(AppError::internal(format!("migration {} leaves rows without their parent in {}", m.id, broken.join(", "))));
            }
        }
        sqlx::query("INSERT INTO schema_migrations (id, applied_at, checksum) VALUES ($1, $2, $3)")
            .bind(m.id)
            .bind(now_ms)
            .bind(m.checksum())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs the backfills not yet run, in order, each once: recorded in `schema_migrations`
    /// under its id when it has finished. Run after every SQL migration.
    pub async fn backfill(&self, backfills: &[Backfill], now_ms: i64) -> AppResult<usize> {
        let applied: Vec<String> = sqlx::query_scalar("SELECT id FROM schema_migrations").fetch_all(&self.pool).await?;
        let mut count = 0;
        for b in backfills {
            if applied.iter().any(|a| a == b.id) {
                continue;
            }
            let rows = (b.run)(self).await.map_err(|e| AppError::internal(format!("backfill {}: {e}", b.id)))?;
            tracing::info!(backfill = b.id, rows, "backfill done");
            sqlx::query("INSERT INTO schema_migrations (id, applied_at, checksum) VALUES ($1, $2, 'backfill')")
                .bind(b.id)
                .bind(now_ms)
                .execute(&self.pool)
                .await?;
            count += 1;
        }
        Ok(count)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> AppResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Creates the database file (and its directory) for the owner alone before SQLite opens it:
/// SQLite gives the `-wal` and `-shm` files it makes the database file's mode. A database
/// from an earlier version has group and other access taken away.
fn prepare_private_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::owner_only::create_dir_all(parent)?;
    }
    match crate::owner_only::create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                crate::owner_only::restrict(std::path::Path::new(&file))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `AND <column> IN (…)` limiting a query to `ids`, or nothing when `ids` is `None` (no limit);
/// an empty list matches nothing. Ids are integers, so inlining them is safe.
pub fn and_in<T: Copy + Into<i64>>(column: &str, ids: Option<&[T]>) -> String {
    match ids {
        None => String::new(),
        Some(ids) => format!(" AND {}", in_list(column, ids)),
    }
}

fn split_statements(sql: &str) -> Vec<String> {
    sql.split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim().to_string())
        .filter(|s| !s.is_empty() && !s.lines().all(|l| l.trim().is_empty() || l.trim().starts_with("--")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_line_ends() {
        let parts = split_statements("CREATE TABLE a (x TEXT);\n-- note\nCREATE INDEX i ON a (x);\n");
        assert_eq!(parts.len(), 2);
        assert!(parts[1].ends_with("(x)"));
    }
}

/// Declares a row struct read by column name: each field is read from the column of the same
/// name (`SELECT b.id, b.name AS building_name …`), so a SELECT's column order can change
/// without moving values between fields. `sqlx::FromRow` for the `Any` driver, without
/// sqlx's derive (which builds SQLite's C library a second time for the proc-macro; ADR 014).
/// Flags are `i64` (0/1) as stored on both engines.
#[macro_export]
macro_rules! row {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])* $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }
        impl<'r> ::sqlx::FromRow<'r, ::sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r ::sqlx::any::AnyRow) -> ::std::result::Result<Self, ::sqlx::Error> {
                use ::sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

/// The distinct ids among `ids`, in order: what a batch lookup by id asks for.
pub fn distinct_ids<T: Ord>(ids: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `column IN (…)` for a list of ids, and a condition that is false (never unknown, so it can
/// be negated) when the list is empty: ids are numbers, so the list is safe to write into the SQL.
pub fn in_list<T: Copy + Into<i64>>(column: &str, ids: &[T]) -> String {
    if ids.is_empty() {
        return "1 = 0".to_string();
    }
    let list: Vec<String> = ids.iter().map(|id| (*id).into().to_string()).collect();
    format!("{column} IN ({})", list.join(","))
}
