//! `memory://[?max_bytes=N]`: an in-process moka store.

use crate::scheme::query::{Query, TIMEOUT_MS, parse_url};
use crate::{Backend, CommonOptions, ConfigError, StoreConfig};

/// The scheme.
pub(crate) const SCHEME: &str = "memory";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "memory";
/// Capacity in bytes (`max_bytes=`).
pub(crate) const MAX_BYTES: &str = "max_bytes";

/// Parses a `memory://` URL.
pub(crate) fn parse(s: &str) -> Result<StoreConfig, ConfigError> {
    let url = parse_url(s)?;
    let mut q = Query::split(&url, &[MAX_BYTES]);
    q.only_driver_options(BACKEND, &[])?;
    if q.has(TIMEOUT_MS) {
        return Err(unsupported_timeout());
    }
    let options = q.common()?;
    let max_bytes = q.take_positive::<u64>(MAX_BYTES)?;
    if url.host_str().is_some_and(|h| !h.is_empty()) || !matches!(url.path(), "" | "/") {
        return Err(ConfigError::malformed(
            "a memory store takes no host or path: write `memory://`",
        ));
    }
    Ok(StoreConfig::new(Backend::Memory { max_bytes }, options))
}

/// Rejects the common options a memory store would ignore: it does no I/O, so there is nothing
/// for `timeout_ms` to bound. (Checked again here because [`StoreConfig::with_timeout`] and the
/// table form set options after the URL was parsed.)
pub(crate) fn check(options: &CommonOptions) -> Result<(), ConfigError> {
    match options.timeout {
        Some(_) => Err(unsupported_timeout()),
        None => Ok(()),
    }
}

fn unsupported_timeout() -> ConfigError {
    ConfigError::UnsupportedOption {
        backend: BACKEND,
        option: TIMEOUT_MS,
    }
}

/// Opens the store.
#[cfg(feature = "memory")]
pub(crate) fn connect(
    max_bytes: Option<u64>,
    options: &CommonOptions,
) -> Result<std::sync::Arc<dyn session_core::SessionStore>, ConfigError> {
    check(options)?;
    let mut builder = session_memory::MemoryStore::builder();
    if let Some(max) = max_bytes {
        builder = builder.max_bytes(max);
    }
    if let Some(max) = options.max_record_bytes {
        builder = builder.max_record_bytes(max);
    }
    if let Some(r) = options.expiry_resolution {
        builder = builder.expiry_resolution(r);
    }
    Ok(std::sync::Arc::new(builder.build()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_and_record_limit_come_from_the_query() {
        let c = StoreConfig::from_url("memory://?max_bytes=1048576&max_record_bytes=4096").unwrap();
        assert_eq!(
            c.backend(),
            &Backend::Memory {
                max_bytes: Some(1 << 20)
            }
        );
        assert_eq!(c.options().max_record_bytes, Some(4096));
        assert_eq!(c.options().timeout, None);
        assert_eq!(
            StoreConfig::from_url("memory://").unwrap(),
            StoreConfig::default()
        );
    }

    #[test]
    fn a_timeout_is_rejected_because_a_memory_store_does_no_io() {
        for url in ["memory://?timeout_ms=250", "memory://?timeout_ms=0"] {
            assert!(
                matches!(
                    StoreConfig::from_url(url),
                    Err(ConfigError::UnsupportedOption {
                        backend: "memory",
                        option: "timeout_ms"
                    })
                ),
                "{url}"
            );
        }
        let table = serde_json::from_str::<StoreConfig>(r#"{"url": "memory://", "timeout_ms": 5}"#);
        assert!(table.is_err_and(|e| e.to_string().contains("timeout_ms")));
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn connect_rejects_a_timeout_set_after_parsing() {
        let config = StoreConfig::default().with_timeout(std::time::Duration::from_millis(5));
        assert!(matches!(
            crate::connect(&config).await,
            Err(ConfigError::UnsupportedOption { .. })
        ));
    }

    #[test]
    fn a_host_path_unknown_option_or_bad_capacity_is_rejected() {
        for (url, what) in [
            ("memory://somehost", "malformed"),
            ("memory:///path", "malformed"),
            ("memory://?max_bytes=lots", "invalid"),
            ("memory://?max_bytes=0", "invalid"),
            ("memory://?prefix=a", "unknown"),
        ] {
            let e = StoreConfig::from_url(url).unwrap_err();
            let ok = match what {
                "malformed" => matches!(e, ConfigError::MalformedUrl { .. }),
                "invalid" => matches!(e, ConfigError::InvalidOption { .. }),
                _ => matches!(e, ConfigError::UnknownOption { .. }),
            };
            assert!(ok, "{url}: {e:?}");
        }
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn the_record_limit_reaches_the_store() {
        use session_core::{Duration as Ttl, SessionData, SessionKey};
        let store = crate::connect(&"memory://?max_record_bytes=64".parse().unwrap())
            .await
            .unwrap();
        let mut data = SessionData::new();
        data.insert("x", "y".repeat(100)).unwrap();
        assert!(matches!(
            store
                .set(&SessionKey::generate(), &data, Ttl::minutes(1), true)
                .await,
            Err(session_core::Error::TooLarge { limit: 64, .. })
        ));
    }
}
