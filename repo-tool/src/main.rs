//! `repo-tool`: TUF repositories and key ceremonies. `repo-tool --help` lists the
//! commands, each with examples. Exit status is non-zero on any failure.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Create and maintain TUF / Uptane repositories and run key ceremonies.
#[derive(Parser)]
#[command(name = "repo-tool", version, about, long_about = None)]
struct Cli {
    /// Print results as JSON, for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// A key file's passphrase from a file, as KEYFILE=PASSFILE (its first line), for
    /// automation. Repeatable: each key keeps its own. Else REPO_TOOL_PASSPHRASE, else a
    /// prompt that names the key.
    #[arg(long = "passphrase-file", global = true, value_name = "KEYFILE=PASSFILE")]
    passphrase_files: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(cmd::init::Args),
    Agent(cmd::agent::Args),
    #[command(subcommand)]
    Key(cmd::key::Command),
    #[command(subcommand)]
    Targets(cmd::targets::Command),
    #[command(subcommand)]
    Lifecycle(cmd::lifecycle::Command),
    Decommission(cmd::decommission::Args),
    #[command(subcommand)]
    Bundle(cmd::bundle::Command),
    Delegate(cmd::delegate::Args),
    Bins(cmd::bins::Args),
    #[command(subcommand)]
    Root(cmd::propose::RootCommand),
    Propose(cmd::propose::TargetsArgs),
    Show(cmd::show::Args),
    Sign(cmd::sign::Args),
    Merge(cmd::merge::Args),
    Apply(cmd::propose::ApplyArgs),
    Status(cmd::status::Args),
    Rotate(cmd::rotate::Args),
    Refresh(cmd::refresh::Args),
    Verify(cmd::verify::Args),
    Publish(cmd::publish::Args),
    #[command(subcommand)]
    Audit(cmd::audit::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = cmd::Output::new(cli.json);
    if let Err(e) = repo_tool::passphrase::register_files(&cli.passphrase_files) {
        eprintln!("repo-tool: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Init(args) => cmd::init::run(args, &out),
        Command::Agent(args) => cmd::agent::run(args, &out),
        Command::Key(command) => cmd::key::run(command, &out),
        Command::Targets(command) => cmd::targets::run(command, &out),
        Command::Lifecycle(command) => cmd::lifecycle::run(command, &out),
        Command::Decommission(args) => cmd::decommission::run(args, &out),
        Command::Bundle(command) => cmd::bundle::run(command, &out),
        Command::Delegate(args) => cmd::delegate::run(args, &out),
        Command::Bins(args) => cmd::bins::run(args, &out),
        Command::Root(command) => cmd::propose::run_root(command, &out),
        Command::Propose(args) => cmd::propose::run_targets(args, &out),
        Command::Show(args) => cmd::show::run(args, &out),
        Command::Sign(args) => cmd::sign::run(args, &out),
        Command::Merge(args) => cmd::merge::run(args, &out),
        Command::Apply(args) => cmd::propose::run_apply(args, &out),
        Command::Status(args) => cmd::status::run(args, &out),
        Command::Rotate(args) => cmd::rotate::run(args, &out),
        Command::Refresh(args) => cmd::refresh::run(args, &out),
        Command::Verify(args) => cmd::verify::run(args, &out),
        Command::Publish(args) => cmd::publish::run(args, &out),
        Command::Audit(command) => cmd::audit::run(command, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("repo-tool: {e}");
            ExitCode::FAILURE
        }
    }
}
