//! Migrations: each applied one is recorded with a checksum of its text, and a database whose
//! applied migration has since changed refuses to start (a schema change is a new migration).

use kernel::db::Migration;
use testkit::TestApp;

#[tokio::test]
async fn a_changed_applied_migration_stops_the_start() {
    let app = TestApp::start().await;
    let all = linli::app::all_migrations();
    // Everything is applied already: nothing to do, and the checksums agree.
    assert_eq!(app.state.db.migrate(&all, app.state.now()).await.unwrap(), 0);
    let recorded: Option<String> = sqlx::query_scalar("SELECT checksum FROM schema_migrations WHERE id = $1")
        .bind(all[0].id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(recorded.as_deref(), Some(all[0].checksum().as_str()));
    // One applied migration edited in place.
    let mut changed = all.clone();
    let last = changed.len() - 1;
    let edited: &'static str = Box::leak(format!("{}\n-- edited", changed[last].sql).into_boxed_str());
    changed[last] = Migration { id: changed[last].id, sql: edited };
    let err = app.state.db.migrate(&changed, app.state.now()).await.unwrap_err();
    assert!(err.to_string().contains(changed[last].id) && err.to_string().contains("changed after it was applied"), "{err}");
}

#[tokio::test]
async fn a_flag_outside_its_values_is_refused_on_both_engines() {
    let app = TestApp::start().await;
    let c = app.community("renjia", "南京人家社区").await;
    let now = app.state.now();
    let insert = |private: i64| {
        sqlx::query(
            "INSERT INTO cases (community_id, source, anonymous, text, place, urgency, category, triage_reasons, state, first_response_due, result_due, \
             created_at, updated_at, private) VALUES ($1, 'resident', 1, '路灯坏了', '', 'normal', 'repair', '[]', 'new', $2, $2, $2, $2, $3)",
        )
        .bind(c)
        .bind(now)
        .bind(private)
    };
    let mut tx = app.state.db.begin_write().await.unwrap();
    assert!(insert(2).execute(&mut *tx).await.is_err(), "private = 2 is refused");
    drop(tx);
    let mut tx = app.state.db.begin_write().await.unwrap();
    insert(1).execute(&mut *tx).await.unwrap();
    assert!(sqlx::query("UPDATE cases SET private = 5").execute(&mut *tx).await.is_err(), "and cannot be set later");
}

/// The documented way to change a constraint on both engines (docs/architecture.md): PostgreSQL
/// alters it; SQLite rebuilds the table, and its children keep their rows.
#[tokio::test]
async fn widening_an_enum_keeps_the_rows_that_refer_to_the_table() {
    let app = TestApp::start().await;
    let db = &app.state.db;
    let first = [Migration {
        id: "example_0001_tables",
        sql: r#"
CREATE TABLE example_parent (id {id}, kind TEXT NOT NULL CONSTRAINT example_parent_kind CHECK (kind IN ('a', 'b')));
CREATE TABLE example_child (id {id}, parent_id BIGINT NOT NULL REFERENCES example_parent (id) ON DELETE CASCADE);
"#,
    }];
    db.migrate(&first, 0).await.unwrap();
    let mut tx = db.begin_write().await.unwrap();
    let parent: i64 = sqlx::query_scalar("INSERT INTO example_parent (kind) VALUES ('a') RETURNING id").fetch_one(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO example_child (parent_id) VALUES ($1)").bind(parent).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let widen = [
        first[0],
        Migration {
            id: "example_0002_kind_c",
            sql: r#"
/*postgres*/ ALTER TABLE example_parent DROP CONSTRAINT example_parent_kind;
/*postgres*/ ALTER TABLE example_parent ADD CONSTRAINT example_parent_kind CHECK (kind IN ('a', 'b', 'c'));
/*sqlite*/ CREATE TABLE example_parent_new (id {id}, kind TEXT NOT NULL CONSTRAINT example_parent_kind CHECK (kind IN ('a', 'b', 'c')));
/*sqlite*/ INSERT INTO example_parent_new (id, kind) SELECT id, kind FROM example_parent;
/*sqlite*/ DROP TABLE example_parent;
/*sqlite*/ ALTER TABLE example_parent_new RENAME TO example_parent;
"#,
        },
    ];
    assert_eq!(db.migrate(&widen, 0).await.unwrap(), 1);
    let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM example_child").fetch_one(&db.pool).await.unwrap();
    assert_eq!(children, 1, "the child row survives the rebuild");
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("INSERT INTO example_parent (kind) VALUES ('c')").execute(&mut *tx).await.unwrap();
    assert!(sqlx::query("INSERT INTO example_parent (kind) VALUES ('d')").execute(&mut *tx).await.is_err());
}
