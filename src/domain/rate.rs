//! Rate limiting by a sliding window estimated from two fixed windows: the
//! current window's count plus the previous one's, weighted by how much of
//! it still overlaps the last `window`. Smooth at window edges, two counters
//! per key, and cheap to keep in a database shared by all instances.

use chrono::{Duration, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// The start of the fixed window `at` falls in.
pub fn window_start(at: NaiveDateTime, window: Duration) -> NaiveDateTime {
    let w = window.num_seconds().max(1);
    let secs = at.and_utc().timestamp();
    chrono::DateTime::from_timestamp(secs - secs.rem_euclid(w), 0).expect("in range").naive_utc()
}

/// `Ok` when the request counted as `current` (this one included) in the
/// window starting at `start` is within the limit, else the seconds to wait.
pub fn check(limit: Limit, previous: i64, current: i64, start: NaiveDateTime, now: NaiveDateTime) -> Result<(), u64> {
    let w = limit.window.num_milliseconds().max(1) as f64;
    let elapsed = (now - start).num_milliseconds().clamp(0, w as i64) as f64;
    let estimate = previous as f64 * (w - elapsed) / w + current as f64;
    if estimate <= f64::from(limit.max) {
        Ok(())
    } else {
        // Waiting out the current window always brings the estimate down
        // to at most this window's count, which the caller then re-earns.
        Err((((w - elapsed) / 1000.0).ceil() as u64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap().naive_utc()
    }

    #[test]
    fn windows_start_on_their_boundary() {
        let minute = Duration::minutes(1);
        assert_eq!(window_start(at(0), minute), at(0) - Duration::seconds(at(0).and_utc().timestamp() % 60));
        assert_eq!(window_start(at(59), minute), window_start(at(1), minute));
    }

    #[test]
    fn the_previous_window_counts_by_its_overlap() {
        let limit = Limit { max: 10, window: Duration::minutes(1) };
        let start = window_start(at(0), limit.window);
        assert_eq!(check(limit, 0, 10, start, start + Duration::seconds(5)), Ok(()));
        assert_eq!(check(limit, 0, 11, start, start + Duration::seconds(5)), Err(55));
        // 10 in the previous minute, a quarter of the way in: 7.5 still count.
        assert_eq!(check(limit, 10, 2, start, start + Duration::seconds(15)), Ok(()));
        assert!(check(limit, 10, 3, start, start + Duration::seconds(15)).is_err());
        assert_eq!(check(limit, 10, 10, start, start + Duration::seconds(60)), Ok(()));
    }
}
