//! Limits that keep one client from holding the director: the settings, per-client
//! request rate limits (token buckets, a pure step and a bounded table), and the pause
//! after a failed `accept` (for example when file descriptors run out).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Requests per second and the burst allowed above that rate.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed at once on top of the rate.
    pub burst: u32,
}

/// The server's limits (`limits` in `director.json`; every field has a default).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// Seconds a client has to send a request's headers (and a TLS handshake); an idle
    /// keep-alive connection is closed after as long.
    pub header_timeout_secs: u64,
    /// Seconds a request may take, reading its body included, before the answer is 408.
    pub request_timeout_secs: u64,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Per device (its certificate's vin or its token), on `/api/v1/vehicles` and `/api/v1/repo`.
    pub device_rate: Rate,
    /// Per administrator token, on `/api/v1/admin`.
    pub admin_rate: Rate,
    /// Clients tracked at once by the rate limiter.
    pub tracked_clients: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 1024,
            device_rate: Rate { per_second: 10, burst: 50 },
            admin_rate: Rate { per_second: 50, burst: 200 },
            tracked_clients: 100_000,
        }
    }
}

impl ServerLimits {
    /// The header (and handshake) timeout.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    /// The whole-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }
}

/// One client's token bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket { tokens: capacity(rate), at: now }
    }

    /// Whether the bucket has refilled completely by `now` (nothing to remember).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        self.refilled(rate, now).tokens >= capacity(rate)
    }

    fn refilled(&self, rate: Rate, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        Bucket { tokens: (self.tokens + elapsed * f64::from(rate.per_second)).min(capacity(rate)), at: now }
    }

    /// Takes one request's token at `now`: the bucket after it, or how long until a
    /// token is there.
    pub fn take(&self, rate: Rate, now: Instant) -> Result<Bucket, Duration> {
        let bucket = self.refilled(rate, now);
        if bucket.tokens >= 1.0 {
            return Ok(Bucket { tokens: bucket.tokens - 1.0, ..bucket });
        }
        let per_second = f64::from(rate.per_second.max(1));
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
    }
}

fn capacity(rate: Rate) -> f64 {
    f64::from(rate.burst.max(1))
}

/// Why a request was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// This client is over its rate; a token is there after this long.
    RetryAfter(Duration),
    /// The limiter tracks as many clients as it may, all of them active.
    Busy,
}

/// Token buckets per client key, at most `tracked_clients` of them.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    tracked: usize,
}

impl RateLimiter {
    /// A limiter remembering at most `tracked` clients.
    pub fn new(tracked: usize) -> Self {
        RateLimiter { buckets: Mutex::new(HashMap::new()), tracked: tracked.max(1) }
    }

    /// Admits one request of `key` at `now` under `rate`.
    pub fn admit(&self, key: &str, rate: Rate, now: Instant) -> Result<(), Limited> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= self.tracked {
            // Forget clients whose buckets have refilled: they are as good as new.
            buckets.retain(|_, b| !b.is_full(rate, now));
            if buckets.len() >= self.tracked {
                return Err(Limited::Busy);
            }
        }
        let bucket = buckets.get(key).copied().unwrap_or_else(|| Bucket::full(rate, now));
        let next = bucket.take(rate, now).map_err(Limited::RetryAfter)?;
        buckets.insert(key.to_string(), next);
        Ok(())
    }
}

/// How long to wait before the next `accept` after one failed: 10 ms, doubling to 1 s.
pub fn accept_backoff(previous: Option<Duration>) -> Duration {
    match previous {
        None => Duration::from_millis(10),
        Some(d) => (d * 2).min(Duration::from_secs(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate { per_second: 2, burst: 3 };

    #[test]
    fn a_bucket_allows_its_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::full(RATE, start);
        for _ in 0..3 {
            bucket = bucket.take(RATE, start).unwrap();
        }
        let wait = bucket.take(RATE, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        let later = start + Duration::from_millis(500);
        bucket = bucket.take(RATE, later).unwrap();
        assert!(bucket.take(RATE, later).is_err());
        assert!(bucket.is_full(RATE, later + Duration::from_secs(2)));
    }

    #[test]
    fn the_limiter_keeps_clients_apart_and_stays_bounded() {
        let limiter = RateLimiter::new(2);
        let now = Instant::now();
        for _ in 0..3 {
            limiter.admit("a", RATE, now).unwrap();
        }
        assert!(matches!(limiter.admit("a", RATE, now), Err(Limited::RetryAfter(_))));
        limiter.admit("b", RATE, now).unwrap();
        assert_eq!(limiter.admit("c", RATE, now), Err(Limited::Busy), "two clients tracked, both active");
        // Once a's and b's buckets refill, they are forgotten to make room.
        limiter.admit("c", RATE, now + Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn accept_backoff_doubles_up_to_a_second() {
        let mut pause = accept_backoff(None);
        assert_eq!(pause, Duration::from_millis(10));
        for _ in 0..20 {
            pause = accept_backoff(Some(pause));
        }
        assert_eq!(pause, Duration::from_secs(1));
    }
}
