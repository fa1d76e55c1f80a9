//! Cookie and expiry options, with koa-session's names and defaults.

use std::borrow::Cow;

use session_core::{Duration, IdsAtRest, Lifetime, SessionData, SessionKey};

use crate::{KeyRing, LayerError};

/// Default cookie name: `sid`. (koa-session uses `koa.sess`; a short name that does not
/// announce the framework is the more common choice.)
pub const DEFAULT_COOKIE_NAME: &str = "sid";

/// Default session lifetime: one day, koa-session's `maxAge` default. Browser-session cookies
/// still give the store this TTL.
pub const DEFAULT_MAX_AGE: Duration = Duration::days(1);

/// Default absolute lifetime: seven days. However active, a session ends seven days after it
/// was created (or after the login that restarted its lifetime), so an id stolen once is not
/// good forever. koa-session has no such limit; OWASP asks for one.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::days(7);

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
    /// What the store gets as the key: the id's digest by default.
    pub(crate) ids_at_rest: IdsAtRest,
    /// `None`: sessions live as long as they are used.
    pub(crate) absolute_lifetime: Option<Duration>,
    /// The `Partitioned` attribute (CHIPS).
    pub(crate) partitioned: bool,
    /// A Node app's cookie instead of the native one (issue 16, `node.rs`).
    pub(crate) node: Option<crate::node::NodeCookie>,
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
            ids_at_rest: IdsAtRest::default(),
            absolute_lifetime: Some(DEFAULT_ABSOLUTE_LIFETIME),
            partitioned: false,
            node: None,
        }
    }

    /// The key the store keeps the session with id `key` under.
    pub(crate) fn at_rest<'k>(&self, key: &'k SessionKey) -> Cow<'k, SessionKey> {
        self.ids_at_rest.key_at_rest(key)
    }

    /// Whether the stored session `data` has reached the end of its absolute lifetime at `now`:
    /// the end it stores, or its start plus the lifetime configured now (which may have been
    /// shortened since). A malformed lifetime counts as ended.
    pub(crate) fn lifetime_ended(&self, data: &SessionData, now: i64) -> bool {
        match Lifetime::from_data(data) {
            None => false,
            Some(Err(())) => true,
            Some(Ok(lifetime)) => {
                lifetime.is_over_at(now)
                    || self.absolute_lifetime.is_some_and(|length| {
                        let ms = i64::try_from(length.whole_milliseconds()).unwrap_or(i64::MAX);
                        lifetime.created.saturating_add(ms) <= now
                    })
            }
        }
    }

    /// A lifetime starting at `now`, when one is configured.
    pub(crate) fn new_lifetime(&self, now: i64) -> Option<Lifetime> {
        // The length was checked when it was configured.
        self.absolute_lifetime
            .and_then(|length| Lifetime::starting(now, length).ok())
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
