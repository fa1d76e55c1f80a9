//! One module per URL scheme, as sqlx splits a driver's options: each names its scheme, options
//! and defaults, parses its URLs into a [`Backend`](crate::Backend) (always compiled, so a
//! configuration can be checked by a build without the backend), and opens the store when its
//! feature is on. [`query`] holds what they share.

pub(crate) mod memory;
pub(crate) mod mongo;
pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod query;
pub(crate) mod redis;
pub(crate) mod sql;
pub(crate) mod sqlite;

use crate::{ConfigError, StoreConfig};

/// Every scheme [`parse`] knows, for error messages.
pub(crate) const KNOWN: [&str; 14] = [
    memory::SCHEME,
    redis::SCHEME,
    redis::TLS_SCHEME,
    redis::CLUSTER_SCHEME,
    redis::TLS_CLUSTER_SCHEME,
    redis::SENTINEL_SCHEME,
    redis::TLS_SENTINEL_SCHEME,
    mongo::SCHEME,
    mongo::SRV_SCHEME,
    mysql::SCHEME,
    mysql::MARIADB_SCHEME,
    postgres::SCHEME,
    postgres::LONG_SCHEME,
    sqlite::SCHEME,
];

/// Parses a store URL by handing it to its scheme's module.
pub(crate) fn parse(s: &str) -> Result<StoreConfig, ConfigError> {
    let s = s.trim();
    let scheme = s
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .ok_or_else(|| ConfigError::malformed("expected `scheme://…`"))?;
    match scheme.as_str() {
        memory::SCHEME => memory::parse(s),
        redis::SCHEME | redis::TLS_SCHEME => redis::parse(s),
        redis::CLUSTER_SCHEME | redis::TLS_CLUSTER_SCHEME => redis::parse_cluster(s, &scheme),
        redis::SENTINEL_SCHEME | redis::TLS_SENTINEL_SCHEME => redis::parse_sentinel(s, &scheme),
        mongo::SCHEME | mongo::SRV_SCHEME => mongo::parse(s, &scheme),
        mysql::SCHEME | mysql::MARIADB_SCHEME => mysql::parse(s, &scheme),
        postgres::SCHEME | postgres::LONG_SCHEME => postgres::parse(s),
        sqlite::SCHEME => sqlite::parse(s),
        _ => Err(ConfigError::UnknownScheme { scheme }),
    }
}

/// Assertions the scheme modules' tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::{ConfigError, StoreConfig};

    /// Asserts that every URL in `urls` is refused with an error `expected` accepts.
    pub(crate) fn assert_each_refused(urls: &[&str], expected: fn(&ConfigError) -> bool) {
        for url in urls {
            match StoreConfig::from_url(url) {
                Err(e) if expected(&e) => {}
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    /// `true` for [`ConfigError::MalformedUrl`].
    pub(crate) fn malformed(e: &ConfigError) -> bool {
        matches!(e, ConfigError::MalformedUrl { .. })
    }

    /// `true` for [`ConfigError::InvalidOption`].
    pub(crate) fn invalid_option(e: &ConfigError) -> bool {
        matches!(e, ConfigError::InvalidOption { .. })
    }

    /// Asserts that connecting to each of `urls` fails with
    /// [`ConfigError::FeatureDisabled`] naming `feature`.
    #[allow(
        dead_code,
        reason = "used only by builds without some backend's feature"
    )]
    pub(crate) async fn assert_needs_feature(urls: &[&str], feature: &str) {
        for url in urls {
            let config = StoreConfig::from_url(url).unwrap();
            match crate::connect(&config).await {
                Err(ConfigError::FeatureDisabled { feature: named, .. }) if named == feature => {}
                other => panic!("{url}: expected FeatureDisabled({feature}), got {other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_scheme_is_named_in_the_error_with_the_known_ones() {
        let e = parse("memcached://h").unwrap_err();
        assert!(matches!(&e, ConfigError::UnknownScheme { scheme } if scheme == "memcached"));
        assert!(e.to_string().contains("redis+cluster"), "{e}");
    }

    #[test]
    fn text_without_a_scheme_is_malformed() {
        assert!(matches!(
            parse("not a url"),
            Err(ConfigError::MalformedUrl { .. })
        ));
    }

    #[test]
    fn schemes_are_case_insensitive_and_surrounding_space_is_ignored() {
        assert_eq!(parse(" REDIS://h ").unwrap().backend().name(), "redis");
        assert_eq!(parse("MongoDB://h").unwrap().backend().name(), "mongo");
    }
}
