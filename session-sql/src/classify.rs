//! How every SQL backend reads sqlx's errors, written once.

/// Defines `$name`, the [`Classify`](crate::Classify) of a sqlx backend, and the tests of its
/// mapping.
///
/// Expanded in the backend crate, against its own `sqlx`. The variants of `sqlx::Error` mean
/// the same on every database; only the server's codes differ, which the backend reads with
/// `transient` and `retryable` (both `fn(&sqlx::Error) -> bool`):
///
/// | error | mapped to |
/// |---|---|
/// | a pool that timed out or closed, I/O, TLS, a crashed connection worker | [`Error::Unavailable`](session_core::Error::Unavailable) |
/// | malformed connection options | [`Error::Config`](session_core::Error::Config), with the message `options` |
/// | a database error `transient` accepts (a connection going away, a conflict that outlasted its retries) | [`Error::Unavailable`](session_core::Error::Unavailable) |
/// | anything else | [`Error::Backend`](session_core::Error::Backend) |
///
/// Every mapped error keeps the sqlx error as its source. `retryable` is
/// [`Classify::is_retryable`](crate::Classify::is_retryable).
#[macro_export]
macro_rules! sqlx_classify {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            backend: $backend:expr,
            options: $options:expr,
            transient: $transient:expr,
            retryable: $retryable:expr $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name;

        impl $crate::Classify<::sqlx::Error> for $name {
            const BACKEND: &'static str = $backend;

            fn map(err: ::sqlx::Error) -> ::session_core::Error {
                let transient: fn(&::sqlx::Error) -> bool = $transient;
                match err {
                    ::sqlx::Error::PoolTimedOut
                    | ::sqlx::Error::PoolClosed
                    | ::sqlx::Error::Io(_)
                    | ::sqlx::Error::Tls(_)
                    | ::sqlx::Error::WorkerCrashed => ::session_core::Error::unavailable($backend, err),
                    ::sqlx::Error::Configuration(_) => {
                        ::session_core::Error::config_with_source($backend, $options, err)
                    }
                    ::sqlx::Error::Database(_) if transient(&err) => {
                        ::session_core::Error::unavailable($backend, err)
                    }
                    other => ::session_core::Error::backend($backend, other),
                }
            }

            fn is_retryable(err: &::sqlx::Error) -> bool {
                let retryable: fn(&::sqlx::Error) -> bool = $retryable;
                retryable(err)
            }
        }

        #[cfg(test)]
        mod sqlx_classify_tests {
            use ::session_core::Error;
            use $crate::Classify;

            use super::$name;

            fn map(err: ::sqlx::Error) -> Error {
                <$name as Classify<::sqlx::Error>>::map(err)
            }

            #[test]
            fn lost_connections_are_transient_and_keep_their_source() {
                let io = ::std::io::Error::from(::std::io::ErrorKind::ConnectionReset);
                let err = map(::sqlx::Error::Io(io));
                assert!(matches!(err, Error::Unavailable { .. }));
                let source = ::std::error::Error::source(&err).map(|s| s.is::<::sqlx::Error>());
                assert_eq!(source, Some(true));
                assert!(map(::sqlx::Error::PoolTimedOut).is_transient());
                assert!(map(::sqlx::Error::PoolClosed).is_transient());
                assert!(map(::sqlx::Error::WorkerCrashed).is_transient());
            }

            #[test]
            fn other_errors_are_permanent() {
                assert!(matches!(
                    map(::sqlx::Error::Protocol("bad packet".into())),
                    Error::Backend { .. }
                ));
                assert!(matches!(
                    map(::sqlx::Error::Configuration("bad".into())),
                    Error::Config { .. }
                ));
                assert!(!<$name as Classify<::sqlx::Error>>::is_retryable(
                    &::sqlx::Error::RowNotFound
                ));
            }
        }
    };
}
