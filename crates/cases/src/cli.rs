//! The cases subcommand: `linli triage "TEXT"` classifies a report's text (no server or
//! database needed); `linli triage retrain --community SLUG` retrains a community's triage.

use clap::{Args, FromArgMatches, Subcommand};
use kernel::auth::Principal;
use kernel::manifest::{CliCommand, CommandContext};
use kernel::{AppError, AppResult};

/// `linli triage`.
pub const TRIAGE: CliCommand = CliCommand {
    name: "triage",
    command: || {
        Triage::augment_args(
            clap::Command::new("triage")
                .about("Classify a report's text: prints {\"urgency\", \"category\", confidences, \"reasons\"} as JSON (no server or database needed); or `triage retrain --community SLUG`.")
                .args_conflicts_with_subcommands(true),
        )
    },
    run: |ctx, args| Box::pin(run(ctx, args)),
};

#[derive(Debug, Args)]
struct Triage {
    /// Retrain instead of classifying.
    #[command(subcommand)]
    action: Option<Action>,
    /// The report, in Chinese or English.
    text: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Retrain a community's triage on its staff corrections; it switches to the new model only
    /// when, on corrections held out of training, it is not worse than the one in use.
    Retrain {
        /// Community slug.
        #[arg(long)]
        community: String,
    },
}

async fn run(ctx: CommandContext, args: clap::ArgMatches) -> AppResult<()> {
    let triage = Triage::from_arg_matches(&args).map_err(AppError::internal)?;
    match triage.action {
        None => {
            let text = triage.text.ok_or_else(|| AppError::internal("give the report's text: linli triage \"…\""))?;
            println!("{}", serde_json::to_string(&triage::classify(&text)).map_err(AppError::internal)?);
        }
        Some(Action::Retrain { community }) => {
            let state = ctx.state().await?;
            let c = kernel::community::by_slug(&state, &community).await?.ok_or_else(|| AppError::internal(format!("no community {community}")))?;
            let r = crate::learning::retrain(&state, &Principal::operator(), c.id).await.map_err(AppError::for_operator)?;
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
    }
    Ok(())
}
