//! The slowest transfer accepted: a reader that fails when fewer than `min_rate` bytes a
//! second arrived over a whole window (slow retrieval), as a per-read timeout cannot
//! see a server that sends one byte a second. The decision is a pure step over times and
//! byte counts; the reader only feeds it.

use std::io::Read;
use std::time::{Duration, Instant};

/// A transfer's progress in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateWindow {
    start: Instant,
    bytes: u64,
}

/// A transfer slower than allowed: what arrived in how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooSlow {
    /// Bytes received in the window.
    pub bytes: u64,
    /// The window's length.
    pub window: Duration,
}

impl RateWindow {
    /// A window starting at `now`.
    pub fn new(now: Instant) -> Self {
        RateWindow { start: now, bytes: 0 }
    }

    /// `n` more bytes at `now`: the window after them, or the verdict that the finished
    /// window fell below `min_rate` bytes a second.
    pub fn on_bytes(self, n: u64, now: Instant, min_rate: u64, window: Duration) -> Result<RateWindow, TooSlow> {
        let bytes = self.bytes + n;
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed < window || min_rate == 0 {
            return Ok(RateWindow { bytes, ..self });
        }
        let needed = (min_rate as f64 * elapsed.as_secs_f64()) as u64;
        if bytes < needed {
            return Err(TooSlow { bytes, window: elapsed });
        }
        Ok(RateWindow::new(now))
    }
}

/// A reader failing with `TimedOut` once a window falls below the minimum rate.
pub struct MinimumRate<R> {
    inner: R,
    window: RateWindow,
    min_rate: u64,
    length: Duration,
}

impl<R: Read> MinimumRate<R> {
    /// Watches `inner` from now.
    pub fn new(inner: R, min_rate: u64, length: Duration) -> Self {
        MinimumRate { inner, window: RateWindow::new(Instant::now()), min_rate, length }
    }
}

impl<R: Read> Read for MinimumRate<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.window = self.window.on_bytes(n as u64, Instant::now(), self.min_rate, self.length).map_err(|slow| {
            let message = format!(
                "slow retrieval: {} bytes in {:.0} s, below the minimum of {} bytes/s",
                slow.bytes,
                slow.window.as_secs_f64(),
                self.min_rate
            );
            std::io::Error::new(std::io::ErrorKind::TimedOut, message)
        })?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);

    #[test]
    fn a_transfer_below_the_rate_fails_when_its_window_ends() {
        let start = Instant::now();
        let mut window = RateWindow::new(start);
        for second in 1..10 {
            window = window.on_bytes(1, start + Duration::from_secs(second), 100, WINDOW).unwrap();
        }
        let slow = window.on_bytes(1, start + WINDOW, 100, WINDOW).unwrap_err();
        assert_eq!(slow, TooSlow { bytes: 10, window: WINDOW });
    }

    #[test]
    fn a_transfer_at_the_rate_goes_on_in_a_new_window() {
        let start = Instant::now();
        let window = RateWindow::new(start).on_bytes(1000, start + WINDOW, 100, WINDOW).unwrap();
        assert_eq!(window, RateWindow::new(start + WINDOW));
        assert!(RateWindow::new(start).on_bytes(1, start + WINDOW * 100, 0, WINDOW).is_ok(), "0 turns it off");
    }
}
