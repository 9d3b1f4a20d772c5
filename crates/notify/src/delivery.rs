//! The edges to the outside world: an HTTP SMS gateway and an SMTP server (through lettre:
//! STARTTLS or TLS, with authentication).

use crate::domain::{Failure, FailureReason};
use crate::Settings;
use std::sync::OnceLock;
use std::time::Duration;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("linli/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("http client")
    })
}

/// Posts one text message to the gateway: `{"to", "text", "idempotency_key"}` with the same
/// key in an `Idempotency-Key` header, so a retry after a lost answer is not sent twice.
pub async fn send_sms(cfg: &Settings, to: &str, text: &str, key: &str) -> Result<(), Failure> {
    match cfg.sms_gateway_url.as_str() {
        "" => Err(FailureReason::SmsNotConfigured.with("")),
        "log" => {
            tracing::info!(to, text, "SMS (log sink)");
            Ok(())
        }
        url => {
            let mut req = client()
                .post(url)
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"to": to, "text": text, "idempotency_key": key}));
            if !cfg.sms_gateway_token.is_empty() {
                req = req.bearer_auth(&cfg.sms_gateway_token);
            }
            let res = req.send().await.map_err(|e| FailureReason::SmsUnreachable.with(e.to_string()))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(FailureReason::SmsRefused.with(res.status().to_string()))
            }
        }
    }
}

/// The mail transport `settings.smtp_url` describes (lettre's URL form: `smtp://` with
/// `?tls=required` for STARTTLS, `smtps://` for TLS from the start, plain `smtp://` for a relay
/// on the local network; a user and password in the URL authenticate), trusting the CA in
/// `smtp_ca_file` too when one is given.
pub fn mail_transport(settings: &Settings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = reqwest::Url::parse(&settings.smtp_url).map_err(|e| format!("smtp_url: {e}"))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url).map_err(|e| format!("smtp_url: {e}"))?;
    if !settings.smtp_ca_file.is_empty() {
        let pem = std::fs::read(&settings.smtp_ca_file).map_err(|e| format!("smtp_ca_file {}: {e}", settings.smtp_ca_file))?;
        let ca = Certificate::from_pem(&pem).map_err(|e| format!("smtp_ca_file {}: {e}", settings.smtp_ca_file))?;
        let host = url.host_str().ok_or("smtp_url: no host")?.trim_matches(['[', ']']).to_string();
        let params = TlsParameters::builder(host).add_root_certificate(ca).build_rustls().map_err(|e| format!("smtp_ca_file: {e}"))?;
        let tls_query = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let tls = match (url.scheme(), tls_query.as_deref()) {
            ("smtps", _) => Tls::Wrapper(params),
            (_, Some("required")) => Tls::Required(params),
            (_, Some("opportunistic")) => Tls::Opportunistic(params),
            _ => return Err("smtp_ca_file is set but smtp_url asks for no TLS (add ?tls=required or use smtps://)".into()),
        };
        builder = builder.tls(tls);
    }
    Ok(builder.timeout(Some(Duration::from_secs(20))).build())
}

/// Sends one plain-text e-mail through the configured SMTP server. `now` (epoch ms) dates the
/// message; `key` (the outbox idempotency key) names it, so a resend is recognisable.
pub async fn send_email(cfg: &Settings, to: &str, subject: &str, body: &str, key: &str, now: i64) -> Result<(), Failure> {
    if cfg.smtp_url.is_empty() {
        return Err(FailureReason::EmailNotConfigured.with(""));
    }
    let to: Mailbox = to.parse().map_err(|e: lettre::address::AddressError| FailureReason::EmailAddressInvalid.with(e.to_string()))?;
    let from: Mailbox = cfg.smtp_from.parse().map_err(|e: lettre::address::AddressError| FailureReason::EmailAddressInvalid.with(format!("smtp_from: {e}")))?;
    // The same key gives the same id; base64url keeps it within the characters an id allows.
    let message_id = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
    };
    // RFC 5322 requires a Date; relays and spam filters reject or penalise mail without one.
    let date = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap_or(0));
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .date(date)
        .message_id(Some(format!("<{message_id}@linli>")))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).header(ContentTransferEncoding::Base64).body(body.to_string()))
        .map_err(|e| FailureReason::EmailAddressInvalid.with(e.to_string()))?;
    let transport = mail_transport(cfg).map_err(|e| FailureReason::EmailNotConfigured.with(e))?;
    match tokio::time::timeout(Duration::from_secs(30), transport.send(message)).await {
        Err(_) => Err(FailureReason::EmailTimeout.with("")),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_permanent() || e.is_transient() => Err(FailureReason::EmailRefused.with(e.to_string())),
        Ok(Err(e)) if e.is_timeout() => Err(FailureReason::EmailTimeout.with(e.to_string())),
        Ok(Err(e)) => Err(FailureReason::EmailUnreachable.with(e.to_string())),
    }
}
