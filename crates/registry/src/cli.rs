//! The registry's subcommands: `linli import residents FILE --community SLUG` and
//! `linli export residents FILE --community SLUG [--full-id-numbers]`.

use clap::{FromArgMatches, Subcommand};
use kernel::auth::Principal;
use kernel::manifest::{CliCommand, CommandContext};
use kernel::{AppError, AppResult};
use std::path::PathBuf;

/// `linli import`.
pub const IMPORT: CliCommand = CliCommand {
    name: "import",
    command: || Import::augment_subcommands(clap::Command::new("import")).about("Import records from a spreadsheet (.xlsx or .csv).").subcommand_required(true),
    run: |ctx, args| Box::pin(import(ctx, args)),
};

/// `linli export`.
pub const EXPORT: CliCommand = CliCommand {
    name: "export",
    command: || Export::augment_subcommands(clap::Command::new("export")).about("Export records to a spreadsheet (.xlsx or .csv, by the file's extension).").subcommand_required(true),
    run: |ctx, args| Box::pin(export(ctx, args)),
};

/// What to import.
#[derive(Debug, Subcommand)]
enum Import {
    /// The resident spreadsheet.
    Residents {
        /// The file (.xlsx or .csv).
        file: PathBuf,
        /// Community slug.
        #[arg(long)]
        community: String,
    },
}

/// What to export.
#[derive(Debug, Subcommand)]
enum Export {
    /// The resident spreadsheet.
    Residents {
        /// The file to write (.xlsx or .csv, by its extension; it must not exist).
        file: PathBuf,
        /// Community slug.
        #[arg(long)]
        community: String,
        /// Export full phone and ID numbers instead of masked ones (written to the access log;
        /// handle the file with care).
        #[arg(long)]
        full_id_numbers: bool,
    },
}

async fn import(ctx: CommandContext, args: clap::ArgMatches) -> AppResult<()> {
    let Import::Residents { file, community } = Import::from_arg_matches(&args).map_err(AppError::internal)?;
    let bytes = std::fs::read(&file).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
    let state = ctx.state().await?;
    let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
    let report = crate::spreadsheet::import(&state, &Principal::operator(), &c, &bytes, kernel::i18n::Locale::ZhCn).await.map_err(AppError::for_operator)?;
    println!("{} rows: {} created, {} updated, {} rejected", report.rows, report.created, report.updated, report.errors.len());
    for b in &report.new_buildings {
        println!("new building: {b}");
    }
    for e in &report.errors {
        println!("row {}: {} {}", e.row, e.column, e.reason);
    }
    Ok(())
}

async fn export(ctx: CommandContext, args: clap::ArgMatches) -> AppResult<()> {
    let Export::Residents { file, community, full_id_numbers } = Export::from_arg_matches(&args).map_err(AppError::internal)?;
    let path = file.to_string_lossy().to_string();
    let format = crate::spreadsheet::Format::from_path(&path).ok_or_else(|| AppError::internal("the file name must end in .xlsx or .csv"))?;
    let state = ctx.state().await?;
    let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
    let disclosure = if full_id_numbers {
        crate::spreadsheet::Disclosure::Full { purpose: "linli export --full-id-numbers" }
    } else {
        crate::spreadsheet::Disclosure::Masked
    };
    let bytes = crate::spreadsheet::export(&state, &Principal::operator(), &c, format, disclosure).await?;
    // The export holds names, addresses and phones (in full on request): for this machine's
    // owner only, and never over an existing file.
    let mut out = kernel::owner_only::create_new(&file).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
    std::io::Write::write_all(&mut out, &bytes).map_err(|e| AppError::internal(format!("{}: {e}", file.display())))?;
    println!("exported to {}", file.display());
    Ok(())
}
