//! Work a request leaves for after its answer has gone (a recovery code is
//! queued after the answer, so that a match takes no longer to answer than
//! a miss).
//!
//! Such work must outlive the request but not be lost in a graceful stop:
//! spawned on the actix worker that served the request, it would be
//! dropped with that worker when the server stops, after the client was
//! told it was done. It runs on the runtime the application was built on
//! instead, which lives until [`Afterwards::finish`] has waited for it.

use std::future::Future;
use std::time::Duration;

use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Afterwards {
    runtime: tokio::runtime::Handle,
    tracker: TaskTracker,
}

impl Afterwards {
    /// On the runtime this is called on (the application's, at its build).
    pub(crate) fn here() -> Self {
        Self { runtime: tokio::runtime::Handle::current(), tracker: TaskTracker::new() }
    }

    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(self.tracker.track_future(work));
    }

    /// Waits up to `within` for everything spawned (`false` when some is
    /// still running); what is spawned after this still runs.
    pub(crate) async fn finish(&self, within: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(within, self.tracker.wait()).await.is_ok()
    }
}
