//! [`SessionLayer`] and [`SessionService`]: load on demand, commit after the handler.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};
use session_core::{Duration, SessionData, SessionStore, now_ms};
use tower_layer::Layer;
use tower_service::Service;

use crate::config::{Config, SameSite, validate_attribute, validate_name};
use crate::cookie::{self, Incoming};
use crate::error::status_for;
use crate::session::State;
use crate::{KeyRing, LayerError, Session, SessionMetrics};

/// What every service built by one layer shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) config: Config,
    pub(crate) metrics: Arc<SessionMetrics>,
}

/// A tower [`Layer`] that gives every request a [`Session`] backed by a [`SessionStore`].
///
/// Build it with [`SessionLayer::new`] (signed cookies) or [`SessionLayer::unsigned`], then
/// adjust options with the `with_*` methods; each states its default, which is koa-session's.
/// Clones share the store and the [metrics](SessionLayer::metrics).
#[derive(Clone)]
pub struct SessionLayer {
    shared: Arc<Shared>,
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
                store,
                config: Config::new(keys),
                metrics: Arc::default(),
            }),
        }
    }

    fn config(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config.clone();
        f(&mut config);
        SessionLayer {
            shared: Arc::new(Shared {
                store: Arc::clone(&self.shared.store),
                config,
                metrics: Arc::clone(&self.shared.metrics),
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
    /// did not change (a touch with `changed = false`, or a rolling load), and set the cookie
    /// again. Default `false`.
    pub fn with_rolling(self, rolling: bool) -> Self {
        self.config(|c| c.rolling = rolling)
    }

    /// Reset the expiry (touch and set the cookie again) only when less than half of the
    /// lifetime remains: most requests cost no write, and an active user never gets logged out.
    /// Default `false`.
    pub fn with_renew(self, renew: bool) -> Self {
        self.config(|c| c.renew = renew)
    }

    /// The cookie's `HttpOnly` attribute: page scripts cannot read the cookie. Default `true`.
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.config(|c| c.http_only = http_only)
    }

    /// The cookie's `Secure` attribute: sent over HTTPS only. Default `false` (so the demo works
    /// on `http://localhost`); turn it on in production.
    pub fn with_secure(self, secure: bool) -> Self {
        self.config(|c| c.secure = secure)
    }

    /// The cookie's `SameSite` attribute. Default [`SameSite::Lax`].
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

    #[cfg(test)]
    pub(crate) fn shared_config(&self) -> Config {
        self.shared.config.clone()
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

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The [`Service`] a [`SessionLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> SessionService<S> {
    /// Counters shared with the layer that built this service.
    pub fn metrics(&self) -> &SessionMetrics {
        &self.shared.metrics
    }
}

impl<S: fmt::Debug> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    // Boxed: committing awaits the store after the inner future, and a hand-written state
    // machine over a boxed store future would box anyway.
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let incoming = cookie::read(req.headers(), &shared.config);
        if matches!(incoming, Incoming::Invalid) {
            shared.metrics.rejected_cookie();
        }
        let session = Session::new(Arc::clone(&shared), incoming);
        req.extensions_mut().insert(session.clone());
        // The clone that was polled ready serves this request; the fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            let mut state = session.inner.state.lock().await;
            if let Some(status) = state.failed {
                // Already logged where the load failed.
                return Ok(error_response(status));
            }
            match commit(&shared, &mut state).await {
                Ok(Some(cookie)) => {
                    response.headers_mut().append(SET_COOKIE, cookie);
                }
                Ok(None) => {}
                Err(e) => {
                    shared.metrics.store_error();
                    let status = status_for(&e);
                    tracing::error!(
                        error = %session_core::error_chain(&e),
                        status = status.as_u16(),
                        "session store failed while saving a session"
                    );
                    return Ok(error_response(status));
                }
            }
            Ok(response)
        })
    }
}

fn error_response<B: Default>(status: StatusCode) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = status;
    response
}

/// Applies what the handler did to the store and returns the `Set-Cookie` to send, if any.
async fn commit(
    shared: &Shared,
    state: &mut State,
) -> Result<Option<HeaderValue>, session_core::Error> {
    let config = &shared.config;
    let store = &*shared.store;
    let ttl = config.max_age;
    let lifetime = config.max_age_ms();
    let fresh = || now_ms().saturating_add(lifetime);
    // koa-session's renew: less than half of the lifetime left on the cookie's expiry.
    let renew_due = |expires_at: i64| config.renew && expires_at - now_ms() < lifetime / 2;

    for old in state.obsolete.drain(..) {
        store.destroy(&old).await?;
    }

    let Some(data) = &state.data else {
        // The handler never touched the session: no load happened. Only a cookie the browser
        // sent can need work, and none of it needs the data.
        if let Incoming::Valid {
            key,
            expires_at,
            resign,
        } = &state.incoming
        {
            if config.rolling || renew_due(*expires_at) {
                // A touch never re-creates a missing or destroyed record, so touching blind is
                // safe; the data argument is ignored.
                store.set(key, &SessionData::new(), ttl, false).await?;
                return Ok(Some(cookie::set_cookie(config, key, fresh())));
            }
            if *resign && *expires_at > now_ms() {
                return Ok(Some(cookie::set_cookie(config, key, *expires_at)));
            }
        }
        return Ok(None);
    };
    let Some(key) = &state.key else {
        return Ok(None);
    };

    if state.original.is_none() && data.is_empty() {
        // A new session that stayed empty is not worth a record. A browser still holding a
        // cookie (destroyed, regenerated, forged, or pointing at an expired record) drops it.
        return Ok(match state.incoming {
            Incoming::Absent => None,
            _ => Some(cookie::expire_cookie(config)),
        });
    }
    if state.force_write || state.original.as_ref() != Some(data) {
        store.set(key, data, ttl, true).await?;
        return Ok(Some(cookie::set_cookie(config, key, fresh())));
    }
    // An existing session, unchanged.
    if state.rolled {
        // The rolling load already moved the record's expiry.
        return Ok(Some(cookie::set_cookie(config, key, fresh())));
    }
    if let Incoming::Valid {
        expires_at, resign, ..
    } = &state.incoming
    {
        if renew_due(*expires_at) {
            store.set(key, data, ttl, false).await?;
            return Ok(Some(cookie::set_cookie(config, key, fresh())));
        }
        if *resign && *expires_at > now_ms() {
            return Ok(Some(cookie::set_cookie(config, key, *expires_at)));
        }
    }
    Ok(None)
}
