//! Pages: log in (password or SMS code), log out, language and elder mode, password.

use crate::service;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use kernel::auth::{Viewer, SESSION_COOKIE, SESSION_TTL_MS};
use kernel::i18n::Locale;
use kernel::web::{render, render_status, safe_next, see_other, set_cookie, ApiQuery, ClientIp, PageCtx, WebForm, ELDER_COOKIE, LANG_COOKIE};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_password))
        .route("/login/code", post(send_code))
        .route("/login/sms", post(login_sms))
        .route("/logout", post(logout))
        .route("/prefs/lang", post(set_lang))
        .route("/prefs/elder", post(set_elder))
        .route("/me/password", get(password_page).post(change_password))
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    ctx: PageCtx,
    next: String,
    phone: String,
    mode: &'static str,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
    mode: Option<String>,
    /// Sent here by a form that arrived after the session lapsed: its words are kept.
    kept: Option<String>,
}

async fn login_page(ctx: PageCtx, ApiQuery(q): ApiQuery<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref()).to_string();
    if ctx.user.is_some() {
        return see_other(&next);
    }
    let mode = if q.mode.as_deref() == Some("sms") { "sms" } else { "password" };
    // Why the login page shows up in the middle of work, and that nothing typed is lost.
    let notice = q.kept.is_some().then(|| ctx.tr.t("login.draft_kept").to_string());
    render(&LoginPage { ctx, next, phone: String::new(), mode, error: None, notice })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn user_agent(headers: &HeaderMap) -> &str {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// When an SMS code may be asked for again, in words: how long from now, and the time of day.
pub fn code_wait(tr: kernel::i18n::Tr, now_ms: i64, retry_after_s: i64) -> String {
    let wait = if retry_after_s >= 60 {
        kernel::i18n::tf(tr.0, "login.wait_minutes", &[("m", (retry_after_s / 60).to_string()), ("s", (retry_after_s % 60).to_string())])
    } else {
        kernel::i18n::tf(tr.0, "login.wait_seconds", &[("s", retry_after_s.max(1).to_string())])
    };
    let at = kernel::clock::format_local(now_ms + retry_after_s * 1000);
    let time = at.rsplit(' ').next().unwrap_or(&at).to_string();
    kernel::i18n::tf(tr.0, "login.code_wait", &[("wait", wait), ("time", time)])
}

fn form_error(ctx: PageCtx, form: &LoginForm, mode: &'static str, err: AppError, now_ms: i64) -> Response {
    let message = match (err.fields().first(), &err) {
        (Some(f), _) => f.message(ctx.tr.0),
        // Asking for another code too soon: say when it can be sent.
        (None, AppError::TooManyRequests { retry_after_s }) if mode == "sms" && form.code.is_empty() => code_wait(ctx.tr, now_ms, *retry_after_s),
        (None, _) => err.message(ctx.tr.0),
    };
    let status = err.status();
    if matches!(err, AppError::Internal(_)) {
        return err.into_response();
    }
    let page = LoginPage {
        ctx,
        next: safe_next(form.next.as_deref()).to_string(),
        phone: form.phone.clone(),
        mode,
        error: Some(message),
        notice: None,
    };
    with_retry_after(render_status(status, &page), &err)
}

/// A form shown again after a 429 says when to try again, as the API does.
fn with_retry_after(mut res: Response, err: &AppError) -> Response {
    if let AppError::TooManyRequests { retry_after_s } = err {
        res.headers_mut().insert(header::RETRY_AFTER, (*retry_after_s).into());
    }
    res
}

fn logged_in(state: &AppState, token: &str, next: Option<&str>) -> Response {
    let mut res = see_other(safe_next(next));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, token, SESSION_TTL_MS / 1000, state.config.secure_cookies));
    res
}

async fn login_password(State(state): State<AppState>, ctx: PageCtx, source: ClientIp, headers: HeaderMap, WebForm(form): WebForm<LoginForm>) -> Response {
    match service::password_login(&state, &form.phone, &form.password, &source, user_agent(&headers)).await {
        Ok(l) => logged_in(&state, &l.token, form.next.as_deref()),
        Err(e) => form_error(ctx, &form, "password", e, state.now()),
    }
}

async fn send_code(State(state): State<AppState>, ctx: PageCtx, WebForm(form): WebForm<LoginForm>) -> Response {
    match service::request_code(&state, &form.phone).await {
        Ok(()) => {
            let notice = Some(ctx.tr.t("login.code_sent").to_string());
            let next = safe_next(form.next.as_deref()).to_string();
            render(&LoginPage { ctx, next, phone: form.phone, mode: "sms", error: None, notice })
        }
        Err(e) => form_error(ctx, &form, "sms", e, state.now()),
    }
}

async fn login_sms(State(state): State<AppState>, ctx: PageCtx, headers: HeaderMap, WebForm(form): WebForm<LoginForm>) -> Response {
    match service::code_login(&state, &form.phone, &form.code, user_agent(&headers)).await {
        Ok(l) => logged_in(&state, &l.token, form.next.as_deref()),
        Err(e) => form_error(ctx, &form, "sms", e, state.now()),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = kernel::web::cookie(&headers, SESSION_COOKIE) {
        kernel::auth::end_session(&state, token).await?;
    }
    let mut res = see_other("/");
    res.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies));
    Ok(res)
}

#[derive(Debug, Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

async fn set_lang(State(state): State<AppState>, viewer: Viewer, WebForm(form): WebForm<LangForm>) -> AppResult<Response> {
    let locale = Locale::parse(&form.lang).ok_or_else(|| AppError::field("lang", "invalid_choice"))?;
    if let Some(uid) = viewer.0.as_ref().and_then(|p| p.user_id) {
        service::set_preferences(&state, uid, Some(locale), None).await?;
    }
    let mut res = see_other(safe_next(form.next.as_deref()));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(LANG_COOKIE, locale.tag(), 365 * 86_400, state.config.secure_cookies));
    Ok(res)
}

#[derive(Debug, Deserialize)]
struct ElderForm {
    on: String,
    next: Option<String>,
}

async fn set_elder(State(state): State<AppState>, viewer: Viewer, WebForm(form): WebForm<ElderForm>) -> AppResult<Response> {
    let on = form.on == "1";
    if let Some(uid) = viewer.0.as_ref().and_then(|p| p.user_id) {
        service::set_preferences(&state, uid, None, Some(on)).await?;
    }
    let mut res = see_other(safe_next(form.next.as_deref()));
    res.headers_mut().append(header::SET_COOKIE, set_cookie(ELDER_COOKIE, if on { "1" } else { "0" }, 365 * 86_400, state.config.secure_cookies));
    Ok(res)
}

#[derive(Template)]
#[template(path = "accounts/password.html")]
struct PasswordPage {
    ctx: PageCtx,
    error: Option<String>,
    done: bool,
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn password_page(ctx: PageCtx, _user: kernel::auth::User, ApiQuery(q): ApiQuery<DoneQuery>) -> Response {
    render(&PasswordPage { ctx, error: None, done: q.done.is_some() })
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes the password. Every session of the user ends with it; this browser gets a new one
/// and is sent on to the confirmation, whose forms then carry the new session's CSRF token.
async fn change_password(State(state): State<AppState>, ctx: PageCtx, user: kernel::auth::User, headers: HeaderMap, WebForm(form): WebForm<PasswordForm>) -> AppResult<Response> {
    let uid = user.person()?;
    match service::change_password(&state, uid, &form.current_password, &form.new_password).await {
        Ok(()) => {
            let token = kernel::auth::create_session(&state, uid, user_agent(&headers)).await?;
            Ok(logged_in(&state, &token, Some("/me/password?done=1")))
        }
        Err(e @ (AppError::Validation(_) | AppError::TooManyRequests { .. })) => {
            let msg = e.fields().first().map(|f| f.message(ctx.tr.0)).unwrap_or_else(|| e.message(ctx.tr.0));
            Ok(with_retry_after(render_status(e.status(), &PasswordPage { ctx, error: Some(msg), done: false }), &e))
        }
        Err(e) => Err(e),
    }
}
