//! Configuration: defaults, then a TOML file, then `LINLI_*` environment variables.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything the server reads at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1`.
    pub host: String,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// Directory for the embedded database, blobs and the secret key.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/linli.db`.
    pub database_url: String,
    /// Secret for field encryption and token hashing. Empty means a key generated in `data_dir`.
    pub secret_key: String,
    /// Public base URL used in links sent by SMS and e-mail.
    pub base_url: String,
    /// Emit JSON log lines instead of human-readable ones.
    pub log_json: bool,
    /// Bearer token a scraper must send to read `/metrics`. Empty means `/metrics` answers only
    /// requests from this machine (loopback) that did not come through a proxy.
    pub metrics_token: String,
    /// Maximum size of an ordinary request body, in bytes.
    pub body_limit: usize,
    /// Maximum size of an upload, in bytes.
    pub upload_limit: usize,
    /// HTTP endpoint of the SMS gateway; empty disables SMS delivery (messages wait and are
    /// dead-lettered after their retries); `log` writes messages to the log (demo only).
    pub sms_gateway_url: String,
    /// Bearer token sent to the SMS gateway.
    pub sms_gateway_token: String,
    /// SMTP relay as `host:port`; empty disables e-mail delivery.
    pub smtp_addr: String,
    /// Sender address for e-mail.
    pub smtp_from: String,
    /// S3-compatible endpoint for uploads; empty keeps them in `<data_dir>/blobs`.
    pub s3_endpoint: String,
    /// Bucket for uploads.
    pub s3_bucket: String,
    /// Region used in S3 signatures.
    pub s3_region: String,
    /// S3 access key id.
    pub s3_access_key: String,
    /// S3 secret key.
    pub s3_secret_key: String,
    /// Whether to run background jobs in this process.
    pub run_jobs: bool,
    /// Mark session cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Maximum database connections.
    pub db_max_connections: u32,
    /// Days finished background jobs and delivered messages are kept before they are purged
    /// (failed and dead ones stay for the operator).
    pub retention_days: u32,
    /// Header through which a reverse proxy names the client's address (e.g. `X-Forwarded-For`,
    /// whose last entry is taken, or `X-Real-IP`); empty means the connection's own address.
    /// Set it only when every request passes through that proxy: clients can write the header.
    pub client_ip_header: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            secret_key: String::new(),
            base_url: String::new(),
            log_json: false,
            metrics_token: String::new(),
            body_limit: 256 * 1024,
            upload_limit: 10 * 1024 * 1024,
            sms_gateway_url: String::new(),
            sms_gateway_token: String::new(),
            smtp_addr: String::new(),
            smtp_from: "linli@localhost".into(),
            s3_endpoint: String::new(),
            s3_bucket: "linli".into(),
            s3_region: "us-east-1".into(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
            run_jobs: true,
            secure_cookies: false,
            db_max_connections: 16,
            retention_days: 90,
            client_ip_header: String::new(),
        }
    }
}

/// A configuration error, shown to the operator at start.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
                toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// Overrides fields from `LINLI_<FIELD>` variables read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> Result<T, ConfigError> {
            v.parse().map_err(|_| ConfigError(format!("{key}: cannot parse {v:?}")))
        }
        macro_rules! env_field {
            ($key:literal, $field:ident, str) => {
                if let Some(v) = get($key) { self.$field = v.into(); }
            };
            ($key:literal, $field:ident, parse) => {
                if let Some(v) = get($key) { self.$field = parse($key, v)?; }
            };
        }
        env_field!("LINLI_HOST", host, str);
        env_field!("LINLI_PORT", port, parse);
        env_field!("LINLI_DATA_DIR", data_dir, str);
        env_field!("LINLI_DATABASE_URL", database_url, str);
        env_field!("LINLI_SECRET_KEY", secret_key, str);
        env_field!("LINLI_BASE_URL", base_url, str);
        env_field!("LINLI_LOG_JSON", log_json, parse);
        env_field!("LINLI_METRICS_TOKEN", metrics_token, str);
        env_field!("LINLI_BODY_LIMIT", body_limit, parse);
        env_field!("LINLI_UPLOAD_LIMIT", upload_limit, parse);
        env_field!("LINLI_RETENTION_DAYS", retention_days, parse);
        env_field!("LINLI_SMS_GATEWAY_URL", sms_gateway_url, str);
        env_field!("LINLI_SMS_GATEWAY_TOKEN", sms_gateway_token, str);
        env_field!("LINLI_SMTP_ADDR", smtp_addr, str);
        env_field!("LINLI_SMTP_FROM", smtp_from, str);
        env_field!("LINLI_S3_ENDPOINT", s3_endpoint, str);
        env_field!("LINLI_S3_BUCKET", s3_bucket, str);
        env_field!("LINLI_S3_REGION", s3_region, str);
        env_field!("LINLI_S3_ACCESS_KEY", s3_access_key, str);
        env_field!("LINLI_S3_SECRET_KEY", s3_secret_key, str);
        env_field!("LINLI_RUN_JOBS", run_jobs, parse);
        env_field!("LINLI_SECURE_COOKIES", secure_cookies, parse);
        env_field!("LINLI_DB_MAX_CONNECTIONS", db_max_connections, parse);
        env_field!("LINLI_CLIENT_IP_HEADER", client_ip_header, str);
        Ok(())
    }

    /// The database URL, defaulting to an embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("linli.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The base URL for links, defaulting to the listen address.
    pub fn public_base_url(&self, bound_port: u16) -> String {
        if self.base_url.is_empty() {
            format!("http://{}:{}", self.host, bound_port)
        } else {
            self.base_url.trim_end_matches('/').to_string()
        }
    }

    /// Returns the secret key, creating and storing one in the data directory when none is set.
    pub fn resolve_secret(&self) -> Result<String, ConfigError> {
        if !self.secret_key.is_empty() {
            if self.secret_key.len() < 16 {
                return Err(ConfigError("secret_key must be at least 16 characters".into()));
            }
            return Ok(self.secret_key.clone());
        }
        let path = self.secret_key_file();
        if let Ok(existing) = std::fs::read_to_string(&path) {
            crate::owner_only::restrict(&path).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
            return Ok(existing.trim().to_string());
        }
        crate::owner_only::create_dir_all(&self.data_dir)
            .map_err(|e| ConfigError(format!("{}: {e}", self.data_dir.display())))?;
        let key = crate::crypto::random_token(32);
        write_private(&path, &key).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Ok(key)
    }

    /// Where a generated secret key is kept.
    pub fn secret_key_file(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    crate::owner_only::create_new(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_values() {
        let mut cfg: Config = toml::from_str("port = 9000\nhost = \"0.0.0.0\"").unwrap();
        cfg.apply_env(|k| (k == "LINLI_PORT").then(|| "9100".to_string())).unwrap();
        assert_eq!(cfg.port, 9100);
        assert_eq!(cfg.host, "0.0.0.0");
    }

    #[test]
    fn bad_environment_value_is_reported_by_name() {
        let mut cfg = Config::default();
        let err = cfg.apply_env(|k| (k == "LINLI_PORT").then(|| "eighty".to_string())).unwrap_err();
        assert!(err.to_string().contains("LINLI_PORT"));
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<Config>("prot = 1").is_err());
    }
}
