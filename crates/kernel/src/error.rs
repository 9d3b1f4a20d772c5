//! The one error type. Handlers return it; a middleware renders it as the API's JSON shape
//! (`{"error": {"code", "message", "fields"}}`) or as a page, translated for the requester.

use crate::i18n::{tf, Locale};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

/// One problem with one input field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field name as submitted.
    pub field: String,
    /// Machine-readable reason; its text is the catalogue entry `error.<code>`.
    pub code: &'static str,
    /// Values for the message's placeholders.
    #[serde(skip)]
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    /// A field error without placeholders.
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self { field: field.into(), code, args: Vec::new() }
    }
    /// Adds a placeholder value.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
    /// Adds a placeholder said in the reader's words: the catalogue entry `key` (a state's
    /// name, not its code).
    pub fn word(mut self, name: &'static str, key: impl std::fmt::Display) -> Self {
        self.args.push((name, format!("{WORD}{key}")));
        self
    }
    /// The translated message.
    pub fn message(&self, locale: Locale) -> String {
        let args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(k, v)| match v.strip_prefix(WORD) {
                Some(key) => (*k, crate::i18n::t(locale, key).to_string()),
                None => (*k, v.clone()),
            })
            .collect();
        tf(locale, &format!("error.{}", self.code), &args)
    }
}

/// Marks a placeholder value that is a catalogue key (no typed text starts with NUL: it is refused).
const WORD: &str = "\u{0}word:";

/// Every failure a request can end in.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Input was understood but is not acceptable.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// Input could not be understood at all (malformed JSON, bad query string …).
    #[error("bad request: {code}")]
    BadRequest {
        /// Machine-readable reason.
        code: &'static str,
        /// Parser detail, safe to show.
        detail: String,
    },
    /// No valid login.
    #[error("unauthorized")]
    Unauthorized,
    /// Logged in, but the role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// No such record, or not visible to this user.
    #[error("not found")]
    NotFound,
    /// The change clashes with existing data.
    #[error("conflict on {field}")]
    Conflict {
        /// The field that clashes.
        field: String,
        /// Machine-readable reason.
        code: &'static str,
    },
    /// Too many attempts; try again later.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds until another attempt is allowed.
        retry_after_s: i64,
    },
    /// The body is larger than allowed.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A bug or an outage; the detail is logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

/// Result alias used across the platform.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, code: &'static str) -> Self {
        AppError::Validation(vec![FieldError::new(field, code)])
    }
    /// A malformed-input error.
    pub fn bad_request(code: &'static str, detail: impl ToString) -> Self {
        AppError::BadRequest { code, detail: detail.to_string() }
    }
    /// The error as a line an operator at the console can act on: a validation error's fields
    /// in words (English), anything else as it is.
    pub fn for_operator(self) -> Self {
        match &self {
            AppError::Validation(fields) => AppError::internal(
                fields.iter().map(|f| format!("{}: {}", f.field, f.message(crate::i18n::Locale::En))).collect::<Vec<_>>().join("; "),
            ),
            _ => self,
        }
    }
    /// Wraps an unexpected failure.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// Names the field a uniqueness conflict is about (other errors pass through).
    pub fn on_conflict(self, field: &str, code: &'static str) -> Self {
        match self {
            AppError::Conflict { .. } => AppError::Conflict { field: field.to_string(), code },
            other => other,
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest { code, .. } => code,
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::Internal(_) => "internal",
        }
    }

    /// The translated headline message.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            AppError::TooManyRequests { retry_after_s } => tf(
                locale,
                "error.too_many_requests",
                &[("minutes", ((retry_after_s + 59) / 60).max(1).to_string())],
            ),
            other => tf(locale, &format!("error.{}", other.code()), &[]),
        }
    }

    /// Per-field problems, if any.
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            AppError::Validation(f) => f.clone(),
            AppError::Conflict { field, code } => vec![FieldError::new(field.clone(), code)],
            _ => Vec::new(),
        }
    }

    /// The API body: `{"error": {"code", "message", "fields": [{"field","code","message"}]}}`.
    pub fn to_json(&self, locale: Locale) -> serde_json::Value {
        let fields: Vec<_> = self
            .fields()
            .iter()
            .map(|f| serde_json::json!({"field": f.field, "code": f.code, "message": f.message(locale)}))
            .collect();
        serde_json::json!({"error": {"code": self.code(), "message": self.message(locale), "fields": fields}})
    }
}

/// Marks a response as an error so the rendering middleware can translate it.
#[derive(Debug, Clone)]
pub struct ErrorMark(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let status = self.status();
        let mut res = (status, axum::Json(self.to_json(Locale::ZhCn))).into_response();
        if let AppError::TooManyRequests { retry_after_s } = &self {
            if let Ok(v) = retry_after_s.to_string().parse() {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(ErrorMark(Arc::new(self)));
        res
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Validation(vec![e])
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error() {
            if db.is_unique_violation() {
                return AppError::Conflict { field: unique_field(db.message(), db.constraint()), code: "taken" };
            }
            if db.is_foreign_key_violation() {
                return AppError::field("reference", "not_found_ref");
            }
            // PostgreSQL refuses text it cannot store (a NUL character); SQLite stores it. Either
            // way it came from the request, so it is the request that is wrong.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return AppError::bad_request("bad_request", db.message());
            }
        }
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Finds the column behind a unique violation: SQLite says `UNIQUE constraint failed: t.col`,
/// PostgreSQL names the constraint, which our migrations call `<table>_<col>_key`.
fn unique_field(message: &str, constraint: Option<&str>) -> String {
    if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
        let first = rest.split(',').next().unwrap_or(rest).trim();
        return first.rsplit('.').next().unwrap_or(first).to_string();
    }
    if let Some(name) = constraint {
        // Strip the suffix once: a column may itself end in `_key` (`idempotency_key`).
        let trimmed = name.strip_suffix("_key").or_else(|| name.strip_suffix("_uniq")).unwrap_or(name);
        return trimmed.split_once('_').map(|(_, col)| col.to_string()).unwrap_or_else(|| trimmed.to_string());
    }
    "value".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_field_is_found_on_both_backends() {
        assert_eq!(unique_field("UNIQUE constraint failed: users.phone", None), "phone");
        assert_eq!(unique_field("duplicate key value", Some("users_phone_key")), "phone");
        assert_eq!(unique_field("duplicate key value", Some("outbox_idempotency_key_key")), "idempotency_key");
    }

    #[test]
    fn json_shape_has_code_message_and_fields() {
        let e = AppError::Validation(vec![FieldError::new("phone", "phone_invalid")]);
        let v = e.to_json(Locale::En);
        assert_eq!(v["error"]["code"], "validation_failed");
        assert_eq!(v["error"]["fields"][0]["field"], "phone");
        assert!(v["error"]["fields"][0]["message"].as_str().unwrap().len() > 3);
    }
}
