//! [`SessionLayer`]: the options, and the [`Layer`] that wraps a service in a
//! [`SessionService`].

use std::fmt;
use std::sync::Arc;

use session_core::{Duration, IdsAtRest, SessionStore};
use tower_layer::Layer;

use crate::config::{Config, SameSite, validate_attribute, validate_name};
use crate::hooks::Hooks;
use crate::instrument::Instrumented;
use crate::policy;
use crate::shared::Shared;
use crate::{KeyRing, LayerError, SessionMetrics, SessionService};

/// A tower [`Layer`] that gives every request a [`Session`](crate::Session) backed by a
/// [`SessionStore`].
///
/// Build it with [`SessionLayer::new`] (signed cookies) or [`SessionLayer::unsigned`], then
/// adjust options with the `with_*` methods; each states its default, which is koa-session's.
/// Finish with [`validate`](SessionLayer::validate), which checks the rules that tie several
/// options together (the `__Host-` and `__Secure-` name prefixes, `SameSite=None` and
/// `Partitioned` need `Secure`); the `with_*` calls can come in any order. Clones share the store
/// and the [metrics](SessionLayer::metrics).
///
/// ```
/// use std::sync::Arc;
///
/// use session_tower::{KeyRing, LayerError, SameSite, SessionLayer};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(session_memory::MemoryStore::new());
/// let keys = KeyRing::new([b"a secret of at least 32 bytes!!!"])?;
/// let layer = SessionLayer::new(store, keys)
///     .with_key("__Host-sid")?
///     .with_secure(true)
///     .with_same_site(SameSite::Strict)
///     .validate()?;
///
/// // A `__Host-` cookie scoped to a domain would be dropped by every browser.
/// let broken = layer.clone().with_domain("example.com")?.validate();
/// assert!(matches!(broken, Err(LayerError::HostPrefixForbidsDomain)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionLayer {
    pub(crate) shared: Arc<Shared>,
}

impl SessionLayer {
    /// A layer over `store` whose cookies are signed with `keys` (koa-session's `signed: true`,
    /// the default).
    pub fn new(store: Arc<dyn SessionStore>, keys: KeyRing) -> Self {
        Self::build(store, Some(keys))
    }

    /// A layer over `store` whose cookies are not signed (koa-session's `signed: false`).
    ///
    /// The session key is already 256 bits of CSPRNG output, so a client cannot guess another
    /// user's id; what signing adds is that a forged or stale cookie is rejected without a store
    /// lookup, and that the expiry carried in the cookie cannot be altered.
    pub fn unsigned(store: Arc<dyn SessionStore>) -> Self {
        Self::build(store, None)
    }

    fn build(store: Arc<dyn SessionStore>, keys: Option<KeyRing>) -> Self {
        SessionLayer {
            shared: Arc::new(Shared {
                // Every operation gets a span and a latency sample (see `instrument.rs`).
                store: Arc::new(Instrumented::new(store)),
                config: Config::new(keys),
                metrics: Arc::default(),
                hooks: Hooks::default(),
            }),
        }
    }

    /// [`config`](Self::config) for the other modules of the crate (the Node constructors).
    pub(crate) fn with_config(self, f: impl FnOnce(&mut Config)) -> Self {
        self.config(f)
    }

    fn config(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config.clone();
        f(&mut config);
        SessionLayer {
            shared: Arc::new(Shared {
                store: Arc::clone(&self.shared.store),
                config,
                metrics: Arc::clone(&self.shared.metrics),
                hooks: self.shared.hooks.clone(),
            }),
        }
    }

    /// The cookie's name, koa-session's `key`. Default [`DEFAULT_COOKIE_NAME`](crate::DEFAULT_COOKIE_NAME) (`sid`).
    ///
    /// The store's key prefix (Redis `prefix`, MySQL `table`, MongoDB `collection`) is a setting
    /// of the store in this workspace (see `session-config`'s URL options), so two applications
    /// sharing a server separate their sessions there rather than here.
    ///
    /// # Errors
    /// [`LayerError::InvalidCookieName`] unless `name` is a non-empty HTTP token.
    pub fn with_key(self, name: impl Into<String>) -> Result<Self, LayerError> {
        let name = name.into();
        validate_name(&name)?;
        Ok(self.config(|c| c.name = name))
    }

    /// How long a session lives without activity: the store record's TTL and the cookie's
    /// `Max-Age`. Default [`DEFAULT_MAX_AGE`](crate::DEFAULT_MAX_AGE) (one day).
    ///
    /// # Errors
    /// [`LayerError::InvalidMaxAge`] for zero, a negative duration, or more than
    /// [`session_core::MAX_MAX_AGE`].
    pub fn with_max_age(self, max_age: Duration) -> Result<Self, LayerError> {
        session_core::max_age_ms(max_age).map_err(|_| LayerError::InvalidMaxAge)?;
        Ok(self.config(|c| c.max_age = max_age))
    }

    /// Browser-session cookies (koa-session's `maxAge: 'session'`): the cookie gets no
    /// `Max-Age`, so the browser drops it when it closes; the store record still expires after
    /// [`with_max_age`](Self::with_max_age). Default `false`.
    pub fn with_browser_session(self, browser_session: bool) -> Self {
        self.config(|c| c.browser_session = browser_session)
    }

    /// Reset the expiry on every request that carries a session cookie, even when the session
    /// did not change (a touch, or a rolling load), and set the cookie again; a cookie whose
    /// record is gone is cleared instead. Default `false`.
    pub fn with_rolling(self, rolling: bool) -> Self {
        self.config(|c| c.rolling = rolling)
    }

    /// Reset the expiry (touch and set the cookie again) only when less than half of the
    /// lifetime remains: most requests cost no write, and an active user never gets logged out.
    /// A cookie whose record is gone is cleared instead. Default `false`.
    pub fn with_renew(self, renew: bool) -> Self {
        self.config(|c| c.renew = renew)
    }

    /// The cookie's `HttpOnly` attribute: page scripts cannot read the cookie. Default `true`.
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.config(|c| c.http_only = http_only)
    }

    /// The cookie's `Secure` attribute: sent over HTTPS only. Default `false` (so the demo works
    /// on `http://localhost`); turn it on in production. Required by a `__Secure-` or `__Host-`
    /// name, `SameSite=None` and [`with_partitioned`](Self::with_partitioned) (see
    /// [`validate`](Self::validate)).
    pub fn with_secure(self, secure: bool) -> Self {
        self.config(|c| c.secure = secure)
    }

    /// The cookie's `SameSite` attribute. Default [`SameSite::Lax`]. [`SameSite::None`] requires
    /// [`with_secure`](Self::with_secure)`(true)` (see [`validate`](Self::validate)).
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.config(|c| c.same_site = same_site)
    }

    /// The cookie's `Path`. Default [`DEFAULT_PATH`](crate::DEFAULT_PATH) (`/`).
    ///
    /// # Errors
    /// [`LayerError::InvalidCookieAttribute`] for an empty path, `;`, spaces, control or
    /// non-ASCII characters.
    pub fn with_path(self, path: impl Into<String>) -> Result<Self, LayerError> {
        let path = path.into();
        validate_attribute("Path", &path)?;
        Ok(self.config(|c| c.path = path))
    }

    /// The cookie's `Domain`. Default: none (the cookie goes back to the exact host only).
    ///
    /// # Errors
    /// [`LayerError::InvalidCookieAttribute`] as for [`with_path`](Self::with_path).
    pub fn with_domain(self, domain: impl Into<String>) -> Result<Self, LayerError> {
        let domain = domain.into();
        validate_attribute("Domain", &domain)?;
        Ok(self.config(|c| c.domain = Some(domain)))
    }

    /// How session ids are kept in the store. Default [`IdsAtRest::Sha256`]: the store only ever
    /// sees `base64url(SHA-256(id))`, so a leaked dump or backup of the store holds no id that
    /// could be replayed as a cookie. [`IdsAtRest::Plain`] is for records shared with Node apps,
    /// which key them by the plain id, and for records written by releases before ids were
    /// hashed (switching to hashed ids ends those sessions once).
    pub fn with_ids_at_rest(self, ids: IdsAtRest) -> Self {
        self.config(|c| c.ids_at_rest = ids)
    }

    /// The absolute lifetime: a session ends at most this long after it was created, however
    /// active it is (`rolling` and `renew` never extend it), or after the login that restarted
    /// it ([`Session::set_owner`](crate::Session::set_owner),
    /// [`Session::restart_lifetime`](crate::Session::restart_lifetime)); `regenerate` keeps it.
    /// `None` lets a session live as long as it is used. Default
    /// [`DEFAULT_ABSOLUTE_LIFETIME`](crate::DEFAULT_ABSOLUTE_LIFETIME) (seven days).
    ///
    /// The end is stored in the session record (`session_core::Lifetime`), and every store
    /// refuses to return a record past it, so it holds even against a cookie replayed by hand.
    /// A session whose lifetime was stored while a longer setting was in force also ends
    /// when the current setting says it is over.
    ///
    /// # Errors
    /// [`LayerError::InvalidMaxAge`] for zero, a negative duration, or more than
    /// [`session_core::MAX_MAX_AGE`].
    pub fn with_absolute_lifetime(self, lifetime: Option<Duration>) -> Result<Self, LayerError> {
        if let Some(lifetime) = lifetime {
            session_core::max_age_ms(lifetime).map_err(|_| LayerError::InvalidMaxAge)?;
        }
        Ok(self.config(|c| c.absolute_lifetime = lifetime))
    }

    /// The cookie's `Partitioned` attribute (CHIPS): a browser that partitions third-party
    /// cookies keeps a separate cookie jar per top-level site, so when this application is
    /// embedded cross-site (an iframe) it still gets a session, but one that cannot follow the
    /// user from one embedding site to another. Requires
    /// [`with_secure`](Self::with_secure)`(true)` (see [`validate`](Self::validate)); usually
    /// combined with [`SameSite::None`], since a `Lax` or `Strict` cookie is not sent to an
    /// embedded cross-site frame anyway. Default `false`.
    pub fn with_partitioned(self, partitioned: bool) -> Self {
        self.config(|c| c.partitioned = partitioned)
    }

    /// Checks the rules that tie the cookie options together and returns the layer unchanged
    /// when it follows them. Browsers silently drop a cookie that breaks one, so a layer that
    /// did would hand out sessions that never come back:
    ///
    /// - a name starting with `__Secure-` needs [`with_secure`](Self::with_secure)`(true)`;
    /// - a name starting with `__Host-` needs `Secure`, the [`Path`](Self::with_path) `/` and no
    ///   [`Domain`](Self::with_domain);
    /// - [`SameSite::None`] needs `Secure`;
    /// - [`with_partitioned`](Self::with_partitioned) needs `Secure`.
    ///
    /// Prefixes are matched ignoring ASCII case, as browsers do. Applying the layer
    /// ([`Layer::layer`]) runs the same checks and panics when one fails (as tower-http's
    /// `CorsLayer` does for an unusable configuration), so call this where the configuration is
    /// assembled to get the error as a value instead.
    ///
    /// # Errors
    /// [`LayerError::PrefixRequiresSecure`], [`LayerError::HostPrefixRequiresRootPath`],
    /// [`LayerError::HostPrefixForbidsDomain`], [`LayerError::SameSiteNoneRequiresSecure`] or
    /// [`LayerError::PartitionedRequiresSecure`]: the first rule broken, in that order.
    pub fn validate(self) -> Result<Self, LayerError> {
        policy::check(&self.shared.config)?;
        Ok(self)
    }

    /// Counters shared by this layer, its clones and every service they built.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.shared.metrics
    }
}

impl fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    /// # Panics
    /// When the cookie options break a rule [`SessionLayer::validate`] checks: a browser would
    /// drop every cookie this service sets.
    fn layer(&self, inner: S) -> Self::Service {
        if let Err(e) = policy::check(&self.shared.config) {
            panic!("invalid session layer: {e}");
        }
        SessionService::new(inner, Arc::clone(&self.shared))
    }
}
