//! Static assets, compiled into the binary so nothing is ever fetched from elsewhere.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// `(name, content type, bytes)` of every asset.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../../static/app.js")),
    ("icon.svg", "image/svg+xml", include_bytes!("../../../static/icon.svg")),
    ("manifest.webmanifest", "application/manifest+json", include_bytes!("../../../static/manifest.webmanifest")),
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for (_, _, bytes) in FILES {
        h.update(bytes);
    }
    hex::encode(&h.finalize()[..6])
});

/// Short content hash appended to asset URLs, so they can be cached for a year.
pub fn version() -> &'static str {
    VERSION.as_str()
}

/// Serves `/static/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, ctype, bytes)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
