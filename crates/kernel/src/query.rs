//! Queries whose shape depends on the request — optional filters, lists of ids, search words —
//! are built with sea-query, which writes the placeholders each engine expects and binds the
//! values (ADR 015); fixed SQL stays plain text in the capability's store. Search is
//! case-insensitive the same way on both engines: what is searched is kept folded
//! ([`fold`]) in a column of its own, and the words are folded the same way before `LIKE`.

use crate::db::{Backend, Db};
pub use sea_query::{Alias, Cond, Expr, IntoCondition, JoinType, LikeExpr, Order, PostgresQueryBuilder, Query, SelectStatement, SimpleExpr, SqliteQueryBuilder};
pub use sea_query_binder::SqlxBinder;
use sea_query_binder::SqlxValues;

impl Db {
    /// `statement` as SQL for this database, with its values to bind
    /// (`sqlx::query_as_with(&sql, values)`).
    pub fn build<S: SqlxBinder>(&self, statement: &S) -> (String, SqlxValues) {
        match self.backend {
            Backend::Sqlite => statement.build_sqlx(sea_query::SqliteQueryBuilder),
            Backend::Postgres => statement.build_sqlx(sea_query::PostgresQueryBuilder),
        }
    }
}

/// `table.column`: `col("c", "state")`.
pub fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// A condition written as SQL, for what has no builder form (a `CASE`, a condition another
/// module wrote with values it checked). It must carry no placeholders.
pub fn raw(sql: impl Into<String>) -> SimpleExpr {
    Expr::cust(sql.into())
}

/// Text as search compares it: in Unicode's compatibility form (NFKC: full-width letters,
/// digits and signs `ＡＢＣ３栋` half-width, an accent typed apart joined to its letter, the
/// ideographic space a space), every letter lower-case (Unicode's rules, not only ASCII's),
/// invisible format characters (a zero-width space) gone, and runs of white space one space.
pub fn fold(text: &str) -> String {
    normal(text).to_lowercase()
}

/// `text` as it is kept where a name must match however it was typed: Unicode's compatibility
/// form (full-width digits and letters as ASCII), no invisible characters, runs of spaces as one,
/// case kept.
pub fn normal(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let normal: String = text.nfkc().filter(|c| !is_format(*c)).collect();
    normal.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Unicode's invisible format characters (category Cf) that phones and pasted text carry.
fn is_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// `LIKE` on a folded column for text containing `words` (folded here), with `%`, `_` and `\`
/// in the words taken literally.
pub fn contains(column: Expr, words: &str) -> SimpleExpr {
    let escaped = fold(words).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    column.like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_lower_case_and_half_width() {
        assert_eq!(fold("  ＡＢＣ３栋\u{3000}Élan  ÖL  "), "abc3栋 élan öl");
        assert_eq!(fold("Zoe\u{308}"), fold("Zoë"), "an accent typed apart is the same letter");
        assert_eq!(fold("李\u{200B}秀英"), "李秀英");
        assert_eq!(fold("ΣΟΦΙΑ"), "σοφια");
        assert_eq!(fold("李秀英"), "李秀英");
    }

    #[test]
    fn a_built_select_has_each_engines_placeholders() {
        let mut q = Query::select();
        q.column((Alias::new("c"), Alias::new("id")))
            .from_as(Alias::new("cases"), Alias::new("c"))
            .cond_where(Cond::all().add(col("c", "community_id").eq(7)).add(contains(col("c", "search_text"), "50%_Ｏff")));
        let (pg, _) = q.build_sqlx(sea_query::PostgresQueryBuilder);
        let (lite, _) = q.build_sqlx(sea_query::SqliteQueryBuilder);
        assert!(pg.contains("$1") && pg.contains("$2"), "{pg}");
        assert!(lite.contains('?'), "{lite}");
        assert!(pg.contains("ESCAPE"), "{pg}");
    }
}
