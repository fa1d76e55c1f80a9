use thiserror::Error;

/// Why a store configuration could not be parsed or connected.
///
/// No variant contains a password: URLs are never echoed back, only the scheme or the name of
/// the offending option.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL could not be parsed at all.
    #[error("malformed session store URL: {reason}")]
    MalformedUrl {
        /// What is wrong, without the URL itself.
        reason: String,
    },
    /// The URL's scheme names no backend this crate knows.
    #[error(
        "unknown session store scheme `{scheme}` (expected memory, redis, rediss, redis+cluster, \
         rediss+cluster, mongodb, mongodb+srv, mysql or mariadb)"
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
    /// A known option with a value that does not parse or is out of range.
    #[error("invalid value for option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with the value.
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
    #[error("SESSION_STORE_URL is not valid Unicode")]
    EnvNotUnicode,
    /// The configuration is valid but building the store failed (unreachable server, bad
    /// credentials, a conflicting index, …).
    #[error("could not open the session store")]
    Store(#[source] session_core::Error),
}

impl ConfigError {
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
