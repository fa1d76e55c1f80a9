//! Per-operation timeouts, and running again a statement the database rolled back.

use std::future::Future;
use std::time::Duration;

use session_core::Error;

/// How a backend reads its driver's errors.
pub trait Classify<E> {
    /// The backend name its errors carry.
    const BACKEND: &'static str;
    /// How many times in all [`timed_retry`] runs a statement that keeps being rolled back.
    const ATTEMPTS: u32 = 5;

    /// Maps a driver error into [`Error`], keeping it as the source.
    fn map(err: E) -> Error;

    /// `true` when the database rolled the statement back for a conflict with another
    /// transaction (a deadlock, a serialization failure, a busy database), so that running the
    /// same statement again may succeed.
    fn is_retryable(err: &E) -> bool;
}

/// Runs `fut` under `timeout`, mapping a driver error with `C::map` and an elapsed timeout to
/// [`Error::Timeout`]. A dropped future cancels the statement from the client's side; the driver
/// discards or resynchronises that connection before reusing it.
///
/// # Errors
/// The mapped driver error, or [`Error::Timeout`].
pub async fn timed<C: Classify<E>, T, E>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> session_core::Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result.map_err(C::map),
        Err(_) => Err(Error::timeout(C::BACKEND, timeout)),
    }
}

/// Runs the statement(s) `attempt` builds under `timeout`, as [`timed`] does, and runs them
/// again, up to `C::ATTEMPTS` times in all, while `C::is_retryable` says the database rolled them
/// back. Only for statements that are safe to repeat: each either fully happened or, rolled
/// back, did not happen at all.
///
/// # Errors
/// As [`timed`]; a conflict that outlasts the attempts is mapped by `C::map` (which should call
/// it transient).
pub async fn timed_retry<C, T, E, F, Fut>(
    timeout: Duration,
    mut attempt: F,
) -> session_core::Result<T>
where
    C: Classify<E>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    timed::<C, T, E>(timeout, async {
        let mut tries = 1;
        loop {
            match attempt().await {
                Err(e) if C::is_retryable(&e) && tries < C::ATTEMPTS => {
                    tracing::debug!(
                        backend = C::BACKEND,
                        tries,
                        "statement rolled back by a conflict; running it again"
                    );
                    // The winner holds its locks until it commits, a fraction of a millisecond
                    // for one-row statements; give it that long.
                    tokio::time::sleep(Duration::from_millis(u64::from(tries))).await;
                    tries += 1;
                }
                result => return result,
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug)]
    enum Fake {
        Busy,
        Broken,
    }

    impl std::fmt::Display for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }
    impl std::error::Error for Fake {}

    struct C;
    impl Classify<Fake> for C {
        const BACKEND: &'static str = "fake";
        fn map(err: Fake) -> Error {
            match err {
                Fake::Busy => Error::unavailable("fake", err),
                Fake::Broken => Error::backend("fake", err),
            }
        }
        fn is_retryable(err: &Fake) -> bool {
            matches!(err, Fake::Busy)
        }
    }

    #[tokio::test]
    async fn conflicts_are_retried_a_bounded_number_of_times() {
        let calls = AtomicU32::new(0);
        let got = timed_retry::<C, u32, _, _, _>(Duration::from_secs(5), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n < 3 { Err(Fake::Busy) } else { Ok(n) }
        })
        .await;
        assert_eq!(got.unwrap(), 3);

        calls.store(0, Ordering::SeqCst);
        let got = timed_retry::<C, u32, _, _, _>(Duration::from_secs(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Fake::Busy)
        })
        .await;
        assert!(matches!(got, Err(Error::Unavailable { .. })), "{got:?}");
        assert_eq!(calls.load(Ordering::SeqCst), C::ATTEMPTS);

        calls.store(0, Ordering::SeqCst);
        let got = timed_retry::<C, u32, _, _, _>(Duration::from_secs(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Fake::Broken)
        })
        .await;
        assert!(matches!(got, Err(Error::Backend { .. })), "{got:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a permanent error was retried"
        );
    }

    #[tokio::test]
    async fn an_elapsed_timeout_is_a_timeout_error() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, Fake>(())
        };
        let err = timed::<C, _, _>(Duration::from_millis(10), slow).await;
        assert!(
            matches!(err, Err(Error::Timeout { after, .. }) if after == Duration::from_millis(10))
        );
    }
}
