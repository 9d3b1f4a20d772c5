//! The cases capability's queries: what is read and written in its tables, in one place.

use kernel::db::Db;
use kernel::AppResult;

/// What search looks in for a case: its report and its place, folded.
pub fn search_text(text: &str, place: &str) -> String {
    kernel::query::fold(&format!("{text} {place}"))
}

/// Fills `search_text` for cases filed before it was kept, 500 at a time.
pub async fn fill_search_text(db: &Db) -> AppResult<u64> {
    let mut done = 0;
    loop {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, text, place FROM cases WHERE search_text IS NULL ORDER BY id LIMIT 500").fetch_all(&db.pool).await?;
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = db.begin_write().await?;
        for (id, text, place) in rows {
            sqlx::query("UPDATE cases SET search_text = $1 WHERE id = $2").bind(search_text(&text, &place)).bind(id).execute(&mut *tx).await?;
            done += 1;
        }
        tx.commit().await?;
    }
}
