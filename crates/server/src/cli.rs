//! The command line: `linli serve`, `demo`, `migrate`, `admin create`, `backup`/`restore`,
//! `openapi` and `apikey create`/`list`/`revoke`, and the capabilities' own subcommands
//! (their manifests' `commands`: `import`/`export` residents, `triage` …).

use clap::{Args, Parser, Subcommand};
use kernel::auth::Role;
use kernel::clock::SystemClock;
use kernel::config::Config;
use kernel::manifest::{CliCommand, CommandContext};
use kernel::state::AppState;
use kernel::{AppError, AppResult};
use std::path::PathBuf;
use std::sync::Arc;

/// Linli (邻里): community services online and on foot, in one server.
#[derive(Debug, Parser)]
#[command(name = "linli", version, about, long_about = None)]
pub struct Cli {
    /// Where the configuration comes from.
    #[command(flatten)]
    pub globals: Globals,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The options every subcommand takes.
#[derive(Debug, Args)]
pub struct Globals {
    /// Configuration file (TOML); `LINLI_*` environment variables override it.
    #[arg(long, global = true, env = "LINLI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (embedded database, secret key, uploads).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Database URL: `sqlite://FILE` (default: in the data directory) or `postgres://…`.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
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

fn load_config(globals: &Globals, command: Option<&Command>) -> AppResult<Config> {
    let mut cfg = Config::load(globals.config.as_deref()).map_err(AppError::internal)?;
    if let Some(Command::Demo(_)) = command {
        cfg.data_dir = PathBuf::from("linli-demo");
        // The demo's text messages go to the log unless a gateway is configured.
        let mut messages = cfg.section::<notify::Settings>().map_err(AppError::internal)?;
        if messages.sms_gateway_url.is_empty() {
            messages.sms_gateway_url = "log".into();
            cfg.set_section(&messages);
        }
    }
    if let Some(d) = &globals.data {
        cfg.data_dir = d.clone();
    }
    if let Some(u) = &globals.database_url {
        cfg.database_url = u.clone();
    }
    if let Some(Command::Serve(l) | Command::Demo(l)) = command {
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

async fn state(cfg: Config) -> AppResult<AppState> {
    crate::app::build_state(cfg, Arc::new(SystemClock)).await
}

/// Every capability's subcommands; a name taken twice (or by the platform's own) is refused.
pub fn capability_commands() -> AppResult<Vec<CliCommand>> {
    use clap::CommandFactory;
    let own: Vec<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
    let mut out: Vec<CliCommand> = Vec::new();
    for m in crate::app::manifests() {
        for c in m.commands {
            if own.iter().any(|n| n == c.name) || out.iter().any(|o| o.name == c.name) {
                return Err(AppError::internal(format!("the subcommand {} is taken twice (the second by {})", c.name, m.name)));
            }
            if (c.command)().get_name() != c.name {
                return Err(AppError::internal(format!("{}'s subcommand {} is named {}", m.name, c.name, (c.command)().get_name())));
            }
            out.push(*c);
        }
    }
    Ok(out)
}

/// Parses `args` (the program's name first), the capabilities' subcommands included, and
/// runs what they ask for. `--help` and mistakes in the arguments print and exit, as clap does.
pub async fn main(args: Vec<std::ffi::OsString>) -> AppResult<()> {
    use clap::{CommandFactory, FromArgMatches};
    let commands = capability_commands()?;
    let mut cli = Cli::command();
    for c in &commands {
        cli = cli.subcommand((c.command)());
    }
    let matches = cli.get_matches_from(args);
    if let Some((name, args)) = matches.subcommand() {
        if let Some(c) = commands.iter().find(|c| c.name == name) {
            let globals = Globals::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
            let config = load_config(&globals, None)?;
            init_logging(&config);
            let ctx = CommandContext { config, connect: Box::new(|cfg| Box::pin(state(cfg))) };
            return (c.run)(ctx, args.clone()).await;
        }
    }
    run(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())).await
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> AppResult<()> {
    let cfg = load_config(&cli.globals, Some(&cli.command))?;
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
            let id = accounts::service::create_admin(&state, &phone, &name, &password).await.map_err(AppError::for_operator)?;
            println!("administrator {id} ready: log in with {phone}");
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
