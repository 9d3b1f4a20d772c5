//! JSON API: log in and out, my profile and preferences.

use crate::service;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use kernel::auth::{Membership, User, SESSION_COOKIE, SESSION_TTL_MS};
use kernel::i18n::Locale;
use kernel::web::{set_cookie, ApiJson, ClientIp};
use kernel::{AppError, AppResult, AppState};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/sms-code", post(sms_code))
        .route("/api/v1/auth/sms-login", post(sms_login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/preferences", patch(preferences))
}

/// Phone and password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordLogin {
    /// Mainland mobile number.
    pub phone: String,
    /// Password.
    pub password: String,
}

/// A phone number.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// Mainland mobile number.
    pub phone: String,
}

/// Phone and the code received by SMS.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeLogin {
    /// Mainland mobile number.
    pub phone: String,
    /// Six digits.
    pub code: String,
}

/// The logged-in person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User id.
    pub id: kernel::auth::UserId,
    /// Display name.
    pub display_name: String,
    /// Phone, masked.
    pub phone: String,
    /// `zh-CN` or `en`.
    pub locale: String,
    /// 适老化 mode.
    pub elder_mode: bool,
    /// Deployment administrator.
    pub superadmin: bool,
    /// Roles per community.
    #[schema(value_type = Vec<Object>)]
    pub memberships: Vec<Membership>,
}

fn me_of(user: &kernel::auth::Principal) -> AppResult<Me> {
    Ok(Me {
        id: user.person()?,
        display_name: user.display_name.clone(),
        phone: kernel::crypto::mask_phone(&user.phone),
        locale: user.locale.tag().to_string(),
        elder_mode: user.elder_mode,
        superadmin: user.superadmin,
        memberships: user.memberships.clone(),
    })
}

fn user_agent(headers: &HeaderMap) -> &str {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn logged_in_response(state: &AppState, logged: service::LoggedIn) -> AppResult<Response> {
    let p = kernel::auth::load_user(state, logged.user_id).await?.ok_or(AppError::Unauthorized)?;
    let mut res = Json(me_of(&p)?).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &logged.token, SESSION_TTL_MS / 1000, state.config.secure_cookies),
    );
    Ok(res)
}

/// Logs in with phone and password; sets the session cookie. Five tries per number from one
/// source (twenty from all) in 15 minutes, then 429 until the 15 minutes are over; SMS codes
/// still work.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = PasswordLogin,
    responses((status = 200, body = Me), (status = 422, body = kernel::web::ErrorBody), (status = 429, body = kernel::web::ErrorBody)))]
async fn login(State(state): State<AppState>, source: ClientIp, headers: HeaderMap, ApiJson(body): ApiJson<PasswordLogin>) -> AppResult<Response> {
    let logged = service::password_login(&state, &body.phone, &body.password, &source, user_agent(&headers)).await?;
    logged_in_response(&state, logged).await
}

/// Sends a one-time login code by SMS (answers the same for unregistered numbers).
#[utoipa::path(post, path = "/api/v1/auth/sms-code", tag = "accounts", request_body = CodeRequest,
    responses((status = 202), (status = 422, body = kernel::web::ErrorBody), (status = 429, body = kernel::web::ErrorBody)))]
async fn sms_code(State(state): State<AppState>, ApiJson(body): ApiJson<CodeRequest>) -> AppResult<StatusCode> {
    service::request_code(&state, &body.phone).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Logs in with an SMS code; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/sms-login", tag = "accounts", request_body = CodeLogin,
    responses((status = 200, body = Me), (status = 422, body = kernel::web::ErrorBody), (status = 429, body = kernel::web::ErrorBody)))]
async fn sms_login(State(state): State<AppState>, headers: HeaderMap, ApiJson(body): ApiJson<CodeLogin>) -> AppResult<Response> {
    let logged = service::code_login(&state, &body.phone, &body.code, user_agent(&headers)).await?;
    logged_in_response(&state, logged).await
}

/// Ends the session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", responses((status = 204)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = kernel::web::cookie(&headers, SESSION_COOKIE) {
        kernel::auth::end_session(&state, token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies));
    Ok(res)
}

/// Who I am.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = kernel::web::ErrorBody)))]
async fn me(user: User) -> AppResult<Json<Me>> {
    Ok(Json(me_of(&user)?))
}

/// Preferences to change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// `zh-CN` or `en`.
    pub locale: Option<String>,
    /// 适老化 mode.
    pub elder_mode: Option<bool>,
}

/// Changes my language or elder mode.
#[utoipa::path(patch, path = "/api/v1/me/preferences", tag = "accounts", request_body = Preferences,
    responses((status = 200, body = Me), (status = 422, body = kernel::web::ErrorBody)))]
async fn preferences(State(state): State<AppState>, user: User, ApiJson(body): ApiJson<Preferences>) -> AppResult<Json<Me>> {
    let locale = match body.locale.as_deref() {
        None => None,
        Some(tag) => Some(Locale::parse(tag).ok_or_else(|| AppError::field("locale", "invalid_choice"))?),
    };
    let uid = user.person()?;
    service::set_preferences(&state, uid, locale, body.elder_mode).await?;
    let p = kernel::auth::load_user(&state, uid).await?.ok_or(AppError::Unauthorized)?;
    Ok(Json(me_of(&p)?))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(login, sms_code, sms_login, logout, me, preferences))]
pub(crate) struct Doc;
