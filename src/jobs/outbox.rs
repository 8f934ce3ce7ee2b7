//! Outbox delivery: batch after batch until nothing due is left (bounded,
//! so one run cannot go on for ever while new rows keep arriving). A batch
//! smaller than the limit is not the end: a ticket's next message to a
//! recipient becomes due only once the one before it has gone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::NaiveDateTime;

use crate::notify::deliver::{Delivery, Report};

/// Batches one run may take at most.
const MAX_BATCHES: usize = 20;

pub async fn run_once(delivery: &Delivery, now: NaiveDateTime) -> anyhow::Result<Report> {
    run_until(delivery, now, &AtomicBool::new(false)).await
}

/// Batches in flight at once: while one lane sends, the other claims or
/// records, so the database and the gateway work at the same time. Lanes
/// claim with `SKIP LOCKED` like separate instances would, and a ticket's
/// later message stays blocked while an earlier one is leased.
const LANES: usize = 2;

/// [`run_once`], taking no further batch once `stop` is set: a batch
/// taken is always sent and recorded.
pub async fn run_until(delivery: &Delivery, now: NaiveDateTime, stop: &AtomicBool) -> anyhow::Result<Report> {
    let taken = AtomicUsize::new(0);
    let lane = || async {
        let mut total = Report::default();
        while !stop.load(Ordering::Acquire) && taken.fetch_add(1, Ordering::AcqRel) < MAX_BATCHES {
            let r = delivery.run_once(now).await?;
            let done = r.attempted();
            total += r;
            if done == 0 {
                break;
            }
        }
        anyhow::Ok(total)
    };
    let lanes = futures_util::future::join_all((0..LANES).map(|_| lane())).await;
    let mut total = Report::default();
    for r in lanes {
        total += r?;
    }
    Ok(total)
}
