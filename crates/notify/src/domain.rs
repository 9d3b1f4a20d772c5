//! Messages and channels.

use serde::{Deserialize, Serialize};

/// How a message reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The in-app inbox.
    Inbox,
    /// Text message through the SMS gateway.
    Sms,
    /// E-mail over SMTP.
    Email,
}

impl Channel {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Inbox => "inbox",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
    /// Parses a stored code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbox" => Some(Channel::Inbox),
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// One message to send. `template` names catalogue entries `msg.<template>.title` and
/// `msg.<template>.body`, filled from `params`.
#[derive(Debug, Clone)]
pub struct Message {
    /// Community the message is about, if any.
    pub community_id: Option<i64>,
    /// The user it is for (required for the inbox).
    pub user_id: Option<i64>,
    /// Channel.
    pub channel: Channel,
    /// Phone number or e-mail address (empty for the inbox).
    pub to: String,
    /// Template name.
    pub template: &'static str,
    /// Placeholder values.
    pub params: Vec<(&'static str, String)>,
    /// Names of the params that are secrets (a login code, a link with a token): the outbox
    /// keeps them only until the message is delivered or dead-lettered, then they read
    /// [`SCRUBBED`], and the message's link goes too.
    pub secret_params: &'static [&'static str],
    /// Link the message points to (inbox).
    pub link: Option<String>,
    /// Language to render in.
    pub locale: kernel::i18n::Locale,
    /// The same key twice sends once.
    pub idempotency_key: String,
}

/// Rendered title and body.
pub fn render(template: &str, locale: kernel::i18n::Locale, params: &[(String, String)]) -> (String, String) {
    let args: Vec<(&str, String)> = params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    (
        kernel::i18n::tf(locale, &format!("msg.{template}.title"), &args),
        kernel::i18n::tf(locale, &format!("msg.{template}.body"), &args),
    )
}

/// What a secret param reads once its message is delivered or dead-lettered.
pub const SCRUBBED: &str = "•••";

/// `params` as the outbox keeps them after delivery: the values named in `secret` replaced
/// by [`SCRUBBED`].
pub fn scrub(params: &serde_json::Map<String, serde_json::Value>, secret: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    params
        .iter()
        .map(|(k, v)| (k.clone(), if secret.contains(&k.as_str()) { serde_json::Value::String(SCRUBBED.into()) } else { v.clone() }))
        .collect()
}
