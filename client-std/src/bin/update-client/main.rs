//! `update-client`: the TUF client commands `init`, `refresh` and `download`. See
//! `update-client --help`. Exit status is exactly 0 on success and 1 on any failure,
//! panics included.

mod args;
mod cli_error;
mod commands;
mod primary;

use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).format_timestamp(None).init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // A panic is a failure like any other: exit status 1, never 101.
    let outcome = std::panic::catch_unwind(|| run(&argv));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("update-client: {failure}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(argv: &[String]) -> Result<(), commands::Failure> {
    if argv.first().is_some_and(|a| a == "primary") {
        return primary::run(&argv[1..]).map_err(Into::into);
    }
    if argv.first().is_some_and(|a| a == "offline") {
        return primary::offline(&argv[1..]).map_err(Into::into);
    }
    if argv.first().is_some_and(|a| a == "status") {
        return primary::status(&argv[1..]).map_err(Into::into);
    }
    let args = args::parse(argv).map_err(|usage| format!("{usage} (see update-client --help)"))?;
    match &args.command {
        Command::Help => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(args::HELP.as_bytes()); // `| head` is fine
            Ok(())
        }
        Command::Init(root) => commands::init(&args, root),
        Command::Refresh => commands::refresh(&args),
        Command::Download => commands::download(&args),
    }
}
