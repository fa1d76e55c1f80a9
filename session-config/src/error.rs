//! [`ConfigError`]: why a store URL could not be parsed or connected.

use thiserror::Error;

use crate::scheme;

/// Why a store configuration could not be parsed or connected.
///
/// No variant holds a URL or an option's value, only the scheme or the name of the offending
/// option, so no variant can carry a password. (The [`Store`](ConfigError::Store) variant's
/// source is the backend's error, which the backend crates keep free of credentials.)
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL could not be parsed.
    #[error("malformed session store URL: {reason}")]
    MalformedUrl {
        /// What is wrong, without the URL itself.
        reason: String,
        /// The URL parser's error, when it was the parser that refused (it names the rule that
        /// was broken, never the input).
        #[source]
        source: Option<url::ParseError>,
    },
    /// The URL's scheme names no backend this crate knows.
    #[error(
        "unknown session store scheme `{scheme}` (expected {})",
        scheme::KNOWN.join(", ")
    )]
    UnknownScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A query option the backend does not understand (most often a typo).
    #[error("unknown option `{option}` for a {backend} session store")]
    UnknownOption {
        /// The backend the URL selected.
        backend: &'static str,
        /// The option's name.
        option: String,
    },
    /// `format=` names a record format the backend cannot read and write (for example
    /// `format=koa` on MySQL: koa-session's MySQL stores are not supported).
    #[error("a {backend} session store cannot use the `{format}` record format")]
    UnsupportedFormat {
        /// The backend's name.
        backend: &'static str,
        /// The format asked for.
        format: &'static str,
    },
    /// An option every backend knows, but which the selected backend would ignore: `timeout_ms`
    /// on `memory://`, which does no I/O that could time out. Rejected so that a setting never
    /// silently does nothing.
    #[error("option `{option}` has no effect on a {backend} session store")]
    UnsupportedOption {
        /// The backend the URL selected.
        backend: &'static str,
        /// The option's name.
        option: &'static str,
    },
    /// A known option with a value that does not parse or is out of range.
    #[error("invalid value for option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with the value (never the value itself).
        reason: String,
    },
    /// The scheme is valid but its backend was not compiled in.
    #[error(
        "the `{scheme}` session store needs the `{feature}` feature of session-config \
         (add `features = [\"{feature}\"]` to the dependency)"
    )]
    FeatureDisabled {
        /// The scheme as written.
        scheme: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// `SESSION_STORE_URL` is set but not valid Unicode.
    #[error("{} is not valid Unicode", crate::STORE_URL_ENV)]
    EnvNotUnicode,
    /// The configuration is valid but building the store failed (unreachable server, bad
    /// credentials, a conflicting index, …).
    #[error("could not open the session store")]
    Store(#[source] session_core::Error),
}

impl ConfigError {
    /// [`ConfigError::MalformedUrl`] found by our own checks.
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        ConfigError::MalformedUrl {
            reason: reason.into(),
            source: None,
        }
    }

    /// [`ConfigError::MalformedUrl`] from the URL parser, kept as the source.
    pub(crate) fn unparsable(reason: impl Into<String>, source: url::ParseError) -> Self {
        ConfigError::MalformedUrl {
            reason: reason.into(),
            source: Some(source),
        }
    }

    pub(crate) fn invalid(option: &str, reason: impl Into<String>) -> Self {
        ConfigError::InvalidOption {
            option: option.to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<session_core::Error> for ConfigError {
    fn from(e: session_core::Error) -> Self {
        ConfigError::Store(e)
    }
}
