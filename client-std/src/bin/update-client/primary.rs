//! `update-client primary --config FILE [--cycles N] [--until-done] [--interval SECONDS]
//! [--daemon] [--check-config]`: the Uptane primary's update cycle, once, in a loop, or as
//! a service. Each cycle starts the primary afresh (its own image's trial and revert
//! rules run at every start).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use client_std::primary::{CycleReport, EcuOutcome, Primary, PrimaryConfig, Progress, schedule};

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

fn parse(argv: &[String]) -> Result<Option<Options>, String> {
    let mut options =
        Options { config: PathBuf::new(), cycles: 0, until_done: false, interval: None, daemon: false, check: false };
    let mut rest = argv.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--config" => options.config = value()?.into(),
            "--cycles" => options.cycles = value()?.parse().map_err(|_| "--cycles takes a number")?,
            "--until-done" => options.until_done = true,
            "--interval" => options.interval = Some(value()?.parse().map_err(|_| "--interval takes seconds")?),
            "--daemon" => options.daemon = true,
            "--check-config" => options.check = true,
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
    if options.check {
        return check(&options.config, &config);
    }
    if options.daemon {
        return daemon(&config, Duration::from_secs(options.interval.unwrap_or(3600)));
    }
    let interval = Duration::from_secs(options.interval.unwrap_or(0));
    let never = Arc::new(AtomicBool::new(false));
    for cycle in 1..=options.cycles {
        let (report, done) = one_cycle(&config, u64::from(cycle), &never).map_err(|e| format!("cycle {cycle}: {e}"))?;
        let failed = report.ecus.values().any(|o| matches!(o, EcuOutcome::Failed(_)));
        if options.until_done && done {
            println!("every ECU runs what the director wants");
            return Ok(());
        }
        if failed && !options.until_done {
            return Err("an ECU could not be updated".into());
        }
        if cycle < options.cycles {
            std::thread::sleep(schedule::next_wait(interval, 0, jitter()));
        }
    }
    if options.until_done { Err(format!("not done after {} cycles", options.cycles)) } else { Ok(()) }
}

/// One cycle, printed; the report and whether every ECU runs what the director wants.
fn one_cycle(
    config: &PrimaryConfig,
    cycle: u64,
    stop: &Arc<AtomicBool>,
) -> Result<(CycleReport, bool), client_std::Error> {
    let mut primary = Primary::open(config.clone())?.with_observer(show()).with_stop(stop.clone());
    println!("cycle {cycle}:");
    let report = primary.cycle(chrono::Utc::now())?;
    for (serial, outcome) in &report.ecus {
        match outcome {
            EcuOutcome::UpToDate => println!("  {serial}: up to date"),
            EcuOutcome::Installing(image) => println!("  {serial}: installing {image} (trial at its next start)"),
            EcuOutcome::Failed(why) => println!("  {serial}: FAILED: {why}"),
        }
    }
    let done = report.ecus.values().all(|o| o.is_up_to_date()) && !primary.own_image().on_trial();
    Ok((report, done))
}

/// Cycles until SIGTERM or SIGINT; a failed cycle backs off (5 s, doubling up to the
/// interval). A signal ends a wait at once, and a cycle at its next step boundary (an
/// image hand-over stops before activation; the state directory stays consistent).
fn daemon(config: &PrimaryConfig, interval: Duration) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }
    let mut failures = 0u32;
    for cycle in 1.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match one_cycle(config, cycle, &stop) {
            Ok(_) => failures = 0,
            Err(client_std::Error::Stopped) => break,
            Err(e) => {
                failures = failures.saturating_add(1);
                eprintln!("update-client: cycle {cycle} failed ({failures} in a row): {e}");
            }
        }
        let wait = schedule::next_wait(interval, failures, jitter());
        println!("next cycle in {} s", wait.as_secs());
        let until = Instant::now() + wait;
        while !stop.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100).min(until.saturating_duration_since(Instant::now())));
        }
    }
    println!("stopped (signal): the state directory is consistent; the next start resumes");
    Ok(())
}

/// `--check-config`: every problem, or a line saying it is ready.
fn check(path: &std::path::Path, config: &PrimaryConfig) -> Result<(), String> {
    let problems = client_std::primary::check(config);
    if problems.is_empty() {
        println!("{}: ready ({} secondaries)", path.display(), config.secondaries.len());
        return Ok(());
    }
    for p in &problems {
        eprintln!("{}: {}: {}", path.display(), p.field, p.what);
    }
    Err(format!("{} problem(s) in {}", problems.len(), path.display()))
}

/// A number in [0, 1) that differs between gateways and cycles (for jitter, not secrecy).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let mixed = u64::from(nanos ^ std::process::id().rotate_left(16)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
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
