//! Public submissions that arrive together, written together: one
//! transaction for those waiting when a database worker comes to them, one
//! per tenant, each in a savepoint of its own under its tenant's row-level
//! security (`db::write_transaction_in_parts`): one `BEGIN`, one `COMMIT`
//! and one flush of the WAL shared across tenants (BENCHMARKS.md, issue 18
//! twentieth part).
//!
//! Nothing is delayed to form a group: each submission hands the database
//! workers a turn as before, and whichever turn comes first takes the
//! submissions then waiting (at most [`MOST`]); a turn that finds its own
//! taken already ends at once. An answer still waits for its own `COMMIT`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::numbers::NumberBlocks;
use super::submit::{in_submission, reserve_number, Reserved};
use crate::db::{self, Db, DbConnection, DbError};
use crate::domain::ids::TenantId;

/// The most submissions one transaction holds: enough to share its cost,
/// few enough that the first of them does not wait long for the last.
pub const MOST: usize = 4;

/// A submission's work in its transaction, once its number is reserved.
pub type Work<T, E> = Box<dyn FnOnce(&mut DbConnection, Reserved) -> Result<T, E> + Send>;

struct Waiting<T, E> {
    id: u64,
    tenant: TenantId,
    work: Work<T, E>,
    answer: tokio::sync::oneshot::Sender<Result<T, E>>,
}

/// The submissions waiting for a database worker.
pub struct Grouped<T, E> {
    waiting: Mutex<(u64, VecDeque<Waiting<T, E>>)>,
    /// How many submissions each transaction held (`/metrics`).
    sizes: prometheus::Histogram,
    /// How many wait now (`/metrics`).
    queued: prometheus::IntGauge,
}

impl<T, E> Default for Grouped<T, E> {
    fn default() -> Self {
        let sizes = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "filingdesk_submission_group_size",
                "Public ticket submissions written in one transaction",
            )
            .buckets((1..=MOST).map(|n| n as f64).collect()),
        )
        .expect("valid metric");
        let queued = prometheus::IntGauge::new(
            "filingdesk_submissions_waiting",
            "Public ticket submissions waiting for a database worker",
        )
        .expect("valid metric");
        Self { waiting: Mutex::new((0, VecDeque::new())), sizes, queued }
    }
}

impl<T, E> Grouped<T, E> {
    /// The metrics, for the registry.
    pub fn metrics(&self) -> (prometheus::Histogram, prometheus::IntGauge) {
        (self.sizes.clone(), self.queued.clone())
    }

    /// Takes submission `id` out of the queue, if it is still waiting.
    fn withdraw(&self, id: u64) -> bool {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let before = w.1.len();
        w.1.retain(|s| s.id != id);
        self.queued.set(w.1.len() as i64);
        w.1.len() < before
    }
}

impl<T, E> Grouped<T, E>
where
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
{
    /// Runs `work` for `tenant` in the next group's transaction and answers
    /// what it came to, once that transaction has committed (or failed:
    /// then the error, and nothing of the group was written).
    pub async fn submit(
        self: &Arc<Self>,
        db: &Db,
        numbers: &Arc<NumberBlocks>,
        tenant: TenantId,
        work: Work<T, E>,
    ) -> Result<T, E> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let id = {
            let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            w.0 += 1;
            let id = w.0;
            w.1.push_back(Waiting { id, tenant, work, answer });
            self.queued.set(w.1.len() as i64);
            id
        };
        // A request dropped before its turn leaves nothing waiting.
        let _gone = Withdraw { grouped: self, id };
        let (this, numbers) = (self.clone(), numbers.clone());
        let turn = db.run(move |conn| -> Result<(), E> {
            this.run_waiting(conn, &numbers, id);
            Ok(())
        });
        if let Err(e) = turn.await {
            // No worker came in time: should this one still be waiting, it
            // goes with the error, never to run.
            if self.withdraw(id) {
                return Err(e);
            }
        }
        // Taken by this turn or an earlier one; a dropped sender is a panic
        // there.
        answered.await.unwrap_or_else(|_| Err(E::from(DbError::Blocking("the submission's work panicked".into()))))
    }

    /// A database worker's turn, on behalf of submission `own`: the
    /// submissions waiting, in one transaction — `own` first if it still
    /// waits (so that none waits past its own turn), then the first of
    /// each other tenant, up to [`MOST`].
    ///
    /// One submission per tenant: a submission locks its filing number's
    /// rate-limit row, then its tenant's audit chain, held to `COMMIT`. With
    /// the parts in the order of their tenants, every transaction takes
    /// these locks in one order (tenant by tenant, the filing's row before
    /// the chain), as one submission alone does: two never wait for each
    /// other in a cycle. Two of one tenant in one group would take the
    /// chain before the second one's row, and a submission of the same
    /// filing number beside them could deadlock with the group.
    fn run_waiting(&self, conn: &mut DbConnection, numbers: &NumberBlocks, own: u64) {
        let mut group: Vec<Waiting<T, E>> = Vec::with_capacity(MOST);
        {
            let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = w.1.iter().position(|s| s.id == own) {
                group.extend(w.1.remove(at));
            }
            let mut at = 0;
            while at < w.1.len() && group.len() < MOST {
                if group.iter().any(|s| s.tenant == w.1[at].tenant) {
                    at += 1;
                } else {
                    group.extend(w.1.remove(at));
                }
            }
            self.queued.set(w.1.len() as i64);
        }
        // Whoever asked and left (a dropped request) gets nothing written.
        group.retain(|s| !s.answer.is_closed());
        if !group.is_empty() {
            self.sizes.observe(group.len() as f64);
        }
        if group.len() <= 1 {
            let Some(s) = group.pop() else { return };
            let result = in_submission(conn, numbers, s.tenant, s.work);
            let _ = s.answer.send(lost_or(conn, result));
            return;
        }
        // In the order of their tenants (see above).
        group.sort_by_key(|s| s.tenant);
        // The numbers first, each in a statement of its own as for one
        // submission (tickets::submit::reserve_number).
        let mut parts = Vec::with_capacity(group.len());
        let mut answers = Vec::with_capacity(group.len());
        let mut results = Vec::with_capacity(group.len());
        for s in group {
            match reserve_number(conn, numbers, s.tenant, db::now()) {
                Ok(number) => {
                    parts.push((s.tenant, (s.work, number)));
                    answers.push(s.answer);
                }
                Err(e) => results.push((s.answer, Err(E::from(e)))),
            }
        }
        match db::write_transaction_in_parts(conn, parts, |conn, (work, number)| work(conn, number)) {
            Ok(written) => results.extend(answers.into_iter().zip(written)),
            Err(e) => {
                tracing::warn!(error = %e, submissions = answers.len(), "a group of submissions failed");
                let message = e.to_string();
                for answer in answers {
                    let lost = std::io::Error::other(message.clone());
                    results.push((answer, Err(E::from(DbError::Lost(Box::new(lost))))));
                }
            }
        }
        // As for any work that failed: the connection checked once.
        let lost = results.iter().any(|(_, r)| r.is_err()) && db::check_after_failure(conn);
        for (answer, result) in results {
            let _ = answer.send(match result {
                Err(e) if lost => Err(E::from(DbError::Lost(Box::new(e)))),
                result => result,
            });
        }
    }
}

/// A failed submission's error, or `Lost` when the connection itself is
/// gone (as `Db::run` answers any work that failed).
fn lost_or<T, E>(conn: &mut DbConnection, result: Result<T, E>) -> Result<T, E>
where
    E: From<DbError> + std::error::Error + Send + Sync + 'static,
{
    match result {
        Err(e) if db::check_after_failure(conn) => Err(E::from(DbError::Lost(Box::new(e)))),
        result => result,
    }
}

struct Withdraw<'a, T, E> {
    grouped: &'a Grouped<T, E>,
    id: u64,
}

impl<T, E> Drop for Withdraw<'_, T, E> {
    fn drop(&mut self) {
        self.grouped.withdraw(self.id);
    }
}
