//! The edges to the outside world: an HTTP SMS gateway and an SMTP relay.

use crate::domain::{Failure, FailureReason};
use crate::Settings;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

/// Sends one plain-text e-mail through an SMTP relay (no authentication; the relay is expected
/// on the local network, as is usual on an intranet). `now` (epoch ms) dates the message.
pub async fn send_email(cfg: &Settings, to: &str, subject: &str, body: &str, key: &str, now: i64) -> Result<(), Failure> {
    if cfg.smtp_addr.is_empty() {
        return Err(FailureReason::EmailNotConfigured.with(""));
    }
    if to.contains(['\r', '\n']) || cfg.smtp_from.contains(['\r', '\n']) {
        return Err(FailureReason::EmailAddressInvalid.with(""));
    }
    let fut = async {
        let stream = TcpStream::connect(&cfg.smtp_addr).await.map_err(|e| FailureReason::EmailUnreachable.with(e.to_string()))?;
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        expect(&mut r, 220).await?;
        command(&mut w, &mut r, "EHLO linli\r\n", 250).await?;
        command(&mut w, &mut r, &format!("MAIL FROM:<{}>\r\n", cfg.smtp_from), 250).await?;
        command(&mut w, &mut r, &format!("RCPT TO:<{to}>\r\n"), 250).await?;
        command(&mut w, &mut r, "DATA\r\n", 354).await?;
        let encoded_subject = format!("=?UTF-8?B?{}?=", base64_encode(subject.as_bytes()));
        // The same key gives the same id; base64url keeps it within the characters an id allows.
        let message_id = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
        };
        // RFC 5322 requires a Date; relays and spam filters reject or penalise mail without one.
        let date = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().with_timezone(&kernel::clock::shanghai()).to_rfc2822();
        let mut data = format!(
            "Date: {date}\r\nFrom: {}\r\nTo: {to}\r\nSubject: {encoded_subject}\r\nMessage-ID: <{message_id}@linli>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            cfg.smtp_from
        );
        for chunk in base64_encode(body.as_bytes()).as_bytes().chunks(76) {
            data.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        command(&mut w, &mut r, &data, 250).await?;
        let _ = w.write_all(b"QUIT\r\n").await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(20), fut).await.map_err(|_| FailureReason::EmailTimeout.with(""))?
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn command(
    w: &mut tokio::net::tcp::OwnedWriteHalf,
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &str,
    code: u16,
) -> Result<(), Failure> {
    w.write_all(line.as_bytes()).await.map_err(|e| FailureReason::EmailUnreachable.with(e.to_string()))?;
    expect(r, code).await
}

async fn expect(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: u16) -> Result<(), Failure> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.map_err(|e| FailureReason::EmailUnreachable.with(e.to_string()))? == 0 {
            return Err(FailureReason::EmailUnreachable.with("connection closed"));
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| FailureReason::EmailRefused.with(line.trim_end()))?;
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        return if got == code { Ok(()) } else { Err(FailureReason::EmailRefused.with(line.trim_end())) };
    }
}

