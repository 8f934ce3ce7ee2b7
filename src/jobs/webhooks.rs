//! Webhook delivery: batch after batch until nothing due is left (bounded),
//! in a job of its own so that a slow receiver never holds up the outbox.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDateTime;

use crate::webhooks::deliver::{Dispatcher, Report};

const MAX_BATCHES: usize = 20;

pub async fn run_once(d: &Dispatcher, now: NaiveDateTime) -> anyhow::Result<Report> {
    run_until(d, now, &AtomicBool::new(false)).await
}

/// [`run_once`], taking no further batch once `stop` is set.
pub async fn run_until(d: &Dispatcher, now: NaiveDateTime, stop: &AtomicBool) -> anyhow::Result<Report> {
    let mut total = Report::default();
    for _ in 0..MAX_BATCHES {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let r = d.run_once(now).await?;
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.dead += r.dead;
        total.deferred += r.deferred;
        // Deferred ones wait for the next run: taking them again now would
        // only call the slow endpoint again.
        if r.delivered + r.failed + r.dead == 0 || r.deferred > 0 {
            break;
        }
    }
    Ok(total)
}
