//! Cookie and expiry options, with koa-session's names and defaults.

use session_core::Duration;

use crate::{KeyRing, LayerError};

/// Default cookie name: `sid`. (koa-session uses `koa.sess`; a short name that does not
/// announce the framework is the more common choice.)
pub const DEFAULT_COOKIE_NAME: &str = "sid";

/// Default session lifetime: one day, koa-session's `maxAge` default. Browser-session cookies
/// still give the store this TTL.
pub const DEFAULT_MAX_AGE: Duration = Duration::days(1);

/// Default cookie `Path`: `/`.
pub const DEFAULT_PATH: &str = "/";

/// The cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Sent on same-site requests and top-level cross-site navigations with safe methods (the
    /// default, as in koa-session and every current browser).
    #[default]
    Lax,
    /// Sent on every request. Browsers require `Secure` with it.
    None,
}

impl SameSite {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Everything a layer needs besides the store.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    /// Store TTL and, unless `browser_session`, the cookie's Max-Age.
    pub(crate) max_age: Duration,
    pub(crate) browser_session: bool,
    pub(crate) rolling: bool,
    pub(crate) renew: bool,
    pub(crate) http_only: bool,
    pub(crate) secure: bool,
    pub(crate) same_site: SameSite,
    /// `None` = unsigned cookies.
    pub(crate) keys: Option<KeyRing>,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
}

impl Config {
    pub(crate) fn new(keys: Option<KeyRing>) -> Self {
        Config {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            max_age: DEFAULT_MAX_AGE,
            browser_session: false,
            rolling: false,
            renew: false,
            http_only: true,
            secure: false,
            same_site: SameSite::Lax,
            keys,
            path: DEFAULT_PATH.to_owned(),
            domain: None,
        }
    }

    /// The lifetime in milliseconds (at least 1).
    pub(crate) fn max_age_ms(&self) -> i64 {
        i64::try_from(self.max_age.whole_milliseconds())
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// Cookie names are RFC 9110 tokens.
pub(crate) fn validate_name(name: &str) -> Result<(), LayerError> {
    if name.is_empty() {
        return Err(LayerError::InvalidCookieName { reason: "empty" });
    }
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.bytes().all(token) {
        return Err(LayerError::InvalidCookieName {
            reason: "contains a character that is not allowed in an HTTP token",
        });
    }
    Ok(())
}

/// `Path` and `Domain` values end up verbatim in `Set-Cookie`.
pub(crate) fn validate_attribute(attribute: &'static str, value: &str) -> Result<(), LayerError> {
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b';')
    {
        return Err(LayerError::InvalidCookieAttribute { attribute });
    }
    Ok(())
}
