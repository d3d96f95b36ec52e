//! `update-client primary --daemon`: cycles until a stop is asked for (SIGTERM or
//! SIGINT), waiting the interval after a good cycle and backing off after failed ones
//! ([`schedule::next_wait`]). A stop ends a wait at once and a cycle at its next step
//! boundary; the state directory is consistent at every point.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::config::PrimaryConfig;
use super::cycle::{CycleReport, Observer, Primary};
use super::schedule;
use crate::Error;

/// What the daemon does, for its log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Cycle `n` starts.
    CycleStarted(u64),
    /// A cycle ran (some ECUs may have failed; the report says which).
    CycleDone(&'a CycleReport),
    /// A cycle failed as a whole (the director unreachable, a refused manifest).
    CycleFailed {
        /// Which cycle.
        cycle: u64,
        /// Failed cycles in a row.
        failures: u32,
        /// Why.
        error: &'a Error,
    },
    /// The next cycle starts after this wait.
    Waiting(Duration),
    /// A stop was asked for; the daemon ends.
    Stopped,
    /// The device is decommissioned (now or before): the daemon ends, as it has nothing
    /// left to do and no key to do it with.
    Decommissioned(&'a Error),
}

/// The primary as a service.
pub struct Daemon {
    config: PrimaryConfig,
    interval: Duration,
    stop: Arc<AtomicBool>,
}

impl Daemon {
    /// A daemon for `config`, cycling every `interval` (with jitter).
    pub fn new(config: PrimaryConfig, interval: Duration) -> Daemon {
        Daemon { config, interval, stop: Arc::default() }
    }

    /// Makes SIGTERM and SIGINT ask for a stop.
    pub fn stop_on_signals(self) -> Result<Daemon, Error> {
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(signal, self.stop.clone())
                .map_err(|e| Error::io("signal handler (SIGTERM, SIGINT)", e))?;
        }
        Ok(self)
    }

    /// The flag that asks for a stop.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Cycles until a stop; `observer` makes each cycle's live display, `log` sees
    /// every [`Event`].
    pub fn run(&self, mut observer: impl FnMut() -> Option<Observer>, mut log: impl FnMut(Event<'_>)) {
        let mut failures = 0u32;
        for cycle in 1.. {
            if self.stopping() {
                break;
            }
            log(Event::CycleStarted(cycle));
            match self.cycle(observer()) {
                Ok(report) => {
                    failures = 0;
                    log(Event::CycleDone(&report));
                }
                Err(Error::Stopped) => break,
                Err(error @ Error::Decommissioned { .. }) => {
                    log(Event::Decommissioned(&error));
                    return;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    log(Event::CycleFailed { cycle, failures, error: &error });
                }
            }
            let wait = schedule::next_wait(self.interval, failures, jitter());
            log(Event::Waiting(wait));
            self.sleep(wait);
        }
        log(Event::Stopped);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// One cycle of a primary opened afresh (its own image's start rules run each time).
    fn cycle(&self, observer: Option<Observer>) -> Result<CycleReport, Error> {
        let mut primary = Primary::open(self.config.clone())?.with_stop(self.stop.clone());
        if let Some(observer) = observer {
            primary = primary.with_observer(observer);
        }
        primary.cycle(chrono::Utc::now())
    }

    /// Sleeps `wait`, or less if a stop is asked for.
    fn sleep(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while !self.stopping() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
        }
    }
}

/// A number in [0, 1) that differs between gateways and cycles (for jitter, not secrecy).
pub fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let mixed = u64::from(nanos ^ std::process::id().rotate_left(16)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}
