//! Real local servers for the edges of the outside world: an HTTP SMS gateway and an SMTP relay.

use axum::http::{HeaderMap, StatusCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// One message the gateway accepted.
#[derive(Debug, Clone)]
pub struct Sms {
    /// Recipient.
    pub to: String,
    /// Text.
    pub text: String,
    /// `Idempotency-Key` header.
    pub key: String,
}

/// An SMS gateway on 127.0.0.1 that records messages and can be told to fail.
#[derive(Clone)]
pub struct FakeSmsGateway {
    /// Its URL, for `sms_gateway_url`.
    pub url: String,
    sent: Arc<Mutex<Vec<Sms>>>,
    fail_next: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    call_keys: Arc<Mutex<Vec<String>>>,
}

impl FakeSmsGateway {
    /// Starts the gateway.
    pub async fn start() -> Self {
        let sent: Arc<Mutex<Vec<Sms>>> = Arc::default();
        let fail_next = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let call_keys: Arc<Mutex<Vec<String>>> = Arc::default();
        let (s, f, c, k) = (sent.clone(), fail_next.clone(), calls.clone(), call_keys.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |headers: HeaderMap, body: axum::Json<serde_json::Value>| {
                let (s, f, c, k) = (s.clone(), f.clone(), c.clone(), k.clone());
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    k.lock().unwrap().push(key.clone());
                    if f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let mut sent = s.lock().unwrap();
                    // A real gateway deduplicates by key; so does this one.
                    if !sent.iter().any(|m| m.key == key) {
                        sent.push(Sms {
                            to: body["to"].as_str().unwrap_or("").to_string(),
                            text: body["text"].as_str().unwrap_or("").to_string(),
                            key,
                        });
                    }
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        FakeSmsGateway { url, sent, fail_next, calls, call_keys }
    }

    /// Messages accepted so far.
    pub fn sent(&self) -> Vec<Sms> {
        self.sent.lock().unwrap().clone()
    }

    /// Answers 503 to the next `n` calls.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Calls received, failed ones included.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The `Idempotency-Key` of every call received, failed ones included, in order.
    pub fn call_keys(&self) -> Vec<String> {
        self.call_keys.lock().unwrap().clone()
    }
}

/// One e-mail the relay accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope recipient.
    pub to: String,
    /// The DATA section as received.
    pub data: String,
}

/// A minimal SMTP relay on 127.0.0.1 that records what it receives.
#[derive(Clone)]
pub struct FakeSmtp {
    /// `host:port`, for `smtp_addr`.
    pub addr: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl FakeSmtp {
    /// Starts the relay.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 fake ESMTP\r\n").await;
                    let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            break;
                        }
                        if in_data {
                            if line == ".\r\n" {
                                in_data = false;
                                m.lock().unwrap().push(Mail { to: to.clone(), data: std::mem::take(&mut data) });
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                data.push_str(&line);
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-fake\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            to = line[8..].trim().trim_matches(['<', '>']).to_string();
                            b"250 ok\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        FakeSmtp { addr, mails }
    }

    /// Mails accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}
