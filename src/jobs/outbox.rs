//! Outbox delivery: batch after batch until nothing due is left (bounded,
//! so one run cannot go on for ever while new rows keep arriving).

use chrono::NaiveDateTime;

use crate::notify::deliver::{Delivery, Report};

/// Batches one run may take at most.
const MAX_BATCHES: usize = 50;

pub async fn run_once(delivery: &Delivery, now: NaiveDateTime) -> anyhow::Result<Report> {
    let mut total = Report::default();
    for _ in 0..MAX_BATCHES {
        let r = delivery.run_once(now).await?;
        let done = r.sent + r.failed + r.dead;
        total.sent += r.sent;
        total.failed += r.failed;
        total.dead += r.dead;
        if (done as i64) < delivery.batch {
            break;
        }
    }
    Ok(total)
}
