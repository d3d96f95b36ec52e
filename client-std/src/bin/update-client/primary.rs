//! `update-client primary --config FILE [--cycles N] [--until-done] [--interval SECONDS]`:
//! the Uptane primary's update cycle, once or in a loop. Each cycle starts the primary
//! afresh (its own image's trial and revert rules run at every start).

use std::path::PathBuf;
use std::time::Duration;

use client_std::primary::{EcuOutcome, Primary, PrimaryConfig, Progress};

pub const HELP: &str = "\
update-client primary: the Uptane primary's update cycle

USAGE:
    update-client primary --config FILE [--cycles N] [--until-done] [--interval SECONDS]

    --config FILE      the primary's configuration (JSON: vin, serial, key, director,
                       image_repository, roots, state_dir, own_image, secondaries)
    --cycles N         run N cycles (default 1)
    --until-done       run until every ECU runs what the director wants (at most --cycles,
                       default 20, when given)
    --interval SECONDS pause between cycles (default 0)

Example:
    update-client primary --config /etc/uptane/primary.json --until-done
";

struct Options {
    config: PathBuf,
    cycles: u32,
    until_done: bool,
    interval: u64,
}

fn parse(argv: &[String]) -> Result<Option<Options>, String> {
    let mut options = Options { config: PathBuf::new(), cycles: 0, until_done: false, interval: 0 };
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--config" => options.config = value()?.into(),
            "--cycles" => options.cycles = value()?.parse().map_err(|_| "--cycles takes a number")?,
            "--until-done" => options.until_done = true,
            "--interval" => options.interval = value()?.parse().map_err(|_| "--interval takes seconds")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.config.as_os_str().is_empty() {
        return Err("--config is required".into());
    }
    if options.cycles == 0 {
        options.cycles = if options.until_done { 20 } else { 1 };
    }
    Ok(Some(options))
}

/// Runs the primary; an error names the step that failed.
pub fn run(argv: &[String]) -> Result<(), String> {
    let Some(options) = parse(argv)? else {
        print!("{HELP}");
        return Ok(());
    };
    let config = PrimaryConfig::load(&options.config).map_err(|e| e.to_string())?;
    for cycle in 1..=options.cycles {
        let mut primary = Primary::open(config.clone()).map_err(|e| e.to_string())?.with_observer(show());
        println!("cycle {cycle}:");
        let report = primary.cycle(chrono::Utc::now()).map_err(|e| format!("cycle {cycle}: {e}"))?;
        for (serial, outcome) in &report.ecus {
            match outcome {
                EcuOutcome::UpToDate => println!("  {serial}: up to date"),
                EcuOutcome::Installing(image) => println!("  {serial}: installing {image} (trial at its next start)"),
                EcuOutcome::Failed(why) => println!("  {serial}: FAILED: {why}"),
            }
        }
        let failed = report.ecus.values().any(|o| matches!(o, EcuOutcome::Failed(_)));
        let done = report.ecus.values().all(|o| *o == EcuOutcome::UpToDate) && !primary.own_image().on_trial();
        if options.until_done && done {
            println!("every ECU runs what the director wants");
            return Ok(());
        }
        if failed && !options.until_done {
            return Err("an ECU could not be updated".into());
        }
        if cycle < options.cycles {
            std::thread::sleep(Duration::from_secs(options.interval));
        }
    }
    if options.until_done { Err(format!("not done after {} cycles", options.cycles)) } else { Ok(()) }
}

/// Prints each step as it happens, with a progress bar per transfer on a terminal.
fn show() -> impl FnMut(&Progress<'_>) {
    let mut bar: Option<(String, indicatif::ProgressBar)> = None;
    move |progress| {
        let (label, done, total) = match *progress {
            Progress::Step(text) => {
                if let Some((_, bar)) = bar.take() {
                    bar.finish_and_clear();
                }
                println!("  {text}");
                return;
            }
            Progress::Download { serial, image, received, total } => {
                (format!("  {serial}: download {image}"), received, total)
            }
            Progress::Install { serial, sent, total } => (format!("  {serial}: install"), sent, total),
            _ => return,
        };
        if bar.as_ref().is_none_or(|(current, _)| *current != label) {
            if let Some((_, old)) = bar.take() {
                old.finish_and_clear();
            }
            bar = crate::commands::progress_bar(total, &label).map(|b| (label, b));
        }
        if let Some((_, bar)) = &bar {
            bar.set_position(done);
        }
    }
}
