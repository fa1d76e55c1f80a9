//! The one error type every store returns.

use std::error::Error as StdError;
use std::time::Duration as StdDuration;

/// A boxed error from a driver, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a session store.
///
/// No variant ever contains a session key: keys are credentials. Driver errors are kept as the
/// [`source`](std::error::Error::source) of the variant, never flattened into a string, so callers
/// can downcast to the driver's own error type.
///
/// Use [`Error::is_transient`] to decide whether to retry or answer `503 Service Unavailable`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string was offered as a session key but breaks the key rules (length or characters).
    /// See [`SessionKey`](crate::SessionKey).
    #[error("invalid session key: {reason}")]
    InvalidKey {
        /// Which rule the key broke. Never contains the key itself.
        reason: &'static str,
    },

    /// A `max_age` that is zero, negative or absurdly large
    /// (above [`MAX_MAX_AGE`](crate::MAX_MAX_AGE)).
    #[error("invalid max_age: {reason}")]
    InvalidMaxAge {
        /// Which rule the duration broke.
        reason: &'static str,
    },

    /// The encoded record is larger than the store's configured maximum. Nothing was written; the
    /// previous record, if any, is untouched.
    #[error("session record of {size} bytes exceeds the store's limit of {limit} bytes")]
    TooLarge {
        /// Size of the encoded record in bytes.
        size: usize,
        /// The store's configured maximum record size in bytes.
        limit: usize,
    },

    /// The session data nests arrays or objects deeper than the limit every store shares
    /// ([`MAX_NESTING_DEPTH`](crate::MAX_NESTING_DEPTH)). Nothing was written; the previous
    /// record, if any, is untouched. Refused at write time so that every record a store accepts
    /// can be read back by every store.
    #[error("session data nests deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting a store accepts.
        limit: usize,
    },

    /// [`SessionData::get`](crate::SessionData::get) found a value under `name` that is not of
    /// the requested type. The session itself is fine; the application asked for the wrong type.
    #[error("session value {name:?} is not of the requested type")]
    TypeMismatch {
        /// The name of the value (a name chosen by the application, never session data).
        name: String,
        /// Why the value did not deserialize.
        #[source]
        source: serde_json::Error,
    },

    /// A session owner, its metadata or a session handle breaks the rules of
    /// [`Owner`](crate::Owner) / [`OwnerInfo`](crate::OwnerInfo) /
    /// [`SessionHandle`](crate::SessionHandle): empty, too long, control characters, too much
    /// metadata, or a malformed `$owner` field in the data. Nothing was written.
    #[error("invalid session owner: {reason}")]
    InvalidOwner {
        /// Which rule was broken. Never contains the owner, the metadata or a session id.
        reason: &'static str,
    },

    /// A conditional save kept losing to concurrent writes of the same session: `attempts` times
    /// in a row another request wrote the record between this one's read and its write. Nothing
    /// of this save was written. Transient: the same save later will most likely succeed.
    #[error("session write lost to concurrent writes {attempts} times in a row")]
    WriteConflict {
        /// How many conditional writes were tried.
        attempts: u32,
    },

    /// Stored bytes could not be decoded into a session: corrupted, truncated, written by another
    /// program, or written by a newer format version. Middleware treats this as "no session".
    #[error("stored session record could not be decoded")]
    Decode(#[source] DecodeError),

    /// Session data could not be serialized (for example a map key that is not a string when
    /// converting a typed value with [`SessionData::insert`](crate::SessionData::insert)).
    #[error("session data could not be serialized")]
    Encode(#[source] serde_json::Error),

    /// The operation did not finish within the store's configured timeout. Transient.
    #[error("{backend} operation timed out after {after:?}")]
    Timeout {
        /// Name of the backend, such as `"redis"`.
        backend: &'static str,
        /// The timeout that elapsed.
        after: StdDuration,
    },

    /// The server could not be reached or the connection dropped (refused, reset, closed, I/O
    /// error, no healthy node). Transient: the same store object recovers once the server is back.
    #[error("{backend} server unavailable")]
    Unavailable {
        /// Name of the backend, such as `"redis"`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The server answered with an error that retrying will not fix (permissions, wrong type,
    /// malformed command, schema mismatch).
    #[error("{backend} error")]
    Backend {
        /// Name of the backend, such as `"mysql"`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The store does not offer this operation (an operator's scan or purge on a backend that
    /// has no way to do it in bounded memory, or that expires records itself). Not transient.
    #[error("{backend} does not support {operation}")]
    Unsupported {
        /// Name of the backend, such as `"memory"`.
        backend: &'static str,
        /// The operation, such as `"scan"`.
        operation: &'static str,
    },

    /// The store is misconfigured: a bad URL, an invalid table or collection name, a conflicting
    /// index. Retrying will not help; fix the configuration.
    #[error("{backend} configuration error: {message}")]
    Config {
        /// Name of the backend, such as `"mongo"`.
        backend: &'static str,
        /// What is wrong, without secrets.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// `true` when retrying the same operation later may succeed: a timeout, an unreachable
    /// server, a save that lost to concurrent writes. `false` for bad input, bad stored bytes and
    /// bad configuration.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. } | Error::Unavailable { .. } | Error::WriteConflict { .. }
        )
    }

    /// `true` for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// `true` for [`Error::Decode`]: the stored record is unreadable, so the session should be
    /// treated as absent.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode(_))
    }

    /// Shorthand for [`Error::Unavailable`].
    pub fn unavailable(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            backend,
            source: source.into(),
        }
    }

    /// Shorthand for [`Error::Backend`].
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend,
            source: source.into(),
        }
    }

    /// Shorthand for [`Error::Config`] without an underlying error.
    pub fn config(backend: &'static str, message: impl Into<String>) -> Self {
        Error::Config {
            backend,
            message: message.into(),
            source: None,
        }
    }

    /// Shorthand for [`Error::Config`] caused by `source` (a URL or option parse error). The
    /// source must not contain a password; driver parse errors describe the fault, not the URL.
    pub fn config_with_source(
        backend: &'static str,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Config {
            backend,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// `true` for [`Error::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }

    /// Shorthand for [`Error::Timeout`].
    pub fn timeout(backend: &'static str, after: StdDuration) -> Self {
        Error::Timeout { backend, after }
    }
}

/// `e` and all its sources on one line (`outer: inner: root cause`), for logs and messages.
/// Store errors never contain a session key or a password, so the line is safe to log.
pub fn error_chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Why a stored record could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes do not start with this crate's record header: not a session record at all.
    #[error("not a session record (missing header)")]
    NotARecord,
    /// The record was written by a format version this build does not know (a newer release).
    #[error("unsupported record format version {0}")]
    UnsupportedVersion(u32),
    /// The header's expiry field is missing or not a number.
    #[error("malformed expiry in record header")]
    BadExpiry,
    /// The header's record version (format `ss2` and later) is not 16 lowercase hex digits, or
    /// is the all-zero value reserved for [`Version::LEGACY`](crate::Version::LEGACY).
    #[error("malformed record version in record header")]
    BadVersion,
    /// The payload is not valid JSON.
    #[error("payload is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// The payload is JSON but not an object.
    #[error("payload is not a JSON object")]
    NotAnObject,
    /// The owner segment of a format-3 header is not 32 lowercase hex digits.
    #[error("malformed owner index in record header")]
    BadOwnerIndex,
    /// A backend-specific field (for example a document field of the wrong BSON type) is wrong.
    #[error("{0}")]
    Field(&'static str),
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_and_unavailable_are_transient() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(Error::unavailable("redis", io).is_transient());
        assert!(
            Error::Timeout {
                backend: "redis",
                after: StdDuration::from_secs(1)
            }
            .is_transient()
        );
        assert!(!Error::TooLarge { size: 2, limit: 1 }.is_transient());
        assert!(!Error::Decode(DecodeError::NotARecord).is_transient());
        assert!(!Error::config("mysql", "bad table").is_transient());
    }

    #[test]
    fn error_chain_joins_every_source() {
        let err = Error::unavailable("redis", std::io::Error::other("connection reset"));
        assert_eq!(
            error_chain(&err),
            "redis server unavailable: connection reset"
        );
    }

    #[test]
    fn driver_error_is_kept_as_source() {
        let io = std::io::Error::other("boom");
        let err = Error::backend("mysql", io);
        let source = std::error::Error::source(&err).expect("source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
    }
}
