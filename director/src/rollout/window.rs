//! Maintenance windows: when a rollout may offer its update. Written as operators write
//! them, `Mon-Fri 01:00-05:00` (days, then hours in UTC), several joined by `,`; a window
//! whose end is before its start runs past midnight into the next day. No window: always.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One window: on these days (Monday = 0), from `start` to `end` minutes after midnight UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Bit `d` set: the window opens on day `d` (Monday = 0).
    days: u8,
    /// Opens, in minutes after midnight.
    start: u16,
    /// Closes, in minutes after midnight (before `start`: the next day).
    end: u16,
}

/// A rollout's windows (none: offers go out at any time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Windows(Vec<Window>);

/// A window that does not parse, with the part that was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowError {
    /// The window as written.
    pub window: String,
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maintenance window {:?}: write DAYS HH:MM-HH:MM in UTC, as in \"Mon-Fri 01:00-05:00\" or \"Sat,Sun 00:00-23:59\"",
            self.window
        )
    }
}

impl std::error::Error for WindowError {}

fn day(name: &str) -> Option<u8> {
    DAYS.iter().position(|d| d.eq_ignore_ascii_case(name)).map(|i| i as u8)
}

fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
}

/// The day bits of `Mon-Fri`, `Sat+Sun`, `Tue`.
fn days(text: &str) -> Option<u8> {
    let mut bits = 0u8;
    for part in text.split('+') {
        bits |= match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                (0..7)
                    .filter(|d| if from <= to { (from..=to).contains(d) } else { *d >= from || *d <= to })
                    .fold(0, |b, d| b | 1 << d)
            }
            None => 1 << day(part)?,
        };
    }
    Some(bits)
}

impl Windows {
    /// Parses `Mon-Fri 01:00-05:00, Sat+Sun 00:00-23:59` (empty: no restriction).
    pub fn parse(text: &str) -> Result<Windows, WindowError> {
        let mut windows = Vec::new();
        for written in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let bad = || WindowError { window: written.to_string() };
            let (day_part, hours) = written.split_once(' ').ok_or_else(bad)?;
            let (start, end) = hours.trim().split_once('-').ok_or_else(bad)?;
            let window = Window {
                days: days(day_part).ok_or_else(bad)?,
                start: minutes(start).ok_or_else(bad)?,
                end: minutes(end).ok_or_else(bad)?,
            };
            if window.start == window.end {
                return Err(bad());
            }
            windows.push(window);
        }
        Ok(Windows(windows))
    }

    /// Whether offers may go out at `now`.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let today = now.weekday().num_days_from_monday() as u8;
        let yesterday = (today + 6) % 7;
        let minute = (now.hour() * 60 + now.minute()) as u16;
        self.0.iter().any(|w| {
            let on = |d: u8| w.days & (1 << d) != 0;
            if w.start < w.end {
                on(today) && (w.start..w.end).contains(&minute)
            } else {
                (on(today) && minute >= w.start) || (on(yesterday) && minute < w.end)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day_of_month: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        // December 2026: the 7th is a Monday.
        Utc.with_ymd_and_hms(2026, 12, day_of_month, hour, minute, 0).unwrap()
    }

    #[test]
    fn offers_go_out_only_inside_a_window() {
        let nights = Windows::parse("Mon-Fri 01:00-05:00").unwrap();
        assert!(nights.open_at(at(7, 1, 0)), "Monday 01:00");
        assert!(nights.open_at(at(11, 4, 59)), "Friday 04:59");
        assert!(!nights.open_at(at(11, 5, 0)), "Friday 05:00: closed");
        assert!(!nights.open_at(at(12, 2, 0)), "Saturday");
        assert!(!nights.open_at(at(7, 0, 59)), "Monday 00:59");
        assert!(Windows::parse("").unwrap().open_at(at(12, 12, 0)), "no window: always");
    }

    #[test]
    fn a_window_past_midnight_runs_into_the_next_day() {
        let late = Windows::parse("Fri 22:00-02:00").unwrap();
        assert!(late.open_at(at(11, 23, 0)), "Friday 23:00");
        assert!(late.open_at(at(12, 1, 59)), "Saturday 01:59, from Friday's window");
        assert!(!late.open_at(at(12, 22, 30)), "Saturday 22:30: not a Friday");
        assert!(!late.open_at(at(11, 1, 0)), "Friday 01:00: Thursday has no window");
    }

    #[test]
    fn days_ranges_and_several_windows() {
        let weekend = Windows::parse("Sat+Sun 00:00-23:59, Wed 12:00-13:00").unwrap();
        assert!(weekend.open_at(at(13, 9, 0)), "Sunday");
        assert!(weekend.open_at(at(9, 12, 30)), "Wednesday noon");
        assert!(!weekend.open_at(at(9, 13, 30)));
        let around = Windows::parse("Sat-Mon 00:00-23:59").unwrap();
        assert!(around.open_at(at(7, 10, 0)) && around.open_at(at(12, 10, 0)) && !around.open_at(at(8, 10, 0)));
    }

    #[test]
    fn a_bad_window_is_refused_with_how_to_write_it() {
        for bad in
            ["Mon 1:00-05:00", "Mon 01:00", "Someday 01:00-02:00", "Mon 25:00-26:00", "Mon 01:00-01:00", "01:00-02:00"]
        {
            let error = Windows::parse(bad).unwrap_err().to_string();
            assert!(error.contains("Mon-Fri 01:00-05:00") && error.contains(bad), "{bad}: {error}");
        }
    }
}
