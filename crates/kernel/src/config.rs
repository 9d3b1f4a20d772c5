//! Configuration: defaults, then a TOML file, then `LINLI_*` environment variables.

use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// The capabilities' sections (`[notify]`, `[files]` …) as written in the file, read
    /// through [`Config::section`].
    #[serde(skip)]
    pub sections: BTreeMap<String, toml::Table>,
    /// The `LINLI_*` environment variables at load, for the sections' overrides.
    #[serde(skip)]
    pub environment: BTreeMap<String, String>,
}

/// A capability's typed section of the configuration: `[<NAME>]` in the file, overridden by
/// `LINLI_<NAME>_<KEY>` variables. Derive `Deserialize` with `#[serde(default,
/// deny_unknown_fields)]` so that a misspelt key stops the server at start.
pub trait Section: serde::de::DeserializeOwned + serde::Serialize + Default + Send + Sync + 'static {
    /// The section's name: the capability's.
    const NAME: &'static str;
    /// Checks what types alone cannot (a URL that parses, a file that exists), at start.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Loads section `T` for a manifest's `settings` (`settings: Some(kernel::config::loader::<Settings>)`),
/// with the section's name.
pub fn loader<T: Section>(config: &Config) -> Result<(&'static str, std::sync::Arc<dyn std::any::Any + Send + Sync>), ConfigError> {
    let section = config.section::<T>()?;
    section.check().map_err(|e| ConfigError(format!("[{}] {e}", T::NAME)))?;
    Ok((T::NAME, std::sync::Arc::new(section)))
}

/// First words of the platform's own variables (`LINLI_DATA_DIR`, `LINLI_TEST_PG_URL` …): a
/// section of one of these names would read them as its own.
pub const RESERVED_SECTION_NAMES: &[&str] =
    &["host", "port", "data", "database", "secret", "base", "log", "metrics", "body", "upload", "retention", "run", "secure", "db", "client", "config", "admin", "test"];

/// Settings that moved into a capability's section: the old name, the section, the key.
const MOVED: &[(&str, &str, &str)] = &[
    ("sms_gateway_url", "notify", "sms_gateway_url"),
    ("sms_gateway_token", "notify", "sms_gateway_token"),
    ("smtp_addr", "notify", "smtp_url"),
    ("smtp_from", "notify", "smtp_from"),
    ("s3_endpoint", "files", "s3_endpoint"),
    ("s3_bucket", "files", "s3_bucket"),
    ("s3_region", "files", "s3_region"),
    ("s3_access_key", "files", "s3_access_key"),
    ("s3_secret_key", "files", "s3_secret_key"),
    // Never top-level keys, but where an operator would look for them.
    ("smtp_url", "notify", "smtp_url"),
    ("smtp_ca_file", "notify", "smtp_ca_file"),
];

/// First words of variables that belong to a section (`LINLI_SMTP_URL` is `LINLI_NOTIFY_SMTP_URL`).
const SECTION_OF: &[(&str, &str)] = &[("SMS_", "NOTIFY"), ("SMTP_", "NOTIFY"), ("S3_", "FILES")];

/// The error for a setting written where it used to be, saying where it is now.
fn moved(key: &str, variable: bool) -> Option<ConfigError> {
    let (_, section, new) = MOVED.iter().find(|(old, _, _)| *old == key)?;
    Some(ConfigError(if variable {
        format!("LINLI_{} is now LINLI_{}_{} ([{section}] {new})", key.to_ascii_uppercase(), section.to_ascii_uppercase(), new.to_ascii_uppercase())
    } else {
        format!("{key} is now {new} in the [{section}] section")
    }))
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
            run_jobs: true,
            secure_cookies: false,
            db_max_connections: 16,
            retention_days: 90,
            client_ip_header: String::new(),
            sections: BTreeMap::new(),
            environment: BTreeMap::new(),
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
                Config::from_toml(&text).map_err(|ConfigError(e)| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.environment = std::env::vars().filter(|(k, _)| k.starts_with("LINLI_")).collect();
        for var in cfg.environment.keys() {
            let Some(key) = var.strip_prefix("LINLI_") else { continue };
            if let Some(e) = moved(&key.to_ascii_lowercase(), true) {
                return Err(e);
            }
            if let Some((_, section)) = SECTION_OF.iter().find(|(start, _)| key.starts_with(start)) {
                return Err(ConfigError(format!("{var} is read as LINLI_{section}_{key} (the [{}] section)", section.to_ascii_lowercase())));
            }
        }
        cfg.check()?;
        Ok(cfg)
    }

    /// Checks what the types alone do not: a base URL that is one, limits a request can fit in.
    pub fn check(&self) -> Result<(), ConfigError> {
        let web = |v: &str| v.starts_with("http://") || v.starts_with("https://");
        if !self.base_url.is_empty() && (!web(&self.base_url) || self.base_url.contains(char::is_whitespace)) {
            return Err(ConfigError(format!("base_url: {:?} is not an http:// or https:// address", self.base_url)));
        }
        for (key, value) in [("body_limit", self.body_limit), ("upload_limit", self.upload_limit)] {
            if value < 16 * 1024 {
                return Err(ConfigError(format!("{key}: {value} bytes is too small for a form (at least 16384)")));
            }
        }
        Ok(())
    }

    /// Reads a configuration file's text: the platform's keys at the top, each capability's in
    /// its own table (`[notify]`). An unknown top-level key is refused here; an unknown
    /// section or a key unknown to its section when the capabilities are composed.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let mut top: toml::Table = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        if let Some(e) = top.keys().find_map(|k| moved(k, false)) {
            return Err(e);
        }
        let names: Vec<String> = top.iter().filter(|(_, v)| v.is_table()).map(|(k, _)| k.clone()).collect();
        let mut sections = BTreeMap::new();
        for name in names {
            if let Some(toml::Value::Table(t)) = top.remove(&name) {
                sections.insert(name, t);
            }
        }
        let mut cfg: Config = toml::Value::Table(top).try_into().map_err(|e: toml::de::Error| ConfigError(e.to_string()))?;
        cfg.sections = sections;
        Ok(cfg)
    }

    /// A capability's section: its table in the file, then its `LINLI_<NAME>_<KEY>` variables
    /// (each read as the type of the key's default value), over the section's defaults.
    pub fn section<T: Section>(&self) -> Result<T, ConfigError> {
        let mut table = self.sections.get(T::NAME).cloned().unwrap_or_default();
        let defaults = toml::Table::try_from(T::default()).map_err(|e| ConfigError(format!("[{}]: {e}", T::NAME)))?;
        let prefix = format!("LINLI_{}_", T::NAME.to_ascii_uppercase());
        for (var, text) in &self.environment {
            let Some(key) = var.strip_prefix(&prefix) else { continue };
            let key = key.to_ascii_lowercase();
            let bad = || ConfigError(format!("{var}: cannot parse {text:?}"));
            let value = match defaults.get(&key) {
                None => return Err(ConfigError(format!("{var}: [{}] has no setting {key}", T::NAME))),
                Some(toml::Value::Integer(_)) => toml::Value::Integer(text.trim().parse().map_err(|_| bad())?),
                Some(toml::Value::Float(_)) => toml::Value::Float(text.trim().parse().map_err(|_| bad())?),
                Some(toml::Value::Boolean(_)) => toml::Value::Boolean(text.trim().parse().map_err(|_| bad())?),
                Some(_) => toml::Value::String(text.clone()),
            };
            table.insert(key, value);
        }
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError(format!("[{}]: {}", T::NAME, e.message())))
    }

    /// Sets a capability's section, as if written in the file (tests, the demo).
    pub fn set_section<T: Section>(&mut self, section: &T) {
        let table = toml::Table::try_from(section).expect("a section serialises to a table");
        self.sections.insert(T::NAME.to_string(), table);
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

    #[derive(Debug, Default, PartialEq, serde::Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Example {
        url: String,
        tries: u32,
        loud: bool,
    }

    impl Section for Example {
        const NAME: &'static str = "example";
    }

    #[test]
    fn a_section_is_read_from_its_table_then_its_variables() {
        let mut cfg = Config::from_toml("port = 9000\n[example]\nurl = \"http://a\"\ntries = 2\n").unwrap();
        assert_eq!(cfg.port, 9000);
        assert_eq!(cfg.section::<Example>().unwrap(), Example { url: "http://a".into(), tries: 2, loud: false });
        cfg.environment.insert("LINLI_EXAMPLE_TRIES".into(), "5".into());
        cfg.environment.insert("LINLI_EXAMPLE_LOUD".into(), "true".into());
        // A token of digits stays text: the variable is read as the key's type.
        cfg.environment.insert("LINLI_EXAMPLE_URL".into(), "123".into());
        assert_eq!(cfg.section::<Example>().unwrap(), Example { url: "123".into(), tries: 5, loud: true });
    }

    #[test]
    fn a_sections_unknown_keys_and_bad_values_are_refused_by_name() {
        let cfg = Config::from_toml("[example]\nurll = \"x\"\n").unwrap();
        assert!(cfg.section::<Example>().unwrap_err().to_string().contains("url"));
        let mut cfg = Config::default();
        cfg.environment.insert("LINLI_EXAMPLE_TRIES".into(), "many".into());
        assert!(cfg.section::<Example>().unwrap_err().to_string().contains("LINLI_EXAMPLE_TRIES"));
        let mut cfg = Config::default();
        cfg.environment.insert("LINLI_EXAMPLE_COLOUR".into(), "red".into());
        assert!(cfg.section::<Example>().unwrap_err().to_string().contains("colour"));
        assert!(Config::from_toml("prot = 1").is_err());
    }

    #[test]
    fn a_moved_setting_says_where_it_is_now() {
        let err = Config::from_toml("smtp_addr = \"relay:25\"\n").unwrap_err().to_string();
        assert!(err.contains("smtp_url") && err.contains("[notify]"), "{err}");
        assert!(moved("s3_endpoint", true).unwrap().to_string().contains("LINLI_FILES_S3_ENDPOINT"));
        let err = Config::from_toml("smtp_url = \"smtp://relay:25\"\n").unwrap_err().to_string();
        assert!(err.contains("[notify]"), "{err}");
        let bad = Config { base_url: "not a url".into(), ..Config::default() };
        assert!(bad.check().unwrap_err().to_string().contains("base_url"));
        let bad = Config { body_limit: 0, ..Config::default() };
        assert!(bad.check().unwrap_err().to_string().contains("body_limit"));
    }
}
