//! Outbox delivery: batch after batch until nothing due is left (bounded,
//! so one run cannot go on for ever while new rows keep arriving). A batch
//! smaller than the limit is not the end: a ticket's next message to a
//! recipient becomes due only once the one before it has gone.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDateTime;

use crate::notify::deliver::{Delivery, Report};

/// Batches one run may take at most.
const MAX_BATCHES: usize = 50;

pub async fn run_once(delivery: &Delivery, now: NaiveDateTime) -> anyhow::Result<Report> {
    run_until(delivery, now, &AtomicBool::new(false)).await
}

/// [`run_once`], taking no further batch once `stop` is set: a batch
/// taken is always sent and recorded.
pub async fn run_until(delivery: &Delivery, now: NaiveDateTime, stop: &AtomicBool) -> anyhow::Result<Report> {
    let mut total = Report::default();
    for _ in 0..MAX_BATCHES {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let r = delivery.run_once(now).await?;
        let done = r.sent + r.failed + r.dead + r.withdrawn;
        total.sent += r.sent;
        total.failed += r.failed;
        total.dead += r.dead;
        total.withdrawn += r.withdrawn;
        if done == 0 {
            break;
        }
    }
    Ok(total)
}
