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
/// window starting at `start` is within the limit, else the seconds until a
/// next request would be (no other counted meanwhile) — what Retry-After
/// promises, so a client that honours it is not refused again.
pub fn check(limit: Limit, previous: i64, current: i64, start: NaiveDateTime, now: NaiveDateTime) -> Result<(), u64> {
    let w = limit.window.num_milliseconds().max(1) as f64;
    let elapsed = (now - start).num_milliseconds().clamp(0, w as i64) as f64;
    let max = f64::from(limit.max);
    let estimate = previous as f64 * (w - elapsed) / w + current as f64;
    if estimate <= max {
        return Ok(());
    }
    let (previous, current) = (previous as f64, current as f64);
    // The next request counts one more. Within this window, the previous
    // window's share fades: allowed once previous·(w−e−t)/w + current + 1 ≤ max.
    let room = max - current - 1.0;
    let wait_ms = if room >= 0.0 && previous > 0.0 && w - elapsed - w * room / previous < w - elapsed {
        (w - elapsed - w * room / previous).max(0.0)
    } else {
        // In the next window this one's count fades instead:
        // current·(w−e')/w + 1 ≤ max.
        let into_next = if current <= max - 1.0 { 0.0 } else { w * (1.0 - (max - 1.0) / current) };
        w - elapsed + into_next
    };
    // Whole milliseconds first, so float noise never adds a second.
    Err(((wait_ms - 1e-6).ceil().max(0.0) as u64).div_ceil(1000).max(1))
}

/// A bucket's counters as kept: its current window (`start` to `end`, the
/// next window's start), the hits counted in it, and the previous window's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub hits: i32,
    pub previous_hits: i32,
}

impl Counted {
    /// The counters after one more hit in the window `start`..`end`. A hit
    /// whose window is older than the kept one (two instances' clocks a
    /// little apart) counts in the kept window; the migration
    /// `…_rate_windows` says the same in SQL for PostgreSQL.
    pub fn hit(kept: Option<Counted>, start: NaiveDateTime, end: NaiveDateTime) -> Counted {
        Self::hits(kept, start, end, 1)
    }

    /// [`Counted::hit`], `n` hits at once (a lease, [`fitting`]).
    pub fn hits(kept: Option<Counted>, start: NaiveDateTime, end: NaiveDateTime, n: i32) -> Counted {
        match kept {
            Some(k) if k.start >= start => Counted { hits: k.hits + n, ..k },
            Some(k) if k.end == start => Counted { start, end, hits: n, previous_hits: k.hits },
            _ => Counted { start, end, hits: n, previous_hits: 0 },
        }
    }
}

/// How many hits an instance takes at once, at most, from a bucket limited
/// by `limit` ([`fitting`]): a 64th of the limit, so that what instances
/// hold unspent when a window ends stays a small part of it, and one hit at
/// a time for limits under 128 (an address's default 60 a minute), which
/// are counted exactly as without leases.
pub fn lease_cap(limit: Limit) -> i32 {
    i32::try_from(limit.max / 64).unwrap_or(i32::MAX).clamp(1, 64)
}

/// Of `taken` hits just counted together (the window's count now `current`,
/// these included), how many fit the limit at `now`: the first of them as
/// if counted alone, the next as if counted after it, and so on. A lease
/// taken at `now` stays good for the rest of the window, since the previous
/// window's share only fades (the estimate at any later moment is lower).
pub fn fitting(limit: Limit, previous: i64, current: i64, taken: i32, start: NaiveDateTime, now: NaiveDateTime) -> i32 {
    let before = current - i64::from(taken);
    (0..taken).take_while(|j| check(limit, previous, before + i64::from(*j) + 1, start, now).is_ok()).count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap().naive_utc()
    }

    #[test]
    fn a_hit_counts_in_its_window_and_remembers_only_the_adjacent_one() {
        let minute = Duration::minutes(1);
        let w = |n: i64| (at(0) + minute * n as i32, at(0) + minute * (n as i32 + 1));
        let (s0, e0) = w(0);
        let first = Counted::hit(None, s0, e0);
        assert_eq!(first, Counted { start: s0, end: e0, hits: 1, previous_hits: 0 });
        let second = Counted::hit(Some(first), s0, e0);
        assert_eq!((second.previous_hits, second.hits), (0, 2));
        let (s1, e1) = w(1);
        let next = Counted::hit(Some(second), s1, e1);
        assert_eq!(next, Counted { start: s1, end: e1, hits: 1, previous_hits: 2 });
        // A late hit of the window before counts in the kept one.
        let late = Counted::hit(Some(next), s0, e0);
        assert_eq!(late, Counted { start: s1, end: e1, hits: 2, previous_hits: 2 });
        // After a gap the previous window is empty.
        let (s3, e3) = w(3);
        assert_eq!(Counted::hit(Some(late), s3, e3), Counted { start: s3, end: e3, hits: 1, previous_hits: 0 });
    }

    #[test]
    fn a_lease_never_lets_instances_exceed_the_limit_together() {
        // Three instances spend leases of a bucket limited to 1 000 a minute
        // against one shared counter, requests arriving in turn: the hits
        // granted never pass the limit, and what the leases leave unspent
        // at the window's end stays within a cap per instance.
        let limit = Limit { max: 1000, window: Duration::minutes(1) };
        let start = window_start(at(0), limit.window);
        let cap = lease_cap(limit);
        assert_eq!(cap, 15);
        let mut counted = 0i64;
        let mut held = [0i32; 3];
        let mut next = [1i32; 3];
        let mut granted = 0i64;
        for request in 0..3000 {
            let i = request % 3;
            let now = start + Duration::milliseconds(request as i64 * 10);
            if held[i] == 0 {
                counted += i64::from(next[i]);
                let fit = fitting(limit, 0, counted, next[i], start, now);
                held[i] = fit;
                next[i] = if fit == next[i] { (next[i] * 2).min(cap) } else { 1 };
            }
            if held[i] > 0 {
                held[i] -= 1;
                granted += 1;
            }
        }
        assert!(granted <= 1000, "{granted} granted");
        let unspent: i32 = held.iter().sum();
        assert_eq!(granted + i64::from(unspent), 1000.min(counted));
        assert!(unspent <= 3 * cap, "{unspent} unspent");
    }

    #[test]
    fn a_small_limit_is_counted_one_hit_at_a_time() {
        assert_eq!(lease_cap(Limit { max: 60, window: Duration::minutes(1) }), 1);
        assert_eq!(lease_cap(Limit { max: 127, window: Duration::minutes(1) }), 1);
        assert_eq!(lease_cap(Limit { max: 1_000_000, window: Duration::minutes(1) }), 64);
        // Of three hits taken at once where two fit, two are granted.
        let limit = Limit { max: 10, window: Duration::minutes(1) };
        let start = window_start(at(0), limit.window);
        assert_eq!(fitting(limit, 0, 11, 3, start, start), 2);
        assert_eq!(fitting(limit, 0, 13, 3, start, start), 0);
        // The previous window's share counts as it does for one hit.
        assert_eq!(fitting(limit, 10, 3, 3, start, start + Duration::seconds(30)), 3);
        assert_eq!(fitting(limit, 10, 8, 3, start, start + Duration::seconds(30)), 0);
    }

    #[test]
    fn windows_start_on_their_boundary() {
        let minute = Duration::minutes(1);
        assert_eq!(window_start(at(0), minute), at(0) - Duration::seconds(at(0).and_utc().timestamp() % 60));
        assert_eq!(window_start(at(59), minute), window_start(at(1), minute));
    }

    /// Would one more request at `when` pass, nothing else counted?
    fn next_passes(limit: Limit, previous: i64, current: i64, start: NaiveDateTime, when: NaiveDateTime) -> bool {
        let next = start + limit.window;
        if when < next {
            check(limit, previous, current + 1, start, when).is_ok()
        } else if when < next + limit.window {
            check(limit, current, 1, next, when).is_ok()
        } else {
            true
        }
    }

    #[test]
    fn retry_after_is_when_the_next_request_passes() {
        for window in [Duration::minutes(1), Duration::hours(1)] {
            for max in [1, 3, 10] {
                let limit = Limit { max, window };
                let start = window_start(at(0), window);
                for previous in [0, 1, 3, 10, 40] {
                    for current in 1..=25 {
                        for elapsed in [0, 1, 14, 30, 59] {
                            let now = start + window * elapsed / 60;
                            let Err(wait) = check(limit, previous, current, start, now) else { continue };
                            let then = now + Duration::seconds(wait as i64);
                            assert!(
                                next_passes(limit, previous, current, start, then),
                                "{max}/{window}: {previous}+{current} at {elapsed}/60 told {wait} s, still refused"
                            );
                            let sooner = then - Duration::seconds(1);
                            assert!(
                                wait == 1 || !next_passes(limit, previous, current, start, sooner),
                                "{max}/{window}: {previous}+{current} at {elapsed}/60 told {wait} s, 1 s less passes"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_previous_window_counts_by_its_overlap() {
        let limit = Limit { max: 10, window: Duration::minutes(1) };
        let start = window_start(at(0), limit.window);
        assert_eq!(check(limit, 0, 10, start, start + Duration::seconds(5)), Ok(()));
        // 11 of 10 five seconds in: this window ends in 55 s, and its 11
        // leave no room for one more until 10.9 s into the next.
        assert_eq!(check(limit, 0, 11, start, start + Duration::seconds(5)), Err(66));
        // 10 in the previous minute, a quarter of the way in: 7.5 still count.
        assert_eq!(check(limit, 10, 2, start, start + Duration::seconds(15)), Ok(()));
        assert!(check(limit, 10, 3, start, start + Duration::seconds(15)).is_err());
        assert_eq!(check(limit, 10, 10, start, start + Duration::seconds(60)), Ok(()));
    }
}
