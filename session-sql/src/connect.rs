//! What a server backend's `connect(url)` does, written once.

use std::time::Duration;

/// How long a pool built by a backend's `connect(url)` waits for a connection (server down, or
/// all connections busy) before reporting [`Error::Unavailable`](session_core::Error::Unavailable):
/// 3 seconds. Below the stores' default per-operation timeout (5 s; each store asserts it at
/// compile time), so that a dead server reads as "unavailable", not as a slow statement.
pub const CONNECT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A future of the pool a server backend's `connect(url)` builds for the sqlx database `$db`,
/// whose errors `$classify` reads: the URL parsed (a malformed one is
/// [`Error::Config`](session_core::Error::Config) with the message `$malformed`; sqlx's parse
/// errors describe the fault, never the URL), one direct connection opened and closed within
/// `$timeout`, then a lazy pool with sqlx's defaults and an acquire timeout of
/// [`CONNECT_ACQUIRE_TIMEOUT`](crate::CONNECT_ACQUIRE_TIMEOUT).
///
/// The direct connection, not the pool, because the pool would retry a refused connection with
/// backoff until its acquire timeout, and the caller wants to know now.
#[macro_export]
macro_rules! connect_pool {
    ($classify:ty, $db:ty, $url:expr, $malformed:expr, $timeout:expr) => {
        async {
            use ::sqlx::Connection as _;
            type Connection = <$db as ::sqlx::Database>::Connection;
            let url: &str = $url;
            let options: <Connection as ::sqlx::Connection>::Options =
                url.parse().map_err(|e| {
                    ::session_core::Error::config_with_source(
                        <$classify as $crate::Classify<::sqlx::Error>>::BACKEND,
                        $malformed,
                        e,
                    )
                })?;
            $crate::timed::<$classify, _, _>($timeout, async {
                Connection::connect_with(&options).await?.close().await
            })
            .await?;
            Ok::<_, ::session_core::Error>(
                ::sqlx::pool::PoolOptions::<$db>::new()
                    .acquire_timeout($crate::CONNECT_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        }
    };
}
