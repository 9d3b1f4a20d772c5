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

    /// Points the app's text messages at this gateway (the `[notify]` section's
    /// `sms_gateway_url`, the rest of the section as default).
    pub fn wire(&self, config: &mut kernel::config::Config) {
        config.set_section(&notify::Settings { sms_gateway_url: self.url.clone(), ..Default::default() });
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

/// One e-mail the server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Envelope recipient.
    pub to: String,
    /// The DATA section as received.
    pub data: String,
    /// Whether it came over TLS (after STARTTLS).
    pub tls: bool,
    /// The user it authenticated as, if it did.
    pub user: Option<String>,
}

/// What the server asks of a client.
#[derive(Clone)]
struct Demands {
    /// `(user, password)` that must authenticate (AUTH PLAIN or LOGIN), over TLS only.
    login: Option<(String, String)>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A small SMTP server on 127.0.0.1 that records what it receives: a plain relay, or one that
/// offers STARTTLS (with the test CA's certificate for 127.0.0.1, `fixtures/smtp-ca.pem`) and
/// accepts mail only from a client that authenticated over TLS.
#[derive(Clone)]
pub struct FakeSmtp {
    /// `host:port`.
    pub addr: String,
    mails: Arc<Mutex<Vec<Mail>>>,
}

/// Where the test CA's certificate is, for `smtp_ca_file`.
pub fn smtp_ca_file() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/smtp-ca.pem").to_string()
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("../fixtures/smtp-cert.pem")).collect::<Result<_, _>>().expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../fixtures/smtp-key.pem")).expect("test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// How a conversation ended.
enum Ended {
    Closed,
    StartTls,
}

struct Conversation {
    demands: Demands,
    mails: Arc<Mutex<Vec<Mail>>>,
    tls: bool,
    user: Option<String>,
}

impl Conversation {
    async fn run<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(&mut self, r: &mut BufReader<S>) -> Ended {
        let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return Ended::Closed;
            }
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    let mail = Mail { to: to.clone(), data: std::mem::take(&mut data), tls: self.tls, user: self.user.clone() };
                    self.mails.lock().unwrap().push(mail);
                    let _ = r.get_mut().write_all(b"250 queued\r\n").await;
                } else {
                    data.push_str(&line);
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                let mut ext = vec!["250-fake".to_string()];
                if self.demands.tls.is_some() && !self.tls {
                    ext.push("250-STARTTLS".into());
                }
                if self.demands.login.is_some() && self.tls {
                    ext.push("250-AUTH PLAIN LOGIN".into());
                }
                ext.push("250 8BITMIME".into());
                ext.join("\r\n") + "\r\n"
            } else if upper.starts_with("STARTTLS") && self.demands.tls.is_some() && !self.tls {
                let _ = r.get_mut().write_all(b"220 go ahead\r\n").await;
                return Ended::StartTls;
            } else if upper.starts_with("AUTH PLAIN") && self.tls {
                let given = line[10..].trim();
                let decoded = {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.decode(given).unwrap_or_default()
                };
                let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
                match (&self.demands.login, parts.as_slice()) {
                    (Some((u, p)), [_, user, pass]) if *user == u.as_bytes() && *pass == p.as_bytes() => {
                        self.user = Some(u.clone());
                        "235 authenticated\r\n".into()
                    }
                    _ => "535 authentication failed\r\n".into(),
                }
            } else if upper.starts_with("MAIL FROM:") && self.demands.login.is_some() && self.user.is_none() {
                "530 authentication required\r\n".into()
            } else if upper.starts_with("RCPT TO:") {
                to = line[8..].trim().trim_matches(['<', '>']).to_string();
                "250 ok\r\n".into()
            } else if upper.starts_with("DATA") {
                in_data = true;
                "354 go ahead\r\n".into()
            } else if upper.starts_with("QUIT") {
                let _ = r.get_mut().write_all(b"221 bye\r\n").await;
                return Ended::Closed;
            } else {
                "250 ok\r\n".into()
            };
            let _ = r.get_mut().write_all(reply.as_bytes()).await;
        }
    }
}

impl FakeSmtp {
    /// Starts a plain relay (no TLS, no login), as on a local network.
    pub async fn start() -> Self {
        Self::serve(Demands { login: None, tls: None }).await
    }

    /// Starts a server that offers STARTTLS and takes mail only from `user` with `password`,
    /// authenticated over TLS.
    pub async fn start_tls(user: &str, password: &str) -> Self {
        Self::serve(Demands { login: Some((user.into(), password.into())), tls: Some(acceptor()) }).await
    }

    async fn serve(demands: Demands) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut talk = Conversation { demands: demands.clone(), mails: m.clone(), tls: false, user: None };
                tokio::spawn(async move {
                    let _ = stream.write_all(b"220 fake ESMTP\r\n").await;
                    let mut plain = BufReader::new(stream);
                    if let Ended::StartTls = talk.run(&mut plain).await {
                        let Some(acceptor) = talk.demands.tls.clone() else { return };
                        let Ok(tls) = acceptor.accept(plain.into_inner()).await else { return };
                        talk.tls = true;
                        talk.run(&mut BufReader::new(tls)).await;
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
