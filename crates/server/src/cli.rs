//! The command line: `linli serve`, `demo`, `migrate`, `admin create`, `import`/`export`
//! residents, `backup`/`restore` and `apikey create`/`list`/`revoke`.

use clap::{Args, Parser, Subcommand};
use kernel::auth::{Principal, Role};
use kernel::clock::SystemClock;
use kernel::config::Config;
use kernel::state::AppState;
use kernel::{AppError, AppResult};
use std::path::PathBuf;
use std::sync::Arc;

/// Linli (邻里): community services online and on foot, in one server.
#[derive(Debug, Parser)]
#[command(name = "linli", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML); `LINLI_*` environment variables override it.
    #[arg(long, global = true, env = "LINLI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (embedded database, secret key, uploads).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Database URL: `sqlite://FILE` (default: in the data directory) or `postgres://…`.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where to listen.
#[derive(Debug, Args)]
pub struct Listen {
    /// Port (0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long)]
    pub host: Option<String>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Listen),
    /// Run a demo community (南京人家社区) on the embedded database and print one login per role.
    Demo(Listen),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Import records from a spreadsheet (.xlsx or .csv).
    Import {
        #[command(subcommand)]
        what: Transfer,
    },
    /// Export records to a spreadsheet (.xlsx or .csv, by the file's extension).
    Export {
        #[command(subcommand)]
        what: Transfer,
    },
    /// Write a consistent snapshot of the embedded database to FILE, while the server runs.
    Backup {
        /// Destination file (must not exist).
        file: PathBuf,
    },
    /// Replace the embedded database with a backup (stop the server first).
    Restore {
        /// A file written by `linli backup`.
        file: PathBuf,
    },
    /// Classify a report's text: prints {"urgency", "category", confidences, "reasons"} as JSON
    /// (no server or database needed); or `triage retrain --community SLUG`.
    #[command(args_conflicts_with_subcommands = true)]
    Triage {
        /// Retrain instead of classifying.
        #[command(subcommand)]
        action: Option<TriageAction>,
        /// The report, in Chinese or English.
        text: Option<String>,
    },
    /// Print the OpenAPI 3.1 document of the JSON API (also served at /api/openapi.json).
    Openapi,
    /// Manage API keys for integrations.
    Apikey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
}

/// `admin` actions.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create a deployment administrator (or promote an existing user). The password is read
    /// from `LINLI_ADMIN_PASSWORD` or, if unset, from the first line of standard input.
    Create {
        /// Mobile number used to log in.
        #[arg(long)]
        phone: String,
        /// Display name.
        #[arg(long, default_value = "管理员")]
        name: String,
    },
}

/// What to import or export.
#[derive(Debug, Subcommand)]
pub enum Transfer {
    /// The resident spreadsheet.
    Residents {
        /// The file.
        file: PathBuf,
        /// Community slug.
        #[arg(long)]
        community: String,
        /// Export full phone and ID numbers instead of masked ones (export only; written to the
        /// access log; handle the file with care).
        #[arg(long)]
        full_id_numbers: bool,
    },
}

/// `triage` actions.
#[derive(Debug, Subcommand)]
pub enum TriageAction {
    /// Retrain a community's triage on its staff corrections; it switches to the new model only
    /// when, on corrections held out of training, it is not worse than the one in use.
    Retrain {
        /// Community slug.
        #[arg(long)]
        community: String,
    },
}

/// `apikey` actions.
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create a key; it is printed once.
    Create {
        /// Community slug the key acts in.
        #[arg(long)]
        community: String,
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// Role the key acts with.
        #[arg(long, default_value = "staff")]
        role: String,
    },
    /// List every key: id, name, community, role, created, revoked.
    List,
    /// Revoke a key by its id; requests with it are refused from then on.
    Revoke {
        /// The key's id (from `apikey list`).
        id: i64,
    },
}

fn load_config(cli: &Cli, demo: bool) -> AppResult<Config> {
    let mut cfg = Config::load(cli.config.as_deref()).map_err(AppError::internal)?;
    if demo {
        cfg.data_dir = PathBuf::from("linli-demo");
        if cfg.sms_gateway_url.is_empty() {
            cfg.sms_gateway_url = "log".into();
        }
    }
    if let Some(d) = &cli.data {
        cfg.data_dir = d.clone();
    }
    if let Some(u) = &cli.database_url {
        cfg.database_url = u.clone();
    }
    if let Command::Serve(l) | Command::Demo(l) = &cli.command {
        if let Some(p) = l.port {
            cfg.port = p;
        }
        if let Some(h) = &l.host {
            cfg.host = h.clone();
        }
    }
    Ok(cfg)
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if cfg.log_json { builder.json().try_init() } else { builder.try_init() };
}

/// The operator at the server's console: may do anything, recorded as no user.
fn operator() -> Principal {
    Principal {
        user_id: None,
        api_key_id: None,
        display_name: "operator".into(),
        phone: String::new(),
        locale: kernel::i18n::Locale::ZhCn,
        elder_mode: false,
        superadmin: true,
        memberships: Vec::new(),
    }
}

async fn state(cfg: Config) -> AppResult<AppState> {
    crate::app::build_state(cfg, Arc::new(SystemClock)).await
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> AppResult<()> {
    if let Command::Triage { action: None, text } = &cli.command {
        let text = text.as_deref().ok_or_else(|| AppError::internal("give the report's text: linli triage \"…\""))?;
        println!("{}", serde_json::to_string(&triage::classify(text)).map_err(AppError::internal)?);
        return Ok(());
    }
    let demo = matches!(cli.command, Command::Demo(_));
    let cfg = load_config(&cli, demo)?;
    init_logging(&cfg);
    match cli.command {
        Command::Serve(_) => {
            let host = cfg.host.clone();
            let port = cfg.port;
            let state = state(cfg).await?;
            let running = crate::serve::start(state, &host, port).await?;
            tracing::info!(addr = %running.addr, "linli serving");
            crate::serve::signal().await;
            running.stop().await;
        }
        Command::Demo(_) => {
            if !cfg.database_url.is_empty() && !cfg.database_url.starts_with("sqlite:") {
                return Err(AppError::internal("the demo runs on the embedded database; use `serve` for PostgreSQL"));
            }
            let host = cfg.host.clone();
            let port = cfg.port;
            let state = state(cfg).await?;
            if crate::demo::seed(&state).await? {
                tracing::info!("demo community seeded");
            }
            let running = crate::serve::start(state, &host, port).await?;
            println!("{}", crate::demo::banner(&format!("http://{}", running.addr)));
            crate::serve::signal().await;
            running.stop().await;
        }
        Command::Triage { action: Some(TriageAction::Retrain { community }), .. } => {
            let state = state(cfg).await?;
            let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
            let r = cases::learning::retrain(&state, &operator(), c.id).await.map_err(explain)?;
            println!(
                "{} corrections, {} held out: the model in use had urgency {} and category {} right, the new one {} and {}",
                r.corrections, r.held_out, r.before_urgency, r.before_category, r.after_urgency, r.after_category
            );
            if r.switched {
                println!("switched to {}", r.version);
            } else {
                println!("kept the model in use: {} was worse on the held-out corrections", r.version);
            }
        }
        Command::Triage { action: None, .. } => unreachable!("handled before configuration is loaded"),
        Command::Openapi => {
            println!("{}", crate::app::openapi().to_pretty_json().map_err(AppError::internal)?);
        }
        Command::Migrate => {
            let state = state(cfg).await?;
            state.db.pool.close().await;
            println!("migrations applied");
        }
        Command::Admin { action: AdminAction::Create { phone, name } } => {
            let password = match std::env::var("LINLI_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password (at least 8 characters), then Enter:");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(AppError::internal)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let state = state(cfg).await?;
            let id = accounts::service::create_admin(&state, &phone, &name, &password).await.map_err(explain)?;
            println!("administrator {id} ready: log in with {phone}");
        }
        Command::Import { what: Transfer::Residents { file, community, .. } } => {
            let bytes = std::fs::read(&file).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
            let state = state(cfg).await?;
            let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
            let report = registry::spreadsheet::import(&state, &operator(), &c, &bytes, kernel::i18n::Locale::ZhCn).await.map_err(explain)?;
            println!("{} rows: {} created, {} updated, {} rejected", report.rows, report.created, report.updated, report.errors.len());
            for b in &report.new_buildings {
                println!("new building: {b}");
            }
            for e in &report.errors {
                println!("row {}: {} {}", e.row, e.column, e.reason);
            }
        }
        Command::Export { what: Transfer::Residents { file, community, full_id_numbers } } => {
            let path = file.to_string_lossy().to_string();
            let format = registry::spreadsheet::Format::from_path(&path).ok_or_else(|| AppError::internal("the file name must end in .xlsx or .csv"))?;
            let state = state(cfg).await?;
            let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
            let disclosure = if full_id_numbers {
                registry::spreadsheet::Disclosure::Full { purpose: "linli export --full-id-numbers" }
            } else {
                registry::spreadsheet::Disclosure::Masked
            };
            let bytes = registry::spreadsheet::export(&state, &operator(), &c, format, disclosure).await?;
            std::fs::write(&file, bytes).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
            println!("exported to {}", file.display());
        }
        Command::Backup { file } => {
            let state = state(cfg).await?;
            crate::backup::backup(&state, &file).await?;
            println!("backup written to {}", file.display());
        }
        Command::Restore { file } => {
            crate::backup::restore(&cfg, &file).await?;
            println!("restored from {}", file.display());
        }
        Command::Apikey { action: ApiKeyAction::Create { community, name, role } } => {
            let role = Role::parse(&role).ok_or_else(|| AppError::internal(format!("unknown role {role}")))?;
            let state = state(cfg).await?;
            let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
            let (id, token) = kernel::auth::create_api_key(&state, &name, c.id, role, None).await?;
            println!("API key {id} for {name} ({}):\n{token}\nStore it now: it is not shown again.", role.code());
        }
        Command::Apikey { action: ApiKeyAction::List } => {
            let state = state(cfg).await?;
            println!("{:>5}  {:<24} {:<20} {:<12} {:<17} revoked", "id", "name", "community", "role", "created");
            for k in kernel::auth::list_api_keys(&state).await? {
                let revoked = k.revoked_at.map(kernel::clock::format_local).unwrap_or_else(|| "-".into());
                println!("{:>5}  {:<24} {:<20} {:<12} {:<17} {revoked}", k.id, k.name, k.community, k.role, kernel::clock::format_local(k.created_at));
            }
        }
        Command::Apikey { action: ApiKeyAction::Revoke { id } } => {
            let state = state(cfg).await?;
            if !kernel::auth::revoke_api_key(&state, id).await? {
                return Err(AppError::internal(format!("no API key {id} (see `linli apikey list`)")));
            }
            println!("API key {id} revoked");
        }
    }
    Ok(())
}

/// Turns a user-facing error into a line an operator can act on.
fn explain(e: AppError) -> AppError {
    match &e {
        AppError::Validation(fields) => AppError::internal(
            fields.iter().map(|f| format!("{}: {}", f.field, f.message(kernel::i18n::Locale::En))).collect::<Vec<_>>().join("; "),
        ),
        _ => e,
    }
}
