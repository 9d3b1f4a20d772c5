//! Background jobs: transactional enqueue, run-at scheduling, dead letters, and two nodes
//! sharing one PostgreSQL database without running a job twice.

use kernel::clock::HOUR;
use kernel::i18n::Locale;
use kernel::jobs::{backoff_ms, DEFAULT_MAX_ATTEMPTS};
use notify::{Channel, Message};
use sqlx::Row;
use testkit::TestApp;

fn sms(to: &str, key: &str) -> Message {
    Message {
        community_id: None,
        user_id: None,
        channel: Channel::Sms,
        to: to.into(),
        template: "login_code",
        params: vec![("code", "135790".into()), ("minutes", "5".into())],
        secret_params: &[],
        link: None,
        locale: Locale::ZhCn,
        idempotency_key: key.into(),
    }
}

/// `(state, attempts, last_error)` of a job.
async fn job(app: &TestApp, id: i64) -> (String, i64, Option<String>) {
    let row = sqlx::query("SELECT state, attempts, last_error FROM jobs WHERE id = $1").bind(id).fetch_one(&app.state.db.pool).await.unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn jobs_total(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(&app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs() {
    let (app, gw) = TestApp::start_with_sms().await;
    {
        let mut tx = app.state.db.begin_write().await.unwrap();
        notify::service::send(&mut tx, app.state.now(), &sms("13800000001", "rolled-back:1")).await.unwrap();
        kernel::jobs::enqueue(&mut tx, "test.rolled_back", &serde_json::json!({}), app.state.now(), app.state.now()).await.unwrap();
        // Dropped without commit (a later step of the change failed): its work must not happen.
        drop(tx);
    }
    app.clock.advance(HOUR);
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(jobs_total(&app).await, 0);
    let outbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(outbox, 0);
    assert_eq!(gw.calls(), 0);
}

#[tokio::test]
async fn a_job_scheduled_in_the_future_waits_for_the_clock() {
    let app = TestApp::start().await;
    let now = app.state.now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let id = kernel::jobs::enqueue(&mut tx, "test.later", &serde_json::json!({"n": 1}), now + 2 * HOUR, now).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(app.run_jobs().await, 0);
    app.clock.advance(2 * HOUR - 1);
    assert_eq!(app.run_jobs().await, 0, "one millisecond early");
    assert_eq!(job(&app, id).await, ("pending".into(), 0, None), "untouched before its time");
    app.clock.advance(1);
    assert_eq!(app.run_jobs().await, 1);
    // It ran (there is no handler for this kind, so it failed and waits for its retry).
    let (state, attempts, _) = job(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("pending", 1));
}

#[tokio::test]
async fn a_future_sms_is_sent_when_its_time_comes() {
    let (app, gw) = TestApp::start_with_sms().await;
    let now = app.state.now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    // An outbox row whose delivery is scheduled for tomorrow morning (a reminder, say).
    let outbox_id = notify::service::send(&mut tx, now, &sms("13800000001", "reminder:1")).await.unwrap();
    sqlx::query("DELETE FROM jobs").execute(&mut *tx).await.unwrap();
    kernel::jobs::enqueue(&mut tx, notify::service::DELIVER_JOB, &serde_json::json!({"outbox_id": outbox_id}), now + 24 * HOUR, now).await.unwrap();
    tx.commit().await.unwrap();
    app.clock.advance(24 * HOUR - 1);
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(gw.calls(), 0);
    app.clock.advance(1);
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(gw.sent().len(), 1);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease() {
    let (app, gw) = TestApp::start_with_sms().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    notify::service::send(&mut tx, app.state.now(), &sms("13800000001", "orphan:1")).await.unwrap();
    tx.commit().await.unwrap();
    // A worker claimed it and then the process was killed: it stays `running` under a lease.
    sqlx::query("UPDATE jobs SET state = 'running', attempts = 1, locked_until = $1")
        .bind(app.state.now() + 5 * kernel::clock::MINUTE)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.clock.advance(kernel::clock::MINUTE);
    assert_eq!(app.run_jobs().await, 0, "not taken from a worker that may still be running it");
    app.clock.advance(HOUR);
    assert_eq!(app.run_jobs().await, 1, "taken over once the lease ran out");
    assert_eq!(gw.sent().len(), 1);
    let id: i64 = sqlx::query_scalar("SELECT id FROM jobs").fetch_one(&app.state.db.pool).await.unwrap();
    let (state, attempts, _) = job(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("done", 2));
}

#[tokio::test]
async fn an_unknown_job_kind_is_dead_lettered_after_max_attempts() {
    let app = TestApp::start().await;
    let now = app.state.now();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let id = kernel::jobs::enqueue(&mut tx, "test.nobody_handles_this", &serde_json::json!({}), now, now).await.unwrap();
    tx.commit().await.unwrap();

    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        assert_eq!(app.run_jobs().await, 1, "attempt {attempt}");
        if attempt < DEFAULT_MAX_ATTEMPTS {
            assert_eq!(job(&app, id).await.0, "pending");
            app.clock.advance(backoff_ms(attempt) - 1);
            assert_eq!(app.run_jobs().await, 0, "retry {attempt} ran early");
            app.clock.advance(1);
        }
    }
    let (state, attempts, last_error) = job(&app, id).await;
    assert_eq!((state.as_str(), attempts), ("dead", DEFAULT_MAX_ATTEMPTS));
    assert!(last_error.as_deref().is_some_and(|e| e.contains("no handler") && e.contains("test.nobody_handles_this")), "{last_error:?}");
    app.clock.advance(30 * 24 * HOUR);
    assert_eq!(app.run_jobs().await, 0, "dead jobs stay dead");
    assert_eq!(kernel::jobs::count_by_state(&app.state, "dead").await.unwrap(), 1);
    let metrics = app.client().get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("\nlinli_jobs_dead 1\n"), "{metrics}");
    // Jobs are left behind: it leaves a dead job on purpose.
    app.allow_leftover_jobs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgres_run_each_job_exactly_once() {
    // Two nodes share a database only on PostgreSQL.
    if !testkit::on_engine("postgres", "two_nodes_on_one_postgres_run_each_job_exactly_once") {
        return;
    }
    const N: usize = 200;
    let (app, gw) = TestApp::start_with_sms().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    for i in 0..N {
        notify::service::send(&mut tx, app.state.now(), &sms("13800000001", &format!("race:{i}"))).await.unwrap();
    }
    tx.commit().await.unwrap();
    let node_a = app.state.clone();
    let node_b = app.second_node().await;

    // Two workers per node, all claiming at once.
    let workers: Vec<_> = [node_a.clone(), node_a, node_b.clone(), node_b]
        .into_iter()
        .map(|state| tokio::spawn(async move { kernel::jobs::run_due(&state).await.expect("run_due") }))
        .collect();
    let mut ran = Vec::new();
    for w in workers {
        ran.push(w.await.unwrap());
    }
    assert_eq!(ran.iter().sum::<usize>(), N, "jobs run per worker: {ran:?}");
    assert!(ran[0] + ran[1] > 0 && ran[2] + ran[3] > 0, "both nodes should have taken part: {ran:?}");
    assert_eq!(gw.calls(), N, "the gateway was called once per message");
    assert_eq!(gw.sent().len(), N);
    assert_eq!(kernel::jobs::count_by_state(&app.state, "done").await.unwrap(), N as i64);
    let twice: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state <> 'sent' OR attempts <> 1").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(twice, 0, "every message sent in one attempt");
}
