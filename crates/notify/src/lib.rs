//! Notifications: one outbox for the in-app inbox, SMS and e-mail, delivered by jobs with
//! retries, idempotency keys and a dead-letter state.

pub mod api;
pub mod delivery;
pub mod domain;
pub mod jobs;
pub mod service;
mod web;

pub use domain::{Channel, Message};

use kernel::db::Migration;
use kernel::manifest::{Door, Manifest};
use kernel::web::NavEntry;
use std::sync::Arc;

const MIGRATIONS: &[Migration] = &[Migration {
    id: "notify_0001_outbox",
    sql: r#"
CREATE TABLE outbox (
    id {id},
    community_id BIGINT REFERENCES communities (id) ON DELETE SET NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    channel TEXT NOT NULL CHECK (channel IN ('inbox', 'sms', 'email')),
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    params TEXT NOT NULL,
    link TEXT,
    locale TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'dead')),
    attempts BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_state_idx ON outbox (state, id);
CREATE TABLE inbox (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    outbox_id BIGINT REFERENCES outbox (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX inbox_user_idx ON inbox (user_id, id);
"#,
}, Migration {
    id: "notify_0002_secret_params",
    // Login codes and rating links were kept in clear after delivery; those already sent or
    // dead-lettered lose them now, those waiting are marked so delivery removes them.
    sql: r#"
ALTER TABLE outbox ADD COLUMN secret_params TEXT NOT NULL DEFAULT '';
UPDATE outbox SET secret_params = 'code' WHERE template = 'login_code';
UPDATE outbox SET secret_params = 'link' WHERE template = 'case_rate';
UPDATE outbox SET params = '{"code":"•••"}' WHERE template = 'login_code' AND state IN ('sent', 'dead');
UPDATE outbox SET params = '{"link":"•••"}', link = NULL WHERE template = 'case_rate' AND state IN ('sent', 'dead');
"#,
}, Migration {
    id: "notify_0003_inbox_outcome",
    // A message that asked for an answer (a family binding request) shows what came of it
    // once answered, instead of offering to answer again.
    sql: r#"
ALTER TABLE inbox ADD COLUMN outcome TEXT;
"#,
}];

/// The notify section of the configuration (`[notify]`, `LINLI_NOTIFY_*`): where text
/// messages and e-mail leave the platform.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP endpoint of the SMS gateway; empty disables SMS delivery (messages wait and are
    /// dead-lettered after their retries); `log` writes messages to the log (demo only).
    pub sms_gateway_url: String,
    /// Bearer token sent to the SMS gateway.
    pub sms_gateway_token: String,
    /// The SMTP server as a URL: `smtp://user:password@host:587?tls=required` (STARTTLS),
    /// `smtps://user:password@host:465` (TLS from the start), `smtp://relay:25` (a relay on the
    /// local network, no TLS); empty disables e-mail delivery.
    pub smtp_url: String,
    /// Sender address for e-mail.
    pub smtp_from: String,
    /// A PEM file with a CA certificate to trust besides the public ones (a relay with a
    /// certificate of its own, as on an intranet).
    pub smtp_ca_file: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sms_gateway_url: String::new(),
            sms_gateway_token: String::new(),
            smtp_url: String::new(),
            smtp_from: "linli@localhost".into(),
            smtp_ca_file: String::new(),
        }
    }
}

impl kernel::config::Section for Settings {
    const NAME: &'static str = "notify";
    fn check(&self) -> Result<(), String> {
        let gateway = self.sms_gateway_url.as_str();
        let web = (gateway.starts_with("http://") || gateway.starts_with("https://")) && reqwest::Url::parse(gateway).is_ok();
        if !(gateway.is_empty() || gateway == "log" || web) {
            return Err(format!("sms_gateway_url: {gateway:?} is not an http:// or https:// address (or `log`, or empty)"));
        }
        self.smtp_from.parse::<lettre::message::Mailbox>().map_err(|e| format!("smtp_from: {:?} is not an e-mail address ({e})", self.smtp_from))?;
        if self.smtp_url.is_empty() {
            return Ok(());
        }
        let url = reqwest::Url::parse(&self.smtp_url)
            .map_err(|e| format!("smtp_url: {:?} is not a URL ({e}); write smtp://host:port for a relay, see docs/operations.md", self.smtp_url))?;
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        match (url.scheme(), tls.as_deref()) {
            ("smtps", None) | ("smtp", None | Some("required" | "opportunistic")) => {}
            _ => return Err(format!("smtp_url: use smtp:// (with ?tls=required for STARTTLS) or smtps://, not {:?}", self.smtp_url)),
        }
        // A password sent without TLS can be read by anyone on the way.
        let login = !url.username().is_empty() || url.password().is_some();
        if login && url.scheme() == "smtp" && tls.as_deref() != Some("required") {
            return Err("smtp_url: a login needs TLS: add ?tls=required (STARTTLS) or use smtps://".into());
        }
        delivery::mail_transport(self).map(|_| ())
    }
}

/// The notify capability's words (`crates/notify/catalogue.toml`).
pub const CATALOGUE: &str = include_str!("../catalogue.toml");

/// The notifications capability.
pub fn manifest() -> Manifest {
    Manifest {
        migrations: MIGRATIONS,
        api: api::router,
        web: web::router,
        jobs: || vec![(service::DELIVER_JOB, Arc::new(jobs::Deliver) as Arc<dyn kernel::jobs::JobHandler>)],
        permissions: &[api::OUTBOX_READ],
        openapi: || <api::Doc as utoipa::OpenApi>::openapi(),
        personal_data: Some(|state, user_id| {
            Box::pin(async move {
                let items = service::inbox(state, user_id, None, 10_000).await?;
                Ok(serde_json::json!({ "inbox": items }))
            })
        }),
        housekeeping: Some(|state, before| Box::pin(service::purge_delivered(state, before))),
        catalogue: CATALOGUE,
        nav: &[NavEntry { href: "/console/outbox", label: "nav.outbox", permission: &api::OUTBOX_READ, rank: 60 }],
        doors: &[Door { role: "staff", href: "/console/outbox", label: "nav.outbox", permission: Some(&api::OUTBOX_READ), rank: 60 }],
        settings: Some(kernel::config::loader::<Settings>),
        ..Manifest::named("notify")
    }
}
