//! Configuration errors and the errors handlers see.

use http::StatusCode;

/// A session layer that cannot be built: a bad signing key or cookie attribute.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// A signed layer needs at least one key.
    #[error("a signing key ring needs at least one key")]
    NoKeys,
    /// A signing key is shorter than [`MIN_KEY_BYTES`](crate::MIN_KEY_BYTES).
    #[error("signing key #{index} is {len} bytes long; at least {min} bytes are required")]
    KeyTooShort {
        /// Position of the key in the ring (0 signs).
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The minimum length in bytes.
        min: usize,
    },
    /// A `max_age` that is zero, negative or longer than
    /// [`MAX_MAX_AGE`](session_core::MAX_MAX_AGE) (100 years).
    #[error("max_age must be positive and at most 100 years")]
    InvalidMaxAge,
    /// The cookie name is empty or contains a character that is not allowed in a cookie name
    /// (an HTTP token: no spaces, separators, `=` or control characters).
    #[error("invalid cookie name: {reason}")]
    InvalidCookieName {
        /// Which rule the name broke.
        reason: &'static str,
    },
    /// A cookie `Path` or `Domain` contains `;`, a control character or non-ASCII text.
    #[error("invalid cookie {attribute}: it must be visible ASCII without `;`")]
    InvalidCookieAttribute {
        /// `"Path"` or `"Domain"`.
        attribute: &'static str,
    },
    /// A Node cookie style ([`SessionLayer::koa`](crate::SessionLayer::koa),
    /// [`SessionLayer::express`](crate::SessionLayer::express)) with ids hashed at rest: the Node
    /// app looks records up under the plain id.
    #[error(
        "a Koa or Express cookie needs IdsAtRest::Plain: the Node app looks records up under the plain id"
    )]
    NodeCookieNeedsPlainIds,
    /// A Node cookie style with an absolute lifetime: its `$lifetime` field would be injected
    /// into records the Node app reads.
    #[error(
        "a Koa or Express cookie cannot have an absolute lifetime: it would write $lifetime into the Node app's records"
    )]
    NodeCookieForbidsAbsoluteLifetime,
    /// The cookie name starts with `__Secure-` or `__Host-` (in any letter case, as browsers
    /// compare it) but the cookie is not `Secure`: browsers refuse to store it.
    #[error("a cookie named {prefix}… must be Secure (with_secure(true))")]
    PrefixRequiresSecure {
        /// `"__Secure-"` or `"__Host-"`.
        prefix: &'static str,
    },
    /// The cookie name starts with `__Host-` but the `Path` is not `/`: browsers refuse to
    /// store it.
    #[error("a cookie named __Host-… must have Path=/")]
    HostPrefixRequiresRootPath,
    /// The cookie name starts with `__Host-` but a `Domain` is set: browsers refuse to store it.
    #[error("a cookie named __Host-… must not have a Domain")]
    HostPrefixForbidsDomain,
    /// `SameSite=None` on a cookie that is not `Secure`: browsers refuse to store it.
    #[error("SameSite=None requires a Secure cookie (with_secure(true))")]
    SameSiteNoneRequiresSecure,
    /// `Partitioned` on a cookie that is not `Secure`: browsers refuse to store it.
    #[error("a Partitioned cookie must be Secure (with_secure(true))")]
    PartitionedRequiresSecure,
}

/// Why a [`Session`](crate::Session) operation failed inside a handler.
///
/// The middleware has already logged a store failure once (without the session key) and will
/// answer `503 Service Unavailable` (transient) or `500 Internal Server Error` itself, whatever
/// the handler returns; handlers can simply propagate the error with `?`. With the `axum`
/// feature this type implements `IntoResponse` with the same statuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed while loading the session.
    #[error("the session store failed")]
    Store(#[source] session_core::Error),
    /// A value could not be converted to or from JSON: `insert` of a value that is not
    /// representable ([`Error::Encode`](session_core::Error::Encode)), or `get::<T>` of a value
    /// that is not a `T` ([`Error::TypeMismatch`](session_core::Error::TypeMismatch)). Not a store
    /// failure, and the session is not dropped.
    #[error("session value could not be converted")]
    Value(#[source] session_core::Error),
    /// The session ended while this request used it: another request destroyed or regenerated
    /// it (a logout, a login), so [`Session::update`](crate::Session::update) had nothing to
    /// update. Nothing was written; the other request's logout stands. Status `409`.
    #[error("the session was ended by another request")]
    Ended,
    /// An earlier session operation of this request already failed to load the session; the
    /// middleware answers with that failure's status.
    #[error("the session could not be loaded earlier in this request")]
    Failed,
}

impl SessionError {
    /// The status the middleware answers with for this error: `503` for a transient store error
    /// (timeout, unreachable server), otherwise `500`.
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Store(e) => status_for(e),
            SessionError::Value(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SessionError::Ended => StatusCode::CONFLICT,
            // The first failure's status is what the middleware sends; 503 is the common case,
            // but the response is replaced by the middleware anyway.
            SessionError::Failed => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// `409` for a save that kept losing to concurrent requests on the same session, `503` for other
/// transient store errors, `500` for the rest.
pub(crate) fn status_for(e: &session_core::Error) -> StatusCode {
    if matches!(e, session_core::Error::WriteConflict { .. }) {
        StatusCode::CONFLICT
    } else if e.is_transient() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}
