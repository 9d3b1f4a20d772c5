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
