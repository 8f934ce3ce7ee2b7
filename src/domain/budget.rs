//! Send budgets: at most `limit` messages in any window of each length.
//! A message over budget is scheduled for the first moment it fits.

use chrono::{Duration, NaiveDateTime};

use super::settings::SendBudget;

/// The windows and limits of a budget.
pub fn windows(b: SendBudget) -> [(Duration, usize); 3] {
    [
        (Duration::minutes(1), b.per_minute as usize),
        (Duration::hours(1), b.per_hour as usize),
        (Duration::days(1), b.per_day as usize),
    ]
}

/// The earliest time at or after `earliest` (and after every time already
/// taken, so messages keep their order) when one more message fits in every
/// window: fewer than `limit` taken times in `(t - window, t]`.
pub fn next_slot(earliest: NaiveDateTime, taken: &[NaiveDateTime], budget: SendBudget) -> NaiveDateTime {
    let mut taken = taken.to_vec();
    taken.sort();
    let mut t = taken.last().map_or(earliest, |last| earliest.max(*last));
    loop {
        let mut moved = false;
        for (window, limit) in windows(budget) {
            let inside: Vec<&NaiveDateTime> = taken.iter().filter(|x| **x > t - window && **x <= t).collect();
            if inside.len() >= limit {
                // Wait until enough of them leave the window.
                t = *inside[inside.len() - limit] + window;
                moved = true;
            }
        }
        if !moved {
            return t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc() + Duration::minutes(min)
    }

    const CARRIER: SendBudget = SendBudget { per_minute: 1, per_hour: 5, per_day: 10 };

    #[test]
    fn a_first_message_goes_at_once() {
        assert_eq!(next_slot(at(0), &[], CARRIER), at(0));
    }

    #[test]
    fn messages_are_spread_a_minute_apart_then_an_hour_then_a_day() {
        let mut taken = Vec::new();
        for _ in 0..11 {
            let t = next_slot(at(0), &taken, CARRIER);
            taken.push(t);
        }
        assert_eq!(&taken[..5], &[at(0), at(1), at(2), at(3), at(4)]);
        // The sixth waits until the first leaves the hour window.
        assert_eq!(taken[5], at(60));
        // The eleventh waits for the day window.
        assert_eq!(taken[10], at(24 * 60));
        for w in taken.windows(2) {
            assert!(w[1] > w[0]);
        }
    }

    #[test]
    fn old_messages_do_not_hold_up_new_ones() {
        assert_eq!(next_slot(at(120), &[at(0), at(1)], CARRIER), at(120));
    }
}
