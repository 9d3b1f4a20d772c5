//! Messages and channels.

use kernel::community::CommunityId;
use kernel::auth::UserId;
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
    pub community_id: Option<CommunityId>,
    /// The user it is for (required for the inbox).
    pub user_id: Option<UserId>,
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

/// Rendered title and body for `channel`. The inbox shows the message's link as words beside
/// it, so a body that spells a link out for a text message has an inbox form without it
/// (`msg.<template>.inbox`).
pub fn render(template: &str, channel: Channel, locale: kernel::i18n::Locale, params: &[(String, String)]) -> (String, String) {
    let args: Vec<(&str, String)> = params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let inbox_body = format!("msg.{template}.inbox");
    let body = if channel == Channel::Inbox && kernel::i18n::has(&inbox_body) { inbox_body } else { format!("msg.{template}.body") };
    (kernel::i18n::tf(locale, &format!("msg.{template}.title"), &args), kernel::i18n::tf(locale, &body, &args))
}

/// What a kind of message is called on the outbox page (`msg.<template>.kind`).
pub fn kind_key(template: &str) -> String {
    let key = format!("msg.{template}.kind");
    if kernel::i18n::has(&key) {
        key
    } else {
        "notify.kind.other".into()
    }
}

/// The words of the link a message points to (`msg.<template>.action`, else "open").
pub fn action_key(template: Option<&str>) -> String {
    match template.map(|t| format!("msg.{t}.action")) {
        Some(key) if kernel::i18n::has(&key) => key,
        _ => "notify.open".into(),
    }
}

/// Why a message could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// No SMS gateway is configured.
    SmsNotConfigured,
    /// The gateway could not be reached.
    SmsUnreachable,
    /// The gateway answered with an error.
    SmsRefused,
    /// No SMTP relay is configured.
    EmailNotConfigured,
    /// The address cannot be written into a mail header.
    EmailAddressInvalid,
    /// The relay could not be reached or dropped the connection.
    EmailUnreachable,
    /// The relay answered with an error.
    EmailRefused,
    /// The relay did not finish in time.
    EmailTimeout,
}

impl FailureReason {
    const ALL: [FailureReason; 8] = [
        FailureReason::SmsNotConfigured,
        FailureReason::SmsUnreachable,
        FailureReason::SmsRefused,
        FailureReason::EmailNotConfigured,
        FailureReason::EmailAddressInvalid,
        FailureReason::EmailUnreachable,
        FailureReason::EmailRefused,
        FailureReason::EmailTimeout,
    ];

    /// Stored code; its words are `notify.failure.<code>`.
    pub fn code(self) -> &'static str {
        match self {
            FailureReason::SmsNotConfigured => "sms_not_configured",
            FailureReason::SmsUnreachable => "sms_unreachable",
            FailureReason::SmsRefused => "sms_refused",
            FailureReason::EmailNotConfigured => "email_not_configured",
            FailureReason::EmailAddressInvalid => "email_address_invalid",
            FailureReason::EmailUnreachable => "email_unreachable",
            FailureReason::EmailRefused => "email_refused",
            FailureReason::EmailTimeout => "email_timeout",
        }
    }

    /// With the technical detail (an HTTP status, the relay's reply).
    pub fn with(self, detail: impl Into<String>) -> Failure {
        Failure { reason: self, detail: detail.into() }
    }
}

/// A failed delivery, kept in `outbox.last_error` as `<code>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Why, in a word an administrator reads.
    pub reason: FailureReason,
    /// What the other side said, as it said it.
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.reason.code())
        } else {
            write!(f, "{}: {}", self.reason.code(), self.detail)
        }
    }
}

/// A stored `last_error` as the catalogue key of its reason and its detail; a text stored
/// before reasons were kept reads as "delivery failed" with the text as its detail.
pub fn explain(last_error: &str) -> (String, String) {
    let (code, detail) = last_error.split_once(": ").unwrap_or((last_error, ""));
    match FailureReason::ALL.iter().find(|r| r.code() == code) {
        Some(r) => (format!("notify.failure.{}", r.code()), detail.to_string()),
        None => ("notify.failure.other".into(), last_error.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::i18n::{has, keys, Locale};

    #[test]
    fn every_message_has_words_for_its_kind_and_an_inbox_body_without_a_raw_link() {
        kernel::i18n::install(&[("notify", crate::CATALOGUE)]).unwrap();
        let templates: Vec<&str> =
            keys().filter_map(|k| k.strip_prefix("msg.")?.strip_suffix(".title")).collect();
        assert!(templates.contains(&"case_rate"), "{templates:?}");
        for t in templates {
            assert!(has(&format!("msg.{t}.body")), "msg.{t}.body");
            assert!(has(&format!("msg.{t}.kind")), "msg.{t}.kind: the outbox page names the kind of every message");
            let params = vec![("link".to_string(), "https://example.org/r/x".to_string())];
            let (_, body) = render(t, Channel::Inbox, Locale::ZhCn, &params);
            assert!(!body.contains("https://"), "msg.{t}: the inbox shows its link as words, not {body:?}");
            // People speak of what they reported (反映, 问题), not of a file (案件).
            for part in ["title", "body", "inbox", "kind", "action"] {
                let key = format!("msg.{t}.{part}");
                assert!(!kernel::i18n::t(Locale::ZhCn, &key).contains("案件"), "{key} says 案件");
            }
        }
        let params = vec![("case".to_string(), "7".to_string()), ("link".to_string(), "https://example.org/r/x".to_string())];
        assert!(render("case_rate", Channel::Sms, Locale::ZhCn, &params).1.contains("https://example.org/r/x"), "a text spells it out");
    }

    #[test]
    fn failures_read_back_as_words_with_their_detail() {
        kernel::i18n::install(&[("notify", crate::CATALOGUE)]).unwrap();
        for r in FailureReason::ALL {
            let stored = r.with("503 Service Unavailable").to_string();
            assert_eq!(explain(&stored), (format!("notify.failure.{}", r.code()), "503 Service Unavailable".to_string()));
            assert!(has(&format!("notify.failure.{}", r.code())), "{}", r.code());
            assert_eq!(explain(r.code()).0, format!("notify.failure.{}", r.code()));
        }
        assert_eq!(explain("gateway answered 500"), ("notify.failure.other".to_string(), "gateway answered 500".to_string()));
        assert_eq!(kind_key("never_heard_of"), "notify.kind.other");
        assert_eq!(action_key(None), "notify.open");
        assert_eq!(action_key(Some("case_rate")), "msg.case_rate.action");
    }
}
