//! What every scheme's parser shares: URL parsing with the parser's error kept, the options every
//! backend takes, and splitting a query into our options and the driver's.

use std::str::FromStr;
use std::time::Duration;

use url::Url;

use crate::redact::Secret;
use crate::{CommonOptions, ConfigError};

/// Per-operation timeout in milliseconds, taken by every network backend.
pub(crate) const TIMEOUT_MS: &str = "timeout_ms";
/// Largest encoded session in bytes, taken by every backend.
pub(crate) const MAX_RECORD_BYTES: &str = "max_record_bytes";
/// The record format (`format=`): see [`StoreFormat`](crate::StoreFormat).
pub(crate) const FORMAT: &str = "format";
/// How far behind a rolling read may leave the stored expiry, in milliseconds
/// (`expiry_resolution_ms=`; `0` is exact): see
/// [`ExpiryResolution`](session_core::ExpiryResolution).
pub(crate) const EXPIRY_RESOLUTION_MS: &str = "expiry_resolution_ms";
/// The options of [`CommonOptions`].
const COMMON: [&str; 4] = [TIMEOUT_MS, MAX_RECORD_BYTES, FORMAT, EXPIRY_RESOLUTION_MS];

/// `s` parsed by the `url` crate, its error kept as the source.
pub(crate) fn parse_url(s: &str) -> Result<Url, ConfigError> {
    Url::parse(s).map_err(|e| ConfigError::unparsable("not a valid URL", e))
}

/// Parses a bare query string (`a=1&b=2`) the same way as a URL's.
pub(crate) fn parse_query(query: &str) -> Result<Url, ConfigError> {
    Url::parse(&format!("placeholder://placeholder/?{query}"))
        .map_err(|e| ConfigError::unparsable("not a valid query string", e))
}

/// Fails unless `url` names a host.
pub(crate) fn require_host(url: &Url) -> Result<(), ConfigError> {
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(ConfigError::malformed(format!(
            "a {} URL needs a host",
            url.scheme()
        ))),
    }
}

/// A `timeout_ms` value as a duration.
pub(crate) fn timeout_from_ms(ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(ConfigError::invalid(TIMEOUT_MS, "must be positive"));
    }
    Ok(Duration::from_millis(ms))
}

/// A URL's query split into our options (the common ones and the scheme's own) and the rest,
/// which belongs to the driver.
pub(crate) struct Query {
    ours: Vec<(String, String)>,
    rest: Vec<(String, String)>,
}

impl Query {
    /// Splits `url`'s query: [`COMMON`] and `own` are ours.
    pub(crate) fn split(url: &Url, own: &[&str]) -> Query {
        let (ours, rest) = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .partition(|(k, _)| COMMON.contains(&k.as_str()) || own.contains(&k.as_str()));
        Query { ours, rest }
    }

    /// Whether option `name` was given.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.ours.iter().any(|(k, _)| k == name)
    }

    /// Removes option `name` and returns its value; given twice is an error.
    pub(crate) fn take(&mut self, name: &str) -> Result<Option<String>, ConfigError> {
        let mut found = None;
        for (_, v) in self.ours.iter().filter(|(k, _)| k == name) {
            if found.replace(v.clone()).is_some() {
                return Err(ConfigError::invalid(name, "given more than once"));
            }
        }
        self.ours.retain(|(k, _)| k != name);
        Ok(found)
    }

    /// [`Query::take`], parsed as a non-negative integer.
    pub(crate) fn take_number<T: FromStr>(&mut self, name: &str) -> Result<Option<T>, ConfigError> {
        self.take(name)?
            .map(|v| {
                v.parse()
                    .map_err(|_| ConfigError::invalid(name, "expected a non-negative integer"))
            })
            .transpose()
    }

    /// [`Query::take_number`], which must not be zero.
    pub(crate) fn take_positive<T: FromStr + Default + PartialEq>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.take_number::<T>(name)? {
            Some(n) if n == T::default() => Err(ConfigError::invalid(name, "must be positive")),
            n => Ok(n),
        }
    }

    /// [`Query::take`], parsed as `true`/`1` or `false`/`0`.
    pub(crate) fn take_bool(&mut self, name: &str) -> Result<Option<bool>, ConfigError> {
        match self.take(name)?.as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(ConfigError::invalid(name, "expected true or false")),
        }
    }

    /// Takes the options of [`CommonOptions`].
    pub(crate) fn common(&mut self) -> Result<CommonOptions, ConfigError> {
        let timeout = self
            .take_number::<u64>(TIMEOUT_MS)?
            .map(timeout_from_ms)
            .transpose()?;
        let max_record_bytes = self.take_positive::<usize>(MAX_RECORD_BYTES)?;
        let format = self
            .take(FORMAT)?
            .map(|f| crate::StoreFormat::parse(&f))
            .transpose()?
            .unwrap_or_default();
        let expiry_resolution = self
            .take_number::<u64>(EXPIRY_RESOLUTION_MS)?
            .map(|ms| match ms {
                0 => session_core::ExpiryResolution::Exact,
                ms => session_core::ExpiryResolution::Fixed(Duration::from_millis(ms)),
            });
        Ok(CommonOptions {
            timeout,
            max_record_bytes,
            format,
            expiry_resolution,
        })
    }

    /// Rejects driver options outside `allowed` (for drivers whose option set we know).
    pub(crate) fn only_driver_options(
        &self,
        backend: &'static str,
        allowed: &[&str],
    ) -> Result<(), ConfigError> {
        match self
            .rest
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(ConfigError::UnknownOption {
                backend,
                option: k.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The driver's options, encoded as a query string; empty when there are none.
    pub(crate) fn driver_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.rest)
            .finish()
    }

    /// `url` with only the driver's options left in its query.
    pub(crate) fn driver_url(&self, mut url: Url) -> Secret {
        if self.rest.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(&self.rest);
        }
        Secret::new(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Query {
        Query::split(&parse_query(q).unwrap(), &["own"])
    }

    #[test]
    fn the_format_is_a_common_option_checked_per_backend() {
        use crate::{StoreConfig, StoreFormat};
        let c = StoreConfig::from_url("redis://h:6379/?format=koa").unwrap();
        assert_eq!(c.options().format, StoreFormat::Koa);
        let c = StoreConfig::from_url("redis://h:6379/").unwrap();
        assert_eq!(c.options().format, StoreFormat::Native);
        assert!(matches!(
            StoreConfig::from_url("mysql://h/db?format=koa"),
            Err(ConfigError::UnsupportedFormat {
                backend: "mysql",
                format: "koa"
            })
        ));
        assert!(matches!(
            StoreConfig::from_url("memory://?format=express"),
            Err(ConfigError::UnsupportedFormat { .. })
        ));
        assert!(StoreConfig::from_url("mongodb://h/db?format=express").is_ok());
        assert!(matches!(
            StoreConfig::from_url("redis://h/?format=php"),
            Err(ConfigError::InvalidOption { .. })
        ));
    }

    #[test]
    fn the_expiry_resolution_is_a_common_option_of_the_stores_that_have_one() {
        use session_core::ExpiryResolution;
        let resolution =
            |url: &str| crate::StoreConfig::from_url(url).map(|c| c.options().expiry_resolution);
        assert_eq!(
            resolution("postgres://h/db?expiry_resolution_ms=0").unwrap(),
            Some(ExpiryResolution::Exact)
        );
        assert_eq!(
            resolution("mysql://h/db?expiry_resolution_ms=5000").unwrap(),
            Some(ExpiryResolution::Fixed(Duration::from_secs(5)))
        );
        assert_eq!(resolution("sqlite://s.db").unwrap(), None);
        assert!(resolution("memory://?expiry_resolution_ms=10").is_ok());
        assert!(resolution("mongodb://h/db?expiry_resolution_ms=10").is_ok());
        assert_eq!(
            resolution("redis://h/?expiry_resolution_ms=0").unwrap(),
            Some(ExpiryResolution::Exact)
        );
        assert!(resolution("redis+cluster://h1,h2/?expiry_resolution_ms=10").is_ok());
        for url in [
            "redis://h/?format=koa&expiry_resolution_ms=10",
            "mongodb://h/db?format=express&expiry_resolution_ms=10",
        ] {
            assert!(
                matches!(
                    resolution(url),
                    Err(ConfigError::UnsupportedOption {
                        option: EXPIRY_RESOLUTION_MS,
                        ..
                    })
                ),
                "{url}"
            );
        }
        assert!(matches!(
            resolution("postgres://h/db?expiry_resolution_ms=-1"),
            Err(ConfigError::InvalidOption { .. })
        ));
    }

    #[test]
    fn common_and_own_options_are_taken_and_the_rest_left_to_the_driver() {
        let mut q = query("own=1&timeout_ms=250&max_record_bytes=9&driver=x%20y");
        assert_eq!(
            q.common().unwrap(),
            CommonOptions {
                timeout: Some(Duration::from_millis(250)),
                max_record_bytes: Some(9),
                format: crate::StoreFormat::Native,
                expiry_resolution: None,
            }
        );
        assert_eq!(q.take("own").unwrap().as_deref(), Some("1"));
        assert_eq!(q.driver_query(), "driver=x+y");
        assert!(matches!(
            q.only_driver_options("b", &[]),
            Err(ConfigError::UnknownOption { backend: "b", option }) if option == "driver"
        ));
    }

    #[test]
    fn an_option_given_twice_is_rejected() {
        assert!(matches!(
            query("own=1&own=2").take("own"),
            Err(ConfigError::InvalidOption { option, .. }) if option == "own"
        ));
    }

    #[test]
    fn zero_or_non_numeric_sizes_and_timeouts_are_rejected() {
        for bad in [
            "timeout_ms=0",
            "timeout_ms=-1",
            "max_record_bytes=0",
            "max_record_bytes=lots",
        ] {
            assert!(
                matches!(query(bad).common(), Err(ConfigError::InvalidOption { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            query("own=maybe").take_bool("own"),
            Err(ConfigError::InvalidOption { .. })
        ));
    }

    #[test]
    fn url_parser_errors_are_kept_as_the_source() {
        let Err(e) = parse_url("redis://h:99999") else {
            panic!("a port above 65535 parsed")
        };
        let source = std::error::Error::source(&e).unwrap();
        assert_eq!(
            source.downcast_ref::<url::ParseError>(),
            Some(&url::ParseError::InvalidPort)
        );
    }
}
