//! The web kit: cookies, request framing (locale, auth, CSRF, error rendering, metrics),
//! extractors that turn malformed input into 4xx, pagination, static assets and page context.

use crate::auth::{Principal, Viewer};
use crate::crypto::FieldCipher;
use crate::error::{AppError, AppResult, ErrorMark, FieldError};
use crate::i18n::{Locale, Tr};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Instant;

/// Cookie carrying the browser's current anti-CSRF token, the value forms echo in `_csrf`
/// (ADR 009). The server does not trust it: a logged-in browser's token is derived from its
/// session, an anonymous one's must carry the server's signature.
pub const CSRF_COOKIE: &str = "linli_csrf";
/// Cookie holding the chosen language for visitors who are not logged in.
pub const LANG_COOKIE: &str = "linli_lang";
/// Cookie holding elder mode for visitors who are not logged in.
pub const ELDER_COOKIE: &str = "linli_elder";

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Builds a `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure when configured.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}"))
        .expect("cookie header")
}

/// The CSRF token forms must carry on this request (see [`csrf_token`]).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The CSRF token a browser's forms must carry. Logged in: `s.` and a MAC of the session
/// token, so it changes with every session and a planted value is worthless. Not logged in:
/// the `a.<nonce>.<MAC>` the browser holds if this server signed it, else a fresh one.
pub fn csrf_token(cipher: &FieldCipher, session: Option<&str>, held: Option<&str>) -> String {
    match session {
        Some(session) => format!("s.{}", cipher.sign("csrf-session", session)),
        None => held.filter(|t| is_issued_anonymous_token(cipher, t)).map(str::to_string).unwrap_or_else(|| {
            let nonce = crate::crypto::random_token(18);
            format!("a.{nonce}.{}", cipher.sign("csrf-anonymous", &nonce))
        }),
    }
}

fn is_issued_anonymous_token(cipher: &FieldCipher, token: &str) -> bool {
    match token.strip_prefix("a.").and_then(|rest| rest.split_once('.')) {
        Some((nonce, mac)) => crate::crypto::same_secret(mac, &cipher.sign("csrf-anonymous", nonce)),
        None => false,
    }
}

/// A session this response starts (`Some(token)`) or ends (`Some("")`), from its `Set-Cookie`.
fn session_set_by(res: &Response) -> Option<String> {
    let prefix = format!("{}=", crate::auth::SESSION_COOKIE);
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(prefix.as_str()))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
}

/// The language chosen for this request.
#[derive(Debug, Clone, Copy)]
pub struct ReqLocale(pub Locale);

/// The user's choice, else the language cookie; API callers may also ask through
/// `Accept-Language`. Pages default to zh-CN whatever the browser says: a resident's phone set
/// to English should not surprise them, and English is one tap away in the footer.
fn choose_locale(headers: &HeaderMap, viewer: &Viewer, api: bool) -> Locale {
    if let Some(p) = &viewer.0 {
        if p.user_id.is_some() {
            return p.locale;
        }
    }
    cookie(headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .or_else(|| {
            api.then(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language))
                .flatten()
        })
        .unwrap_or_default()
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Paths whose callers authenticate with a key in the request, not a browser session.
fn csrf_exempt(path: &str) -> bool {
    path.starts_with("/open311/") || path.starts_with("/r/")
}

/// Forms that keep what was typed when the session behind them lapsed: a post to one of these
/// carrying a session's token but no session goes on, marked [`SessionLapsed`], so its handler
/// can keep the draft and ask for a login instead of losing it (it must file nothing).
const KEEPS_LAPSED_DRAFTS: &[&str] = &["/cases/new"];

/// Marks a request whose form was filled by a logged-in person whose session has since ended.
#[derive(Debug, Clone, Copy)]
pub struct SessionLapsed;

/// Lets an unsafe request through only with the expected `token` (in `X-CSRF-Token`, `_csrf`
/// in the query string or an urlencoded body) or as a JSON API call; `by_key` requests (an API
/// key authenticated them, so no browser cookie is involved) and exempt paths pass.
async fn check_csrf(req: Request, token: &str, path: &str, body_limit: usize, by_key: bool) -> AppResult<Request> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || csrf_exempt(path) || by_key {
        return Ok(req);
    }
    // Browsers say when a request comes from another site's page; no token makes that right.
    if req.headers().get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site") {
        return Err(AppError::bad_request("csrf_failed", "a cross-site request"));
    }
    let matches = |t: Option<&str>| t.is_some_and(|t| crate::crypto::same_secret(t, token));
    let header_token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
    if matches(header_token) {
        return Ok(req);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let query_token = req
        .uri()
        .query()
        .and_then(|q| q.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "_csrf").map(|(_, v)| url_decode(v)));
    if matches(query_token.as_deref()) {
        return Ok(req);
    }
    // A multipart form (photos) carries its token as a field, never in the address: read just
    // far enough to find it, and hand the body on whole.
    let (req, part_token) = if content_type.starts_with("multipart/form-data") { peek_multipart_token(req).await } else { (req, None) };
    if matches(part_token.as_deref()) {
        return Ok(req);
    }
    let query_token = query_token.or(part_token);
    // No session now (the expected token is an anonymous one), but the form was a session's.
    if KEEPS_LAPSED_DRAFTS.contains(&path) && token.starts_with("a.") && query_token.as_deref().is_some_and(|t| t.starts_with("s.")) {
        let mut req = req;
        req.extensions_mut().insert(SessionLapsed);
        return Ok(req);
    }
    if is_api(path) {
        // A cross-site page cannot send `application/json` without a CORS preflight, which we never grant.
        return if content_type.starts_with("application/json") {
            Ok(req)
        } else {
            Err(AppError::bad_request("csrf_failed", "API writes need Content-Type: application/json or an X-CSRF-Token"))
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, body_limit).await.map_err(|_| AppError::PayloadTooLarge)?;
        let found = form_urlencoded_value(&bytes, "_csrf");
        if matches(found.as_deref()) {
            return Ok(Request::from_parts(parts, Body::from(bytes)));
        }
    }
    Err(AppError::bad_request("csrf_failed", "missing or wrong _csrf"))
}

/// How far into a multipart body its `_csrf` field is looked for (forms send it first).
const MULTIPART_TOKEN_WITHIN: usize = 16 * 1024;

/// The `_csrf` field of a multipart request, read from the start of its body; the request is
/// given back with its body unchanged.
async fn peek_multipart_token(req: Request) -> (Request, Option<String>) {
    use futures::StreamExt;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut head: Vec<Result<axum::body::Bytes, axum::Error>> = Vec::new();
    let mut seen: Vec<u8> = Vec::new();
    let mut found = None;
    while found.is_none() && seen.len() < MULTIPART_TOKEN_WITHIN {
        match stream.next().await {
            Some(Ok(chunk)) => {
                seen.extend_from_slice(&chunk);
                head.push(Ok(chunk));
                found = multipart_value(&seen, "_csrf");
            }
            Some(Err(e)) => {
                head.push(Err(e));
                break;
            }
            None => break,
        }
    }
    let body = Body::from_stream(futures::stream::iter(head).chain(stream));
    (Request::from_parts(parts, body), found)
}

/// The value of the first complete field `name` in (the start of) a multipart body.
fn multipart_value(body: &[u8], name: &str) -> Option<String> {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let marker = format!("name=\"{name}\"");
    let rest = &body[find(body, marker.as_bytes())? + marker.len()..];
    let value = &rest[find(rest, b"\r\n\r\n")? + 4..];
    let end = find(value, b"\r\n")?;
    std::str::from_utf8(&value[..end]).ok().map(str::to_string)
}

fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    form_pairs(std::str::from_utf8(body).ok()?).find_map(|(k, v)| (k == name).then_some(v))
}

/// The decoded `(name, value)` pairs of an urlencoded body, in order, repeated names kept.
fn form_pairs(body: &str) -> impl Iterator<Item = (String, String)> + '_ {
    body.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (url_decode(k), url_decode(v))
    })
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    urlencoding::encode(s).into_owned()
}

/// Decodes a form-urlencoded value (`+` is a space).
pub fn url_decode(s: &str) -> String {
    urlencoding::decode(&s.replace('+', " ")).map(|c| c.into_owned()).unwrap_or_default()
}

/// Frames every request: resolves the viewer and locale, guards against CSRF, renders errors
/// (JSON under `/api/`, pages elsewhere, login redirect for pages that need a login) and
/// counts the request in the metrics.
pub async fn frame(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let (mut parts, body) = req.into_parts();
    let viewer = crate::auth::resolve(&state, &parts).await;
    let locale = choose_locale(&parts.headers, viewer.as_ref().unwrap_or(&Viewer(None)), is_api(&path));
    let principal = viewer.as_ref().ok().and_then(|v| v.0.as_ref());
    let by_key = principal.is_some_and(|p| p.api_key_id.is_some());
    let anonymous = principal.is_none();
    // The error page keeps the reader's elder mode.
    let elder = match principal {
        Some(p) if p.user_id.is_some() => p.elder_mode,
        _ => cookie(&parts.headers, ELDER_COOKIE) == Some("1"),
    };
    // The session that logged this viewer in, if a session did (not an API key).
    let session = principal.filter(|p| p.api_key_id.is_none()).and_then(|_| cookie(&parts.headers, crate::auth::SESSION_COOKIE));
    let held = cookie(&parts.headers, CSRF_COOKIE).map(str::to_string);
    let csrf = csrf_token(&state.cipher, session, held.as_deref());
    parts.extensions.insert(CsrfToken(csrf.clone()));
    parts.extensions.insert(ReqLocale(locale));
    let mut res = match viewer {
        Err(e) => e.into_response(),
        Ok(viewer) => {
            parts.extensions.insert(viewer);
            // A page form that asks to be kept, sent by nobody logged in with a token that is not
            // this browser's: its session lapsed. Keep its words and go to log in (it is not acted on).
            let lapsed = parts.method == Method::POST && anonymous && !is_api(&path) && !csrf_exempt(&path);
            let query_token = parts.uri.query().and_then(|q| form_pairs(q).find(|(k, _)| k == "_csrf").map(|(_, v)| v));
            let kept = crate::drafts::wanted(parts.uri.query())
                .filter(|_| lapsed && query_token.is_none_or(|t| !crate::crypto::same_secret(&t, &csrf)))
                .filter(|_| parts.headers.get("sec-fetch-site").is_none_or(|v| v.as_bytes() != b"cross-site"));
            if let Some((fields, back)) = kept {
                match crate::drafts::keep(&state, Request::from_parts(parts, body), fields, back).await {
                    Ok(res) => res,
                    Err(e) => e.into_response(),
                }
            } else {
            match check_csrf(Request::from_parts(parts, body), &csrf, &path, state.config.body_limit, by_key).await {
                Ok(req) => next.run(req).await,
                Err(e) => e.into_response(),
            }
            }
        }
    };
    // Keep the cookie in step with the token forms need: at once when this response logs in or
    // out (API logins too), and on pages whenever the browser holds another value.
    let carried = match session_set_by(&res) {
        Some(new_session) => Some(csrf_token(&state.cipher, Some(new_session.as_str()).filter(|s| !s.is_empty()), None)),
        None => (!is_api(&path) && held.as_deref() != Some(csrf.as_str())).then_some(csrf),
    };
    if let Some(token) = carried {
        res.headers_mut().append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &token, 365 * 86_400, state.config.secure_cookies));
    }
    let res = render_error(res, &path, &query, locale, elder);
    let status = res.status();
    if status.is_server_error() {
        state.metrics.http_server_errors.inc();
    } else if status.is_client_error() {
        state.metrics.http_client_errors.inc();
    } else {
        state.metrics.http_ok.inc();
    }
    state.metrics.http_duration.observe(started.elapsed().as_secs_f64());
    res
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    elder: bool,
    status: u16,
    message: String,
}

fn error_from_status(status: StatusCode) -> AppError {
    match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::bad_request("method_not_allowed", ""),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNAUTHORIZED => AppError::Unauthorized,
        StatusCode::FORBIDDEN => AppError::Forbidden,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::bad_request("unsupported_media_type", ""),
        s if s.is_server_error() => AppError::Internal(format!("status {s}")),
        _ => AppError::bad_request("bad_request", ""),
    }
}

fn render_error(res: Response, path: &str, query: &str, locale: Locale, elder: bool) -> Response {
    let status = res.status();
    // Open311 answers errors in its own standard shape; `/metrics` answers scrapers in plain text.
    if !(status.is_client_error() || status.is_server_error()) || path.starts_with("/open311/") || path == "/metrics" {
        return res;
    }
    // Pages that render their own error (a form shown again with messages) are left alone.
    let err = match res.extensions().get::<ErrorMark>() {
        Some(mark) => mark.0.clone(),
        None if res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html")) => return res,
        None => Arc::new(error_from_status(status)),
    };
    let mut out = if is_api(path) {
        (status, axum::Json(err.to_json(locale))).into_response()
    } else if matches!(*err, AppError::Unauthorized) {
        let next = urlencoding::encode(&format!("{path}{query}")).into_owned();
        see_other(&format!("/login?next={next}"))
    } else {
        let page = ErrorPage { tr: Tr(locale), elder, status: status.as_u16(), message: err.message(locale) };
        (status, Html(page.render().unwrap_or_else(|_| err.message(locale)))).into_response()
    };
    if let Some(v) = res.headers().get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    for v in res.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    out
}

/// Fallback for unknown paths.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// JSON body whose rejection is a 400 in the error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(axum::extract::rejection::JsonRejection::BytesRejection(_)) => Err(AppError::PayloadTooLarge),
            // Well-formed JSON of the wrong shape names its field: a missing one, or a value
            // outside the listed choices, is answered as a form's would be.
            Err(axum::extract::rejection::JsonRejection::JsonDataError(e)) => Err(json_data_error(&e.body_text())),
            Err(e) => Err(AppError::bad_request("malformed_json", e.body_text())),
        }
    }
}

/// A field error for JSON that parsed but does not fit (`urgency: unknown variant …`, `missing
/// field `reason``), or the plain 400 when no field can be named.
fn json_data_error(text: &str) -> AppError {
    let inner = text.split_once("target type: ").map_or(text, |(_, rest)| rest);
    let detail = inner.split(" at line ").next().unwrap_or(inner);
    let (path, message) = match detail.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p, m),
        _ => ("", detail),
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let full = if path.is_empty() || path == "." { field.to_string() } else { format!("{path}.{field}") };
        return AppError::field(full, "required");
    }
    if !path.is_empty() && path != "." {
        let code = if message.starts_with("unknown variant") { "invalid_choice" } else { "invalid" };
        return AppError::field(path.to_string(), code);
    }
    AppError::bad_request("malformed_json", text.to_string())
}

/// Query string whose rejection is a 400 in the error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| AppError::bad_request("malformed_query", e.body_text()))
    }
}

/// Path parameters whose rejection is a 404 (a malformed id names nothing).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| AppError::NotFound)
    }
}

/// Form body whose rejection is a 400 (413 when over the body limit).
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WebForm<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(WebForm(v)),
            Err(axum::extract::rejection::FormRejection::BytesRejection(_)) => Err(AppError::PayloadTooLarge),
            Err(e) => Err(AppError::bad_request("malformed_form", e.body_text())),
        }
    }
}

/// An uploaded file: the name the browser gave and the bytes.
#[derive(Debug)]
pub struct UploadedFile {
    /// File name as sent (for display only; content decides the type).
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// Reads the multipart field `file`, stopping with 413 as soon as it passes `limit` bytes
/// (the route's body limit is only a ceiling; the configured upload limit applies here).
pub async fn multipart_file(mut multipart: axum::extract::Multipart, limit: usize) -> AppResult<UploadedFile> {
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_string();
        return Ok(UploadedFile { name, bytes: read_field(field, limit).await? });
    }
    Err(AppError::field("file", "required"))
}

fn malformed(e: axum::extract::multipart::MultipartError) -> AppError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        _ => AppError::bad_request("malformed_upload", e.body_text()),
    }
}

/// Reads one multipart field, stopping with 413 as soon as it passes `limit` bytes.
async fn read_field(mut field: axum::extract::multipart::Field<'_>, limit: usize) -> AppResult<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A multipart form: its text fields and its files.
#[derive(Debug, Default)]
pub struct MultipartForm {
    /// Text fields by name (the last value wins; repeated names are joined by `values`).
    pub fields: Vec<(String, String)>,
    /// Non-empty files, in the order sent.
    pub files: Vec<UploadedFile>,
    /// Files beyond the most allowed, dropped unread (see [`page_form_dropping_extra_files`]).
    pub files_dropped: usize,
}

impl MultipartForm {
    /// The value of a text field, or "".
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    /// Whether a field was sent (a ticked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }
    /// Every value sent under a name.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// How many bytes all the text fields of a multipart form may hold together.
const TEXT_BUDGET: usize = 64 * 1024;

/// Reads a multipart form: every text field, and up to `max_files` files from the field
/// `file_field`, each at most `limit` bytes (413 past it; 422 past the count). Empty file
/// inputs (nothing chosen) are skipped.
pub async fn multipart_form(multipart: axum::extract::Multipart, file_field: &str, max_files: usize, limit: usize) -> AppResult<MultipartForm> {
    read_multipart(multipart, file_field, max_files, limit, false).await
}

/// How many files beyond the most allowed a form may send when they are dropped (its text is
/// still wanted); more are refused as [`multipart_form`] refuses them.
const EXTRA_FILES_DROPPED: usize = 20;

async fn read_multipart(mut multipart: axum::extract::Multipart, file_field: &str, max_files: usize, limit: usize, drop_extra: bool) -> AppResult<MultipartForm> {
    let mut form = MultipartForm::default();
    let mut text_bytes = 0usize;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        if name == file_field && field.file_name().is_some() {
            let file_name = field.file_name().unwrap_or("file").to_string();
            let bytes = read_field(field, limit).await?;
            if bytes.is_empty() {
                continue;
            }
            if form.files.len() >= max_files && drop_extra && form.files_dropped < EXTRA_FILES_DROPPED {
                form.files_dropped += 1;
                continue;
            }
            if form.files.len() >= max_files {
                return Err(AppError::Validation(vec![FieldError::new(file_field, "too_many_files").arg("max", max_files.to_string())]));
            }
            form.files.push(UploadedFile { name: file_name, bytes });
        } else {
            // Text fields share a small budget, enforced while reading.
            let bytes = read_field(field, TEXT_BUDGET - text_bytes).await?;
            text_bytes += bytes.len();
            let value = String::from_utf8(bytes).map_err(|_| AppError::bad_request("malformed_form", "a form field is not UTF-8"))?;
            form.fields.push((name, value));
        }
    }
    Ok(form)
}

/// Reads a page form that may carry files: multipart (with files, see [`multipart_form`]) or
/// plain urlencoded (no files). `text_limit` bounds an urlencoded body.
pub async fn page_form(req: Request, file_field: &str, max_files: usize, limit: usize, text_limit: usize) -> AppResult<MultipartForm> {
    read_page_form(req, file_field, max_files, limit, text_limit, false).await
}

/// As [`page_form`], but files beyond `max_files` are dropped and counted in
/// [`MultipartForm::files_dropped`] instead of refusing the form, so that a page can show the
/// form again with what was typed and a message under the file input.
pub async fn page_form_dropping_extra_files(req: Request, file_field: &str, max_files: usize, limit: usize, text_limit: usize) -> AppResult<MultipartForm> {
    read_page_form(req, file_field, max_files, limit, text_limit, true).await
}

async fn read_page_form(req: Request, file_field: &str, max_files: usize, limit: usize, text_limit: usize, drop_extra: bool) -> AppResult<MultipartForm> {
    let multipart = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("multipart/form-data"));
    if multipart {
        let mp = axum::extract::Multipart::from_request(req, &()).await.map_err(|e| AppError::bad_request("malformed_upload", e.body_text()))?;
        return read_multipart(mp, file_field, max_files, limit, drop_extra).await;
    }
    let bytes = axum::body::to_bytes(req.into_body(), text_limit).await.map_err(|_| AppError::PayloadTooLarge)?;
    let body = std::str::from_utf8(&bytes).map_err(|_| AppError::bad_request("malformed_form", "the form is not UTF-8"))?;
    Ok(MultipartForm { fields: form_pairs(body).collect(), ..MultipartForm::default() })
}

/// The most an upload route lets through before the handler applies the configured limit.
pub const UPLOAD_CEILING: usize = 512 * 1024 * 1024;

/// Cursor pagination parameters: `?cursor=…&limit=…`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The id after which to continue (ids descend or ascend per endpoint), validated.
    pub fn after(&self) -> AppResult<Option<i64>> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => decode_cursor(c).map(Some).ok_or_else(|| AppError::field("cursor", "cursor_invalid")),
        }
    }
    /// The page size, validated.
    pub fn limit(&self) -> AppResult<i64> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=200) => Ok(n as i64),
            Some(_) => Err(AppError::Validation(vec![crate::error::FieldError::new("limit", "limit_range")
                .arg("min", 1)
                .arg("max", 200)])),
        }
    }
}

/// Encodes an id as an opaque cursor.
pub fn encode_cursor(id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("i:{id}"))
}

fn decode_cursor(c: &str) -> Option<i64> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    // Ids and positions are never negative; an absurd one is a forged cursor.
    std::str::from_utf8(&raw).ok()?.strip_prefix("i:")?.parse().ok().filter(|n| (0..=(1i64 << 53)).contains(n))
}

/// One page of a list.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Cursor for the next page, absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows; `id` gives each row's cursor id.
    pub fn from_rows<I: Into<i64>>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> I) -> Self {
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| encode_cursor(id(r).into()))
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }
}

/// One link of the console navigation, shown to whoever holds its permission in some
/// community: the permission its page's handler checks, so nobody is shown a door that answers 403.
#[derive(Debug, Clone, Copy)]
pub struct NavEntry {
    /// Link target.
    pub href: &'static str,
    /// Catalogue key of the label.
    pub label: &'static str,
    /// The permission the page requires.
    pub permission: &'static crate::auth::Permission,
    /// Where it stands: lower first (the overview 0, daily work 10–29, records 30–49,
    /// administration 50 and up); equal ranks keep the capabilities' order.
    pub rank: u8,
}

static CONSOLE_NAV: std::sync::RwLock<Vec<NavEntry>> = std::sync::RwLock::new(Vec::new());

/// Sets the console navigation (every capability's entries, in order) when the application is
/// composed.
pub fn set_console_nav(entries: Vec<NavEntry>) {
    *CONSOLE_NAV.write().unwrap_or_else(|e| e.into_inner()) = entries;
}

/// What every page template needs: translator, viewer, CSRF token, elder mode, path.
#[derive(Debug, Clone)]
pub struct PageCtx {
    /// Translator for the request's language.
    pub tr: Tr,
    /// Logged-in person, if any.
    pub user: Option<Arc<Principal>>,
    /// CSRF token for forms.
    pub csrf: String,
    /// 适老化 mode.
    pub elder: bool,
    /// Current path, for navigation highlighting and `next=` links.
    pub path: String,
    /// Cache-busting version of the static assets.
    pub assets: &'static str,
}

impl PageCtx {
    /// Whether the viewer uses the staff console.
    pub fn is_staff(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_staff_side())
    }
    /// The catalogue text for a code under a prefix: `label("case_state", "new")`.
    pub fn label(&self, prefix: &str, code: &str) -> String {
        self.tr.t(&format!("{prefix}.{code}")).to_string()
    }
    /// An instant as `YYYY-MM-DD HH:MM` in Asia/Shanghai.
    pub fn when(&self, ms: &i64) -> String {
        crate::clock::format_local(*ms)
    }
    /// Whether the viewer administers a community (or the deployment).
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.superadmin || u.memberships.iter().any(|m| m.role == crate::auth::Role::Admin))
    }
    /// Display name of the viewer, or empty.
    pub fn user_name(&self) -> &str {
        self.user.as_ref().map(|u| u.display_name.as_str()).unwrap_or("")
    }
    /// Whether the viewer holds `perm` in any community.
    pub fn may(&self, perm: &crate::auth::Permission) -> bool {
        self.user.as_ref().is_some_and(|u| u.superadmin || u.memberships.iter().any(|m| perm.roles.contains(&m.role)))
    }
    /// The console links the viewer may open, in order.
    pub fn console_nav(&self) -> Vec<NavEntry> {
        CONSOLE_NAV.read().unwrap_or_else(|e| e.into_inner()).iter().filter(|e| self.may(e.permission)).copied().collect()
    }
    /// Whether the viewer may open any console page.
    pub fn has_console(&self) -> bool {
        !self.console_nav().is_empty()
    }
    /// Whether the viewer holds `role` in any community.
    pub fn holds(&self, role: &str) -> bool {
        self.user.as_ref().is_some_and(|u| u.memberships.iter().any(|m| m.role.code() == role))
    }
    /// Whether the current path is under `prefix` (for the navigation).
    pub fn at(&self, prefix: &str) -> bool {
        if prefix == "/" { self.path == "/" } else { self.path.starts_with(prefix) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = parts.extensions.get::<Viewer>().and_then(|v| v.0.clone());
        let locale = parts.extensions.get::<ReqLocale>().map(|l| l.0).unwrap_or_default();
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        let elder = match &user {
            Some(u) if u.user_id.is_some() => u.elder_mode,
            _ => cookie(&parts.headers, ELDER_COOKIE) == Some("1"),
        };
        Ok(PageCtx { tr: Tr(locale), user, csrf, elder, path: parts.uri.path().to_string(), assets: crate::assets::version() })
    }
}

/// The request's language, for API handlers that format text.
impl<S: Send + Sync> FromRequestParts<S> for ReqLocale {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ReqLocale>().copied().unwrap_or(ReqLocale(Locale::ZhCn)))
    }
}

/// Where a request comes from, for per-source limits: the connection's address, or the last
/// address in the header named by `client_ip_header` when a reverse proxy sets one. An IPv6
/// address stands for its /64, the block one subscriber is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl ClientIp {
    pub(crate) fn from_parts(parts: &axum::http::request::Parts, header_name: &str) -> Self {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let forwarded = (!header_name.is_empty())
            .then(|| parts.headers.get_all(header_name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last())
            .flatten()
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        match forwarded.or(peer).map(|ip| ip.to_canonical()) {
            Some(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                ClientIp(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
            Some(ip) => ClientIp(ip.to_string()),
            None => ClientIp("unknown".into()),
        }
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::from_parts(parts, &state.config.client_ip_header))
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::internal(e).into_response(),
    }
}

/// Renders a template with a status (e.g. 422 for a form shown again with errors).
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut res = render(page);
    if res.status() == StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

/// Redirect after a successful form post (303 See Other). Characters a `Location` header
/// cannot carry as they are (non-ASCII) are percent-encoded; a target that still cannot be a
/// header value (control characters) goes to `/` instead of failing the request.
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(&encode_non_ascii(to)).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Percent-encodes every byte outside ASCII, leaving the rest of a URL as it is.
fn encode_non_ascii(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A `next=` target (already decoded) is only followed when it is a path on this site: one
/// leading `/` not followed by `/` or `\`, and no backslash, control character or white space
/// anywhere (browsers drop tabs and newlines and read `\` as `/`, which would turn
/// `/\t/evil.example` into another origin). Anything else goes to `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if is_site_path(n) => n,
        _ => "/",
    }
}

fn is_site_path(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !n.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let q = PageQuery { cursor: Some(encode_cursor(42)), limit: None };
        assert_eq!(q.after().unwrap(), Some(42));
        let bad = PageQuery { cursor: Some("!!".into()), limit: Some(500) };
        assert!(bad.after().is_err());
        assert!(bad.limit().is_err());
    }

    #[test]
    fn next_must_stay_on_site() {
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/x\r\nSet-Cookie:a=b",
            "\u{0}",
            "/a\u{0}b",
            "/a b",
            "/a\u{3000}b",
            "/a\u{85}b",
            "/ok/..\\evil",
            "",
            "me",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        for good in ["/", "/me", "/console/residents?c=renjia&q=%E5%BC%A0", "/ledger/南京人家", "/cases/new#top"] {
            assert_eq!(safe_next(Some(good)), good);
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn csrf_tokens_are_the_servers_and_bound_to_the_session() {
        let cipher = FieldCipher::from_secret("a test secret of enough length");
        let anonymous = csrf_token(&cipher, None, None);
        assert_eq!(csrf_token(&cipher, None, Some(&anonymous)), anonymous, "a token the server signed is kept");
        for planted in ["planted-by-someone-else-0123456789", "a.nonce.made-up-signature", "a.only-a-nonce", ""] {
            assert_ne!(csrf_token(&cipher, None, Some(planted)), planted, "{planted:?}");
        }
        let elsewhere = csrf_token(&FieldCipher::from_secret("another secret entirely!"), None, None);
        assert_ne!(csrf_token(&cipher, None, Some(&elsewhere)), elsewhere, "signed with another key");
        let session = csrf_token(&cipher, Some("session-one"), Some(&anonymous));
        assert_eq!(session, csrf_token(&cipher, Some("session-one"), Some("anything held")), "the cookie does not matter");
        assert_ne!(session, csrf_token(&cipher, Some("session-two"), None));
        assert_ne!(session, anonymous);
    }

    #[test]
    fn see_other_never_fails() {
        let location = |to: &str| see_other(to).headers()[header::LOCATION].to_str().unwrap().to_string();
        assert_eq!(see_other("/me").status(), StatusCode::SEE_OTHER);
        assert_eq!(location("/me?x=1"), "/me?x=1");
        assert_eq!(location("/ledger/南京"), "/ledger/%E5%8D%97%E4%BA%AC");
        assert_eq!(location("/x\r\nSet-Cookie: a=b"), "/");
        assert_eq!(location("/\u{0}"), "/");
    }

    #[test]
    fn client_ip_comes_from_the_proxy_header_only_when_configured() {
        let parts = |peer: &str, xff: Option<&str>| {
            let mut req = axum::http::Request::builder();
            if let Some(v) = xff {
                req = req.header("x-forwarded-for", v);
            }
            let (mut parts, ()) = req.body(()).unwrap().into_parts();
            parts.extensions.insert(axum::extract::ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
            parts
        };
        let p = parts("10.0.0.1:5000", Some("203.0.113.9, 198.51.100.7"));
        assert_eq!(ClientIp::from_parts(&p, "").0, "10.0.0.1", "the header is ignored unless trusted");
        assert_eq!(ClientIp::from_parts(&p, "x-forwarded-for").0, "198.51.100.7", "the proxy's own entry, the last one");
        assert_eq!(ClientIp::from_parts(&parts("10.0.0.1:5000", Some("garbage")), "x-forwarded-for").0, "10.0.0.1");
        let v6 = parts("[2001:db8:1:2:3:4:5:6]:443", None);
        assert_eq!(ClientIp::from_parts(&v6, "").0, "2001:db8:1:2::/64");
        assert_eq!(ClientIp::from_parts(&parts("[::ffff:192.0.2.1]:443", None), "").0, "192.0.2.1");
    }

    #[test]
    fn form_values_are_decoded() {
        assert_eq!(form_urlencoded_value(b"a=1&_csrf=x%2By&b=2", "_csrf").as_deref(), Some("x+y"));
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ns.tok\r\n--b\r\n";
        assert_eq!(multipart_value(multipart, "_csrf").as_deref(), Some("s.tok"));
        assert_eq!(multipart_value(&multipart[..50], "_csrf"), None, "not yet whole");
    }
}

/// The shape of every API error response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code, translated message and per-field problems.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// Message in the request's language.
    pub message: String,
    /// Problems with single fields.
    pub fields: Vec<FieldErrorBody>,
}

/// One field's problem.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// Field name.
    pub field: String,
    /// Machine-readable reason.
    pub code: String,
    /// Message in the request's language.
    pub message: String,
}
