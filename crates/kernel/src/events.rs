//! Domain events: a capability announces what happened (`cases.resolved`) inside the write
//! transaction that made it happen, and other capabilities react to it without being called.
//!
//! Publishing records the event and enqueues one delivery job per subscriber, in the caller's
//! transaction: nothing is announced of a change that rolled back, and nothing committed goes
//! unannounced. Each delivery runs its subscriber in a write transaction of its own that also
//! records the delivery, so a delivery retried after a failure or a crash does its work once. A subscriber that fails is retried with backoff and
//! dead-lettered like any job, without holding up the others (docs/architecture.md).

use crate::community::CommunityId;
use crate::db::WriteTx;
use crate::error::{AppError, AppResult};
use crate::jobs::{JobFailure, JobHandler, JobRun};
use crate::state::AppState;
use async_trait::async_trait;
pub use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;

/// What a capability announces: a name (`<capability>.<what happened>`) and a payload.
pub trait DomainEvent: Serialize + DeserializeOwned {
    /// The event's name, e.g. `cases.resolved`.
    const NAME: &'static str;
}

/// An event as a subscriber receives it.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id: a subscriber may use it to make its own work idempotent.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The community it happened in, if any.
    pub community_id: Option<CommunityId>,
    /// When (epoch ms).
    pub at: i64,
    payload: String,
}

impl Event {
    /// The payload as the publisher's type.
    pub fn decode<E: DomainEvent>(&self) -> AppResult<E> {
        if self.name != E::NAME {
            return Err(AppError::internal(format!("event {} read as {}", self.name, E::NAME)));
        }
        serde_json::from_str(&self.payload).map_err(|e| AppError::internal(format!("event {} payload: {e}", self.id)))
    }
}

/// Runs a subscriber: in the delivery's write transaction (`tx`), which also records it.
pub type EventHandler = for<'a> fn(&'a AppState, &'a mut WriteTx, &'a Event) -> BoxFuture<'a, AppResult<()>>;

/// A capability's reaction to another's event.
#[derive(Clone, Copy)]
pub struct Subscriber {
    /// The event it reacts to.
    pub event: &'static str,
    /// Its unique name, e.g. `points.award_for_resolved_case` (deliveries are recorded by it).
    pub name: &'static str,
    /// What it does.
    pub handle: EventHandler,
}

/// Announces `event` in the caller's transaction, with a delivery for each subscriber; returns
/// its id.
pub async fn publish<E: DomainEvent>(state: &AppState, tx: &mut WriteTx, now: i64, community_id: Option<CommunityId>, event: &E) -> AppResult<i64> {
    let payload = serde_json::to_string(event).map_err(AppError::internal)?;
    let id: i64 = sqlx::query_scalar("INSERT INTO domain_events (name, community_id, payload, at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(E::NAME)
        .bind(community_id)
        .bind(payload)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    for s in state.subscribers.iter().filter(|s| s.event == E::NAME) {
        crate::jobs::enqueue(tx, DELIVER, &serde_json::json!({ "event": id, "subscriber": s.name }), now, now).await?;
    }
    Ok(id)
}

/// Job kind: run one subscriber on one event.
const DELIVER: &str = "kernel.event_delivery";

/// The kernel's job handler for events, registered with every capability's.
pub fn jobs() -> Vec<(&'static str, Arc<dyn JobHandler>)> {
    vec![(DELIVER, Arc::new(Deliver))]
}

async fn load(state: &AppState, id: i64) -> AppResult<Option<Event>> {
    crate::row! {
        struct EventRow {
            id: i64,
            name: String,
            community_id: Option<CommunityId>,
            payload: String,
            at: i64,
        }
    }
    let row: Option<EventRow> = sqlx::query_as("SELECT id, name, community_id, payload, at FROM domain_events WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.map(|r| Event { id: r.id, name: r.name, community_id: r.community_id, at: r.at, payload: r.payload }))
}

fn event_id(payload: &serde_json::Value) -> Result<i64, JobFailure> {
    payload["event"].as_i64().ok_or_else(|| JobFailure("no event id".into()))
}

struct Deliver;

#[async_trait]
impl JobHandler for Deliver {
    async fn run(&self, state: &AppState, payload: serde_json::Value, _run: JobRun) -> Result<(), JobFailure> {
        let id = event_id(&payload)?;
        let name = payload["subscriber"].as_str().ok_or_else(|| JobFailure("no subscriber".into()))?;
        let subscriber = state
            .subscribers
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| JobFailure(format!("no subscriber {name} in this version")))?;
        let Some(event) = load(state, id).await? else { return Ok(()) };
        let mut tx = state.db.begin_write().await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT event_id FROM event_deliveries WHERE event_id = $1 AND subscriber = $2")
            .bind(id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            return Ok(());
        }
        (subscriber.handle)(state, &mut tx, &event).await.map_err(|e| JobFailure(e.to_string()))?;
        sqlx::query("INSERT INTO event_deliveries (event_id, subscriber, delivered_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(state.now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
