//! Domain events (docs/architecture.md): the needs express announces what happened in the
//! transaction that made it happen, and another capability reacts through a subscriber that
//! runs as a durable job: once per event even when retried, each subscriber on its own.
//! The other capability here is a small example plugged in as a real one is.

use cases::events::{CaseFiled, CaseMoved};
use cases::domain::State;
use kernel::events::BoxFuture;
use kernel::auth::Role;
use kernel::db::{Migration, WriteTx};
use kernel::events::{Event, Subscriber};
use kernel::manifest::Manifest;
use kernel::state::AppState;
use kernel::AppResult;
use std::sync::atomic::{AtomicUsize, Ordering};
use testkit::TestApp;

/// Remembers the moves it hears of, in a table of its own.
fn remember<'a>(_state: &'a AppState, tx: &'a mut WriteTx, event: &'a Event) -> BoxFuture<'a, AppResult<()>> {
    Box::pin(async move {
        let moved: CaseMoved = event.decode()?;
        sqlx::query("INSERT INTO example_moves (event_id, case_id, to_state) VALUES ($1, $2, $3)")
            .bind(event.id)
            .bind(moved.case_id)
            .bind(serde_json::to_value(moved.to).unwrap().as_str().unwrap_or_default().to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
}

/// Counts filings, but fails its first two runs (a flaky outside service, say).
static FLAKY_RUNS: AtomicUsize = AtomicUsize::new(0);
fn count_filed<'a>(_state: &'a AppState, tx: &'a mut WriteTx, event: &'a Event) -> BoxFuture<'a, AppResult<()>> {
    Box::pin(async move {
        let filed: CaseFiled = event.decode()?;
        sqlx::query("INSERT INTO example_filed (case_id) VALUES ($1)").bind(filed.case_id).execute(&mut **tx).await?;
        if FLAKY_RUNS.fetch_add(1, Ordering::SeqCst) < 2 {
            // Its write rolls back with the failure.
            return Err(kernel::AppError::internal("the outside service is down"));
        }
        Ok(())
    })
}

fn example() -> Manifest {
    Manifest {
        name: "example",
        migrations: &[Migration {
            id: "example_0001_tables",
            sql: "CREATE TABLE example_moves (event_id BIGINT NOT NULL, case_id BIGINT NOT NULL, to_state TEXT NOT NULL);\nCREATE TABLE example_filed (case_id BIGINT NOT NULL);\n",
        }],
        subscribers: || {
            vec![
                Subscriber { event: "cases.moved", name: "example.remember_moves", handle: remember },
                Subscriber { event: "cases.filed", name: "example.count_filed", handle: count_filed },
            ]
        },
        ..Manifest::named("example")
    }
}

#[tokio::test]
async fn a_subscriber_hears_each_event_once_and_a_failing_one_is_retried_on_its_own() {
    let app = TestApp::start_with_capabilities(vec![example()]).await;
    let c = app.community("renjia", "南京人家社区").await;
    app.user("13800000001", "周晓梅", c, &[Role::Staff]).await;
    app.user("13800000006", "李秀英", c, &[Role::Resident]).await;
    let resident = app.login("13800000006").await;
    let staff = app.login("13800000001").await;
    let res = resident.post_json("/api/v1/communities/renjia/cases", &serde_json::json!({"text": "3栋楼道的声控灯坏了"})).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    for to in ["acknowledged", "resolved"] {
        let res = staff.post_json(&format!("/api/v1/cases/{id}/moves"), &serde_json::json!({"to": to, "note": "已处理"})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let moves = |app: &TestApp| {
        let pool = app.state.db.pool.clone();
        async move { sqlx::query_as::<_, (i64, String)>("SELECT case_id, to_state FROM example_moves ORDER BY event_id").fetch_all(&pool).await.unwrap() }
    };
    assert!(moves(&app).await.is_empty(), "nothing runs before the jobs do");
    app.run_jobs().await;
    assert_eq!(moves(&app).await, vec![(id, "acknowledged".to_string()), (id, "resolved".to_string())]);
    // The flaky subscriber failed without holding up the other, and kept nothing of its run.
    let filed = || {
        let pool = app.state.db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM example_filed").fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(filed().await, 0);
    // It is retried with backoff until it succeeds, and then it has run once.
    for _ in 0..4 {
        app.clock.advance(kernel::clock::HOUR);
        app.run_jobs().await;
    }
    assert_eq!(filed().await, 1);
    assert!(FLAKY_RUNS.load(Ordering::SeqCst) >= 3);
    // Delivering again (a retry after a crash, say) does nothing twice.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let events: Vec<i64> = sqlx::query_scalar("SELECT id FROM domain_events ORDER BY id").fetch_all(&mut *tx).await.unwrap();
    for e in &events {
        kernel::jobs::enqueue(&mut tx, "kernel.event_delivery", &serde_json::json!({"event": e, "subscriber": "example.remember_moves"}), 0, 0).await.unwrap();
    }
    tx.commit().await.unwrap();
    app.run_jobs().await;
    assert_eq!(moves(&app).await.len(), 2);
    // The events themselves name the case and its states, not the report's words.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM domain_events").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(payloads.iter().all(|p| !p.contains("声控灯")), "{payloads:?}");
    let moved: Vec<State> = moves(&app).await.iter().map(|(_, s)| State::parse(s).unwrap()).collect();
    assert_eq!(moved, vec![State::Acknowledged, State::Resolved]);
}

#[tokio::test]
async fn nothing_is_announced_of_a_change_that_rolled_back() {
    let app = TestApp::start_with_capabilities(vec![example()]).await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    let moved = CaseMoved { case_id: cases::domain::CaseId::new(1), from: State::New, to: State::Acknowledged, by_staff: true };
    kernel::events::publish(&app.state, &mut tx, app.state.now(), None, &moved).await.unwrap();
    drop(tx);
    app.run_jobs().await;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM domain_events").fetch_one(&app.state.db.pool).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!((events, jobs), (0, 0));
}
