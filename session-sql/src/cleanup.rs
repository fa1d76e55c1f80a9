//! The background task that deletes expired rows, for any SQL backend.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use session_core::{Error, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Tells a cleanup run, between two batches, whether its [`CleanupTask`] was stopped or dropped.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<()>);

impl StopSignal {
    /// `true` once the task was asked to stop: finish the batch in flight, start no other.
    pub fn is_stopping(&self) -> bool {
        self.0.has_changed().unwrap_or(true)
    }
}

/// Runs `run` every `interval` (the first run starts at once) on a Tokio task, until the
/// returned [`CleanupTask`] is dropped or [stopped](CleanupTask::stop). `run` deletes expired
/// rows in batches, checking the [`StopSignal`] between batches, and returns how many it
/// removed.
///
/// A failed run is logged (a `tracing` warning naming `backend` and `table`, with the error
/// chain), kept for [`CleanupTask::take_error`] and retried at the next tick. An `interval` of
/// zero is treated as one millisecond.
///
/// # Panics
/// When called outside a Tokio runtime.
pub fn spawn_cleanup<F, Fut>(
    backend: &'static str,
    table: String,
    interval: Duration,
    mut run: F,
) -> CleanupTask
where
    F: FnMut(StopSignal) -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64>> + Send,
{
    let (stop, mut stopped) = watch::channel(());
    let stats = Arc::new(Stats::default());
    let task_stats = Arc::clone(&stats);
    let handle = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                // A stop request, or the CleanupTask (the sender) dropped.
                _ = stopped.changed() => return,
                _ = ticker.tick() => {}
            }
            match run(StopSignal(stopped.clone())).await {
                Ok(n) => {
                    task_stats.removed.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    // Logged here because nobody may ever call take_error: a cleanup that keeps
                    // failing fills the table silently otherwise.
                    tracing::warn!(
                        backend,
                        table = %table,
                        error = %session_core::error_chain(&e),
                        transient = e.is_transient(),
                        "{backend} session cleanup failed; retrying at the next interval"
                    );
                    *task_stats.lock_error() = Some(e);
                }
            }
            task_stats.runs.fetch_add(1, Ordering::Relaxed);
        }
    });
    CleanupTask {
        stop,
        handle,
        stats,
    }
}

#[derive(Default)]
struct Stats {
    removed: AtomicU64,
    runs: AtomicU64,
    last_error: Mutex<Option<Error>>,
}

impl Stats {
    fn lock_error(&self) -> std::sync::MutexGuard<'_, Option<Error>> {
        // The lock only guards a replace/take; a panic cannot leave it inconsistent.
        self.last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A background cleanup started by [`spawn_cleanup`] (through a store's `spawn_cleanup`).
///
/// Dropping it stops the task: a batch in flight finishes, no further batch starts. Use
/// [`stop`](Self::stop) to also wait for that.
#[must_use = "dropping a CleanupTask stops the cleanup"]
pub struct CleanupTask {
    stop: watch::Sender<()>,
    handle: JoinHandle<()>,
    stats: Arc<Stats>,
}

impl fmt::Debug for CleanupTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanupTask")
            .field("runs", &self.runs())
            .field("removed", &self.removed())
            .field("finished", &self.handle.is_finished())
            .finish()
    }
}

impl CleanupTask {
    /// Stops the task and waits until it has ended (after the batch in flight, if any).
    pub async fn stop(self) {
        // An error only means the task has already ended.
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }

    /// Rows removed so far by all completed runs.
    pub fn removed(&self) -> u64 {
        self.stats.removed.load(Ordering::Relaxed)
    }

    /// Runs completed so far, successful or not.
    pub fn runs(&self) -> u64 {
        self.stats.runs.load(Ordering::Relaxed)
    }

    /// The error of the most recent failed run, if any, clearing it. The task keeps running
    /// after an error; a dead server shows up here as a transient error every interval.
    pub fn take_error(&self) -> Option<Error> {
        self.stats.lock_error().take()
    }

    /// `true` once the task has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[tokio::test]
    async fn runs_count_removals_log_failures_and_stop() {
        let logs = session_testkit::capture_logs();
        let calls = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&calls);
        let task = spawn_cleanup("fake", "tbl".into(), Duration::from_millis(5), move |_| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(Error::unavailable("fake", std::io::Error::other("down")))
                } else {
                    Ok(2)
                }
            }
        });
        while task.runs() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(task.take_error().is_some_and(|e| e.is_transient()));
        assert!(task.take_error().is_none());
        assert!(task.removed() >= 4, "{task:?}");
        task.stop().await;
        let after = calls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(calls.load(Ordering::SeqCst), after, "ran after stop");
        let text = logs.text();
        assert!(text.contains("fake session cleanup failed"), "{text}");
        assert!(text.contains("table=tbl"), "{text}");
    }
}
