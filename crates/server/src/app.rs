//! Composes the capabilities' manifests into one application.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kernel::clock::SharedClock;
use kernel::config::Config;
use kernel::crypto::FieldCipher;
use kernel::db::{Db, Migration};
use kernel::jobs::JobRegistry;
use kernel::manifest::Manifest;
use kernel::metrics::Metrics;
use kernel::state::{AppState, Inner};
use kernel::{AppError, AppResult};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Every capability, in dependency order (migrations and demo seeds run in this order).
pub fn manifests() -> Vec<Manifest> {
    vec![notify::manifest(), accounts::manifest(), files::manifest(), registry::manifest(), cases::manifest()]
}

/// Kernel migrations followed by every capability's.
pub fn all_migrations() -> Vec<Migration> {
    let mut all = kernel::migrations::MIGRATIONS.to_vec();
    for m in manifests() {
        all.extend_from_slice(m.migrations);
    }
    all
}

/// Connects to the database, applies migrations and builds the shared state.
pub async fn build_state(config: Config, clock: SharedClock) -> AppResult<AppState> {
    let secret = config.resolve_secret().map_err(AppError::internal)?;
    let db = Db::connect(&config.database_url(), config.db_max_connections).await?;
    let applied = db.migrate(&all_migrations(), clock.now_ms()).await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let mut jobs = JobRegistry::default();
    for m in manifests() {
        for (kind, handler) in (m.jobs)() {
            jobs.register(kind, handler);
        }
    }
    files::service::store(&config).ensure_ready().await.map_err(AppError::internal)?;
    let base_url = config.public_base_url(config.port);
    Ok(AppState::new(Inner {
        db,
        clock,
        cipher: FieldCipher::from_secret(&secret),
        config,
        jobs: Arc::new(jobs),
        base_url,
        metrics: Metrics::default(),
        sessions: Default::default(),
    }))
}

#[derive(Clone)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&kernel::crypto::random_token(12)).ok().map(RequestId::new)
    }
}

const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/static/{name}", get(kernel::assets::serve))
        .merge(crate::portal::router());
    for m in manifests() {
        app = app.merge((m.api)()).merge((m.web)());
    }
    app.fallback(kernel::web::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), kernel::web::frame))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, RandomRequestId))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> AppResult<Response> {
    let pending = kernel::jobs::count_by_state(&state, "pending").await?;
    let dead = kernel::jobs::count_by_state(&state, "dead").await?;
    let body = state.metrics.render(&[
        ("linli_jobs_pending", "Background jobs waiting to run.", pending),
        ("linli_jobs_dead", "Background jobs dead-lettered.", dead),
    ]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// The OpenAPI 3.1 document: every capability's paths merged into one.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    #[derive(OpenApi)]
    #[openapi(
        info(title = "Linli API", description = "Linli (邻里) community service platform. Errors share one shape: `{\"error\": {\"code\", \"message\", \"fields\"}}`. Lists use cursor pagination (`cursor`, `limit`, `next_cursor`). Authenticate with the session cookie or `Authorization: Bearer <API key>`."),
        components(schemas(kernel::web::ErrorBody))
    )]
    struct Root;
    let mut doc = Root::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.merge(crate::portal::Doc::openapi());
    for m in manifests() {
        doc.merge((m.openapi)());
    }
    doc
}

async fn openapi_json() -> Response {
    static DOC: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| openapi().to_json().expect("openapi serialises"));
    ([(header::CONTENT_TYPE, "application/json")], DOC.as_str()).into_response()
}

/// Personal data held about `user_id`, from every capability (the PIPL download).
pub async fn personal_data(state: &AppState, user_id: i64) -> AppResult<serde_json::Value> {
    let mut out = serde_json::Map::new();
    for m in manifests() {
        if let Some(collect) = m.personal_data {
            out.insert(m.name.to_string(), collect(state, user_id).await?);
        }
    }
    Ok(serde_json::Value::Object(out))
}

