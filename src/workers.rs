//! Dedicated threads fed from one first-come-first-served queue, for work
//! that must not run on the async executor: the database (one thread per
//! pooled connection, `db::pool`) and Argon2 (one per core,
//! `security::password`).
//!
//! Before, such work waited for a semaphore permit on the async side and
//! then went to tokio's blocking pool: when one piece ended, its freed
//! permit woke the next waiter on an executor thread, which handed its
//! work to a blocking thread — two thread wake-ups between one piece and
//! the next, while the core or the connection idled. Here a thread that
//! finishes takes the next piece at once (sign-ins went from about 77 % to
//! about 90 % of the Argon2id limit, the queue page +14 %; BENCHMARKS.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

type Job = Box<dyn FnOnce() + Send>;

/// What a worker takes from the queue: work, or its cue to end.
enum Next {
    Work(Job),
    End,
}

#[derive(Clone)]
pub(crate) struct Workers {
    queue: mpsc::Sender<Next>,
    threads: usize,
    ended: Arc<AtomicBool>,
    /// Disconnected once every worker thread has returned: each holds a
    /// sender and sends nothing.
    gone: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl Workers {
    /// `n` threads named `{name}-{i}`. With `admission`, each holds a permit
    /// of it while it works, so that the work shares what the permits stand
    /// for (the database's connections) first come first served with other
    /// users (`/readyz`, leader locks, start-up).
    pub(crate) fn start(name: &str, n: usize, admission: Option<Arc<Semaphore>>) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Next>();
        let jobs = Arc::new(Mutex::new(jobs));
        let (alive, gone) = mpsc::channel::<()>();
        for i in 0..n {
            let (jobs, admission, alive) = (jobs.clone(), admission.clone(), alive.clone());
            std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                let _alive = alive;
                loop {
                    // The lock is held only while waiting for the next job; the
                    // queue closes when the last handle to it goes.
                    let next = jobs.lock().map_err(drop).and_then(|q| q.recv().map_err(drop));
                    let Ok(Next::Work(job)) = next else { return };
                    let _permit = match &admission {
                        Some(a) => match futures_executor::block_on(a.clone().acquire_owned()) {
                            Ok(permit) => Some(permit),
                            Err(_) => return,
                        },
                        None => None,
                    };
                    // A panicking job drops its answer (its caller sees an
                    // error) but keeps the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })?;
        }
        Ok(Self { queue, threads: n, ended: Arc::default(), gone: Arc::new(Mutex::new(gone)) })
    }

    /// Takes no more work, lets the workers finish what was queued before,
    /// and returns once every worker thread has returned, or after `within`
    /// (`false` then). Work a worker took up (a transaction on its way to
    /// its commit) ends before the process does, which does not wait for
    /// threads (`main` ends it with `_exit`). Before this, tokio's runtime
    /// waited for its blocking threads; nobody waits for these otherwise.
    pub(crate) async fn end(&self, within: Duration) -> bool {
        if !self.ended.swap(true, Ordering::AcqRel) {
            for _ in 0..self.threads {
                let _ = self.queue.send(Next::End);
            }
        }
        let gone = self.gone.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(gone) = gone.lock() else { return false };
            matches!(gone.recv_timeout(within), Err(mpsc::RecvTimeoutError::Disconnected))
        })
        .await
        .unwrap_or(false)
    }

    /// Runs `f` on a worker, unless no worker took it up within `wait`
    /// (`None`: however long it takes): then [`Refused::Busy`], and it never
    /// runs. Neither does it when the caller goes away first (a dropped
    /// request); once taken up, it runs to its end.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        wait: Option<Duration>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refused> {
        let taken = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let job_taken = taken.clone();
        let job: Job = Box::new(move || {
            if !job_taken.swap(true, Ordering::AcqRel) {
                let _ = tx.send(f());
            }
        });
        if self.ended.load(Ordering::Acquire) {
            return Err(Refused::Stopped);
        }
        self.queue.send(Next::Work(job)).map_err(|_| Refused::Stopped)?;
        let abandon = Abandon(taken);
        let Some(wait) = wait else { return rx.await.map_err(|_| Refused::Failed) };
        let answer = match tokio::time::timeout(wait, &mut rx).await {
            Ok(answer) => answer,
            // Whoever sets the flag first decides: the worker runs it, or
            // the caller gives up and it never runs.
            Err(_) if !abandon.0.swap(true, Ordering::AcqRel) => return Err(Refused::Busy),
            Err(_) => rx.await,
        };
        answer.map_err(|_| Refused::Failed)
    }
}

/// Why work did not run to an answer.
#[derive(Debug)]
pub(crate) enum Refused {
    /// No worker took it up in time.
    Busy,
    /// The workers were ended ([`Workers::end`]).
    Stopped,
    /// The work panicked.
    Failed,
}

/// Marks work as not wanted any more when its caller is dropped before a
/// worker took it up (after that, the flag is already set).
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker, busy with a job until [`Held::finish`].
    struct Held {
        workers: Workers,
        release: mpsc::Sender<()>,
        holding: tokio::task::JoinHandle<Result<(), Refused>>,
    }

    impl Held {
        async fn new() -> Self {
            let workers = Workers::start("test", 1, Some(Arc::new(Semaphore::new(1)))).unwrap();
            let (release, held) = mpsc::channel::<()>();
            let (started, running) = tokio::sync::oneshot::channel();
            let w = workers.clone();
            let holding = tokio::spawn(async move {
                w.run(Some(Duration::from_secs(60)), move || {
                    started.send(()).unwrap();
                    held.recv().unwrap()
                })
                .await
            });
            running.await.unwrap();
            Self { workers, release, holding }
        }

        /// Ends the holding job and returns once everything queued behind
        /// it went through the (single) worker.
        async fn finish(self) {
            self.release.send(()).unwrap();
            self.holding.await.unwrap().unwrap();
            self.workers.run(Some(Duration::from_secs(60)), || ()).await.unwrap();
        }
    }

    /// Work that notes whether it ran.
    fn noting() -> (Arc<AtomicBool>, impl FnOnce() + Send + 'static) {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        (ran, move || flag.store(true, Ordering::SeqCst))
    }

    #[tokio::test]
    async fn work_not_taken_up_in_time_is_refused_and_never_runs() {
        let held = Held::new().await;
        let (ran, work) = noting();
        let late = held.workers.run(Some(Duration::from_millis(50)), work).await;
        assert!(matches!(late, Err(Refused::Busy)), "{late:?}");
        held.finish().await;
        assert!(!ran.load(Ordering::SeqCst), "work refused as busy ran anyway");
    }

    #[tokio::test]
    async fn work_whose_caller_went_away_before_it_was_taken_up_never_runs() {
        let held = Held::new().await;
        let (ran, work) = noting();
        // Queued (polled once), then dropped as a cancelled request is.
        let gone =
            tokio::time::timeout(Duration::from_millis(20), held.workers.run(Some(Duration::from_secs(60)), work))
                .await;
        assert!(gone.is_err());
        held.finish().await;
        assert!(!ran.load(Ordering::SeqCst), "abandoned work ran");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ending_waits_for_the_work_in_hand_and_refuses_more() {
        let held = Held::new().await;
        let w = held.workers.clone();
        let ending = tokio::spawn(async move { w.end(Duration::from_secs(60)).await });
        // Ending sets its flag before it waits; until the held work is let
        // go, the worker cannot have returned.
        while !held.workers.ended.load(Ordering::Acquire) {
            tokio::task::yield_now().await;
        }
        assert!(!ending.is_finished(), "ended while a worker was still busy");
        let refused = held.workers.run(Some(Duration::from_secs(60)), || ()).await;
        assert!(matches!(refused, Err(Refused::Stopped)), "{refused:?}");
        held.release.send(()).unwrap();
        held.holding.await.unwrap().unwrap();
        assert!(ending.await.unwrap(), "the worker thread did not return");
    }

    #[tokio::test]
    async fn a_panicking_job_is_answered_as_failed_and_the_worker_goes_on() {
        let workers = Workers::start("test", 1, Some(Arc::new(Semaphore::new(1)))).unwrap();
        let failed = workers.run(Some(Duration::from_secs(60)), || panic!("boom")).await;
        assert!(matches!(failed, Err(Refused::Failed)), "{failed:?}");
        assert_eq!(workers.run(Some(Duration::from_secs(60)), || 42).await.unwrap(), 42);
    }
}
