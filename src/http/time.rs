//! Timestamps in responses, as chrono writes them (RFC 3339, UTC as `Z`,
//! fractional seconds only as far as they go: `AutoSi`) but handed to the
//! serializer in one piece. chrono's own `Serialize` goes through
//! `collect_str`, and serde_json escapes and copies what it is given one
//! character at a time: on the queue page, three timestamps a ticket were
//! 9 % of the server's CPU (BENCHMARKS.md, issue 18, eighth part). Even
//! `to_rfc3339_opts` costs ~1 200 instructions a timestamp through
//! `core::fmt` (17 % of a queue page's, sixteenth part), so the years every
//! stored timestamp has (0–9999) are written digit by digit here, and the
//! rest (and leap seconds) by chrono; the test below holds both to chrono.
//! Use with `#[serde(serialize_with = "crate::http::time::utc")]`; the
//! OpenAPI schema still comes from the field's type.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer;

pub fn utc<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut text = [0u8; 30];
    match rfc3339(at, &mut text).map(std::str::from_utf8) {
        Some(Ok(text)) => s.serialize_str(text),
        _ => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `at` as a JSON string, as [`utc`] has serde_json write it.
pub fn write_json(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    let mut text = [0u8; 30];
    match rfc3339(at, &mut text) {
        Some(text) => super::json::plain_string(out, text),
        None => super::json::string(out, &at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

pub fn utc_opt<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc(at, s),
        None => s.serialize_none(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff[fff[fff]]]Z` into `out`; `None` for a year
/// outside 0–9999 or a leap second, which chrono writes its own way.
fn rfc3339<'a>(at: &DateTime<Utc>, out: &'a mut [u8; 30]) -> Option<&'a [u8]> {
    let (date, time) = (at.date_naive(), at.time());
    let nanos = time.nanosecond();
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, date.month(), 2);
    put(8, date.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    let end = match nanos {
        0 => 19,
        n if n % 1_000_000 == 0 => {
            put(20, n / 1_000_000, 3);
            23
        }
        n if n % 1_000 == 0 => {
            put(20, n / 1_000, 6);
            26
        }
        n => {
            put(20, n, 9);
            29
        }
    };
    for (at, mark) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        out[at] = mark;
    }
    out[end] = b'Z';
    Some(&out[..=end])
}

/// Timestamps [`utc`] leaves to chrono (a year past 9999, a leap second as
/// chrono represents one), for tests that hold a writer to chrono's text.
#[cfg(test)]
pub(crate) fn written_by_chrono() -> [DateTime<Utc>; 2] {
    use chrono::NaiveDate;
    [
        NaiveDate::from_ymd_opt(12345, 6, 7).unwrap().and_hms_micro_opt(8, 9, 10, 11).unwrap().and_utc(),
        NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap().and_utc(),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use rand::Rng;

    use super::*;

    #[derive(serde::Serialize)]
    struct Ours {
        #[serde(serialize_with = "utc")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "utc_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(serde::Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    /// chrono's own serialization is the oracle: the same text for whole
    /// seconds, milli-, micro- and nanoseconds, years 0 to 9999 and beyond.
    #[test]
    fn timestamps_are_written_exactly_as_chrono_writes_them() {
        let mut rng = rand::thread_rng();
        let mut cases = vec![
            Utc.with_ymd_and_hms(2026, 11, 27, 21, 23, 17).unwrap(),
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap().and_hms_nano_opt(0, 0, 0, 1).unwrap().and_utc(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 999).unwrap().and_utc(),
        ];
        cases.extend(written_by_chrono());
        for _ in 0..2000 {
            let secs = rng.gen_range(-62_000_000_000i64..250_000_000_000);
            let nanos = match rng.gen_range(0..4) {
                0 => 0,
                1 => rng.gen_range(0..1000) * 1_000_000,
                2 => rng.gen_range(0..1_000_000) * 1000,
                _ => rng.gen_range(0..1_000_000_000),
            };
            cases.push(DateTime::from_timestamp(secs, nanos).unwrap());
            // Microseconds, as PostgreSQL and SQLite store them.
            cases.push(DateTime::from_timestamp(secs, rng.gen_range(0..1_000_000) * 1000).unwrap());
        }
        for at in cases {
            for maybe in [None, Some(at)] {
                let ours = serde_json::to_string(&Ours { at, maybe }).unwrap();
                assert_eq!(ours, serde_json::to_string(&Chronos { at, maybe }).unwrap());
            }
        }
    }
}
