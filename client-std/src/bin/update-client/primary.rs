//! `update-client primary --config FILE [--cycles N] [--until-done] [--interval SECONDS]
//! [--daemon] [--check-config]`: the Uptane primary's update cycle, once, in a loop, or as
//! a service. Each cycle starts the primary afresh (its own image's trial and revert
//! rules run at every start).

use std::path::PathBuf;
use std::time::Duration;

use client_std::primary::daemon::{self, Daemon, Event};
use client_std::primary::{CycleReport, DecommissionOutcome, EcuOutcome, Primary, PrimaryConfig, Progress, schedule};

use crate::cli_error::{CliError, Usage};

fn usage(command: &'static str, problem: Usage) -> CliError {
    CliError::Usage { command, problem }
}

pub const HELP: &str = "\
update-client primary: the Uptane primary's update cycle

USAGE:
    update-client primary --config FILE [--cycles N] [--until-done] [--interval SECONDS]
    update-client primary --config FILE --daemon [--interval SECONDS]
    update-client primary --config FILE --check-config

    --config FILE      the primary's configuration (JSON: vin, serial, key, director,
                       image_repository, roots, state_dir, own_image, secondaries)
    --cycles N         run N cycles (default 1)
    --until-done       run until every ECU runs what the director wants (at most --cycles,
                       default 20, when given)
    --interval SECONDS pause between cycles (default 0; 3600 with --daemon), with up to
                       10% jitter
    --daemon           run as a service until SIGTERM or SIGINT, which end it cleanly
                       between cycles (exit 0); a failed cycle is logged and retried after
                       5 s, doubling up to the interval
    --check-config     check the configuration (key, roots, URLs, state directory, slots,
                       TLS files, secondaries) and list every problem; exit 1 if any

Examples:
    update-client primary --config /etc/uptane/primary.json --until-done
    update-client primary --config /etc/uptane/primary.json --daemon --interval 600
";

struct Options {
    config: PathBuf,
    cycles: u32,
    until_done: bool,
    interval: Option<u64>,
    daemon: bool,
    check: bool,
}

fn parse(argv: &[String]) -> Result<Option<Options>, CliError> {
    let mut options =
        Options { config: PathBuf::new(), cycles: 0, until_done: false, interval: None, daemon: false, check: false };
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| usage("primary", Usage::NeedsValue(arg.clone())));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--config" => options.config = value()?.into(),
            "--cycles" => {
                options.cycles = value()?.parse().map_err(|_| usage("primary", Usage::NotANumber("--cycles")))?
            }
            "--until-done" => options.until_done = true,
            "--interval" => {
                let seconds = value()?.parse().map_err(|_| usage("primary", Usage::NotANumber("--interval")))?;
                options.interval = Some(seconds);
            }
            "--daemon" => options.daemon = true,
            "--check-config" => options.check = true,
            other => return Err(usage("primary", Usage::Unknown(other.to_string()))),
        }
    }
    if options.config.as_os_str().is_empty() {
        return Err(usage("primary", Usage::Required("--config")));
    }
    if options.cycles == 0 {
        options.cycles = if options.until_done { 20 } else { 1 };
    }
    Ok(Some(options))
}

/// Runs the primary; an error names the step that failed.
pub fn run(argv: &[String]) -> Result<(), CliError> {
    let Some(options) = parse(argv)? else {
        print!("{HELP}");
        return Ok(());
    };
    let config = PrimaryConfig::load(&options.config)?;
    if options.check {
        return check(&options.config, &config);
    }
    if options.daemon {
        return daemon(&config, Duration::from_secs(options.interval.unwrap_or(3600)));
    }
    let interval = Duration::from_secs(options.interval.unwrap_or(0));
    for cycle in 1..=options.cycles {
        let (report, done) = match one_cycle(&config, u64::from(cycle)) {
            Ok(done) => done,
            Err(e @ client_std::Error::Decommissioned { .. }) => {
                println!("{e}");
                return Ok(());
            }
            Err(source) => return Err(CliError::Cycle { cycle, source }),
        };
        if report.decommission.as_ref().is_some_and(|d| matches!(d, DecommissionOutcome::Done { .. })) {
            return Ok(());
        }
        let failed = report.ecus.values().any(|o| matches!(o, EcuOutcome::Failed(_)));
        if options.until_done && done {
            println!("every ECU runs what the director wants");
            return Ok(());
        }
        if failed && !options.until_done {
            return Err(CliError::EcuFailed { offline: false });
        }
        if cycle < options.cycles {
            std::thread::sleep(schedule::next_wait(interval, 0, daemon::jitter()));
        }
    }
    if options.until_done { Err(CliError::NotDone { cycles: options.cycles }) } else { Ok(()) }
}

/// One cycle, printed; the report and whether every ECU runs what the director wants.
fn one_cycle(config: &PrimaryConfig, cycle: u64) -> Result<(CycleReport, bool), client_std::Error> {
    let mut primary = Primary::open(config.clone())?.with_observer(show());
    println!("cycle {cycle}:");
    let report = primary.cycle(chrono::Utc::now())?;
    print_outcomes(&report);
    let done = report.ecus.values().all(|o| o.is_up_to_date()) && !primary.own_image().on_trial();
    Ok((report, done))
}

fn print_outcomes(report: &CycleReport) {
    match &report.decommission {
        Some(DecommissionOutcome::Done { nonce }) => println!("  decommissioned (command {nonce})"),
        Some(DecommissionOutcome::Refused(why)) => println!("  decommission command REFUSED: {why}"),
        None => {}
    }
    for (serial, outcome) in &report.ecus {
        match outcome {
            EcuOutcome::UpToDate => println!("  {serial}: up to date"),
            EcuOutcome::Installing(image) => {
                println!("  {serial}: installing {image} (trial at its next start)");
                let words = report.notices.get(serial).map(|n| n.words()).unwrap_or_default();
                if !words.is_empty() {
                    println!("  {serial}: {words}");
                }
            }
            EcuOutcome::Failed(why) => println!("  {serial}: FAILED: {why}"),
        }
    }
}

/// The service: cycles until SIGTERM or SIGINT (see [`Daemon`]), each event printed.
fn daemon(config: &PrimaryConfig, interval: Duration) -> Result<(), CliError> {
    let daemon = Daemon::new(config.clone(), interval).stop_on_signals()?;
    daemon.run(
        || Some(Box::new(show())),
        |event| match event {
            Event::CycleStarted(cycle) => println!("cycle {cycle}:"),
            Event::CycleDone(report) => print_outcomes(report),
            Event::CycleFailed { cycle, failures, error } => {
                eprintln!("update-client: cycle {cycle} failed ({failures} in a row): {error}")
            }
            Event::Waiting(wait) => println!("next cycle in {} s", wait.as_secs()),
            Event::Stopped => println!("stopped (signal): the state directory is consistent; the next start resumes"),
            Event::Decommissioned(why) => println!("{why}"),
            _ => {}
        },
    );
    Ok(())
}

/// `--check-config`: every problem, or a line saying it is ready.
fn check(path: &std::path::Path, config: &PrimaryConfig) -> Result<(), CliError> {
    let problems = client_std::primary::check(config);
    if problems.is_empty() {
        println!("{}: ready ({} secondaries)", path.display(), config.secondaries.len());
        return Ok(());
    }
    for p in &problems {
        eprintln!("{}: {}: {}", path.display(), p.field, p.what);
    }
    Err(CliError::ConfigProblems { path: path.to_path_buf(), count: problems.len() })
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

pub const STATUS_HELP: &str = "\
update-client status: what the primary runs and knows, read from its state directory
(nothing goes online, nothing changes)

USAGE:
    update-client status --config FILE [--json] [--at YYYY-MM-DDTHH:MM:SSZ]

    --config FILE  the primary's configuration
    --json         print it as JSON
    --at TIME      judge the support periods at TIME instead of now

Each hardware id's security support is supported, ending (180 days or fewer left) or
ended, as the last verified director targets declare it.
";

/// `update-client status`.
pub fn status(argv: &[String]) -> Result<(), CliError> {
    let (mut config, mut json, mut at) = (None, false, None);
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                print!("{STATUS_HELP}");
                return Ok(());
            }
            "--config" => config = rest.next().cloned(),
            "--json" => json = true,
            "--at" => {
                let text = rest.next().ok_or_else(|| usage("status", Usage::NeedsValue("--at".into())))?;
                let time = metadata_schemas::UtcTime::parse(text).ok_or_else(|| usage("status", Usage::NotATime))?;
                at = Some(time.time().timestamp());
            }
            other => return Err(usage("status", Usage::Unknown(other.to_string()))),
        }
    }
    let path = PathBuf::from(config.ok_or_else(|| usage("status", Usage::Required("--config")))?);
    let config = PrimaryConfig::load(&path)?;
    let now = at.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let status = client_std::primary::status::status(&config, now)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status.to_json()).unwrap_or_default());
    } else {
        println!("{} ({}):", config.serial, config.vin);
        for line in status.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

const OFFLINE_HELP: &str = "\
update-client offline: apply an offline bundle (USB stick, SD card)

USAGE:
    update-client offline --config FILE --bundle DIR

    --config FILE   the primary's configuration; \"offline\": {\"enabled\": true} must be set
    --bundle DIR    the bundle `repo-tool bundle create` wrote

The bundle is checked as an online update is: signed by the offline key the trusted
director root names, newer than the last bundle, unexpired, its image repository metadata
no older than what this vehicle saw online, every image matching both. Each ECU it has an
image for gets it (the secondaries check the bundle themselves) and starts it as a trial;
the next online cycle reports what was installed to the director. Exit status 1 if the
bundle is refused or an ECU could not be updated.

Example:
    update-client offline --config /etc/uptane/primary.json --bundle /media/usb/bundle
";

/// `update-client offline`.
pub fn offline(argv: &[String]) -> Result<(), CliError> {
    let (mut config, mut bundle) = (None, None);
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                print!("{OFFLINE_HELP}");
                return Ok(());
            }
            "--config" => config = rest.next().cloned(),
            "--bundle" => bundle = rest.next().cloned(),
            other => return Err(usage("offline", Usage::Unknown(other.to_string()))),
        }
    }
    let path = PathBuf::from(config.ok_or_else(|| usage("offline", Usage::Required("--config")))?);
    let bundle = PathBuf::from(bundle.ok_or_else(|| usage("offline", Usage::Required("--bundle")))?);
    let config = PrimaryConfig::load(&path)?;
    let mut primary = Primary::open(config)?.with_observer(show());
    let report = primary.offline(&bundle, chrono::Utc::now())?;
    print_outcomes(&report);
    if report.ecus.values().any(|o| matches!(o, EcuOutcome::Failed(_))) {
        return Err(CliError::EcuFailed { offline: true });
    }
    if report.ecus.is_empty() {
        return Err(CliError::EmptyBundle);
    }
    Ok(())
}
