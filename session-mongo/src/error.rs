//! Mapping driver errors into [`session_core::Error`], and the per-operation timeout.

use std::time::Duration;

use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use session_core::{Error, Result};

/// The backend name every error of this crate carries.
pub(crate) const BACKEND: &str = "mongo";

/// Server error codes that mean "this node cannot serve you right now" rather than "your request
/// is wrong": the codes the MongoDB retryable-writes specification lists as retryable (node
/// shutting down, primary stepped down, network trouble between nodes). They appear while a
/// server restarts or a replica set elects a new primary, so they are reported as
/// [`Error::Unavailable`].
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10058, // LegacyNotPrimary
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// `E11000 duplicate key`: two upserts of one `_id` raced and both tried to insert.
const DUPLICATE_KEY: i32 = 11000;

/// `NamespaceNotFound`: the collection does not exist (yet).
pub(crate) const NAMESPACE_NOT_FOUND: i32 = 26;

/// The server error code of a command or write error, if the error carries one.
fn server_code(e: &DriverError) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        _ => None,
    }
}

/// The server error code behind a [mapped](map) error, read from the driver error kept as its
/// source; lets a caller special-case one code after [`timed`] has mapped the error.
pub(crate) fn server_code_of(e: &Error) -> Option<i32> {
    let source = std::error::Error::source(e)?;
    server_code(source.downcast_ref::<DriverError>()?)
}

/// `true` for errors a later retry (or the driver's own reconnection) can cure.
fn is_transient(e: &DriverError) -> bool {
    let kind_is_network = matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
    );
    kind_is_network
        || server_code(e).is_some_and(|code| TRANSIENT_CODES.contains(&code))
        || e.contains_label("RetryableWriteError")
}

/// `true` when an upsert lost a race against another upsert of the same `_id`.
pub(crate) fn is_duplicate_key(e: &Error) -> bool {
    server_code_of(e) == Some(DUPLICATE_KEY)
}

/// Maps a driver error, keeping it as the source: unreachable or restarting server →
/// [`Error::Unavailable`]; bad credentials or TLS settings → [`Error::Config`]; anything else the
/// server refused → [`Error::Backend`].
pub(crate) fn map(e: DriverError) -> Error {
    if is_transient(&e) {
        return Error::unavailable(BACKEND, e);
    }
    match e.kind.as_ref() {
        ErrorKind::Authentication { .. } => {
            Error::config_with_source(BACKEND, "authentication failed", e)
        }
        ErrorKind::InvalidTlsConfig { .. } => {
            Error::config_with_source(BACKEND, "invalid TLS configuration", e)
        }
        _ => Error::backend(BACKEND, e),
    }
}

/// Runs one driver operation to completion in a task of its own and waits at most `timeout` for
/// it; past that the caller gets [`Error::Timeout`] while the operation finishes in the
/// background. A driver error is [mapped](map); [`server_code_of`] still reads its code.
///
/// Why a task: the driver requires its futures to be polled to completion (its README, "Warning
/// about timeouts / cancellation"). A future dropped mid-operation, as `tokio::time::timeout`
/// would do, can leave the connection pool in a state it never leaves: the fault tests saw a store
/// time out on every operation, forever, after a 3 s stall under load. A task that outlives the
/// timeout holds one pooled connection until the server answers, the connection fails, or
/// `connectTimeoutMS` ends its handshake, so the number left behind is bounded by the pool size.
pub(crate) async fn timed<T: Send + 'static>(
    timeout: Duration,
    op: impl Future<Output = std::result::Result<T, DriverError>> + Send + 'static,
) -> Result<T> {
    let task = tokio::spawn(op);
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result.map_err(map),
        // The driver panicked inside the task: report it rather than unwinding into the caller.
        Ok(Err(join_error)) => Err(Error::backend(BACKEND, join_error)),
        Err(_) => Err(Error::timeout(BACKEND, timeout)),
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{self, doc};
    use mongodb::error::WriteError;

    use super::*;

    fn write_error(code: i32) -> DriverError {
        let w: WriteError = bson::from_document(doc! { "code": code, "errmsg": "E" }).unwrap();
        ErrorKind::Write(WriteFailure::WriteError(w)).into()
    }

    #[tokio::test]
    async fn a_duplicate_key_is_recognised_after_mapping() {
        let err = timed(Duration::from_secs(5), async {
            Err::<(), _>(write_error(11000))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{err:?}");
        assert!(is_duplicate_key(&err));
        assert!(!is_duplicate_key(&map(write_error(121))));
    }

    #[test]
    fn a_stepped_down_primary_is_unavailable() {
        let err = map(write_error(189));
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert_eq!(server_code_of(&err), Some(189));
    }

    #[tokio::test]
    async fn an_operation_that_never_answers_times_out_after_the_given_time() {
        let short = Duration::from_millis(20);
        let never = std::future::pending::<std::result::Result<(), DriverError>>();
        let err = timed(short, never).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { backend: BACKEND, after } if after == short),
            "{err:?}"
        );
    }
}
