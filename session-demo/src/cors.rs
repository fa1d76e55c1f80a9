//! The API on one origin, its front end on another (the seeds' Vue + axios set-up, with
//! `withCredentials`): CORS with credentials for exactly one front-end origin, and the static
//! front-end page.
//!
//! With [`DemoConfig::front_end_origin`](crate::DemoConfig::front_end_origin) set, [`app`](crate::app)
//! adds two layers outside the session layer:
//!
//! - tower-http's [`CorsLayer`]: `Access-Control-Allow-Origin` names that one origin (never
//!   `*`, which browsers refuse with credentials anyway, and never an echo of whatever `Origin`
//!   came), `Access-Control-Allow-Credentials: true`, `GET` and `POST`, the `Content-Type`
//!   header. A page on any other origin can still make the browser *send* a request, but it
//!   cannot read the answer, and its JSON `POST`s fail at the preflight before they are sent.
//! - An `Origin` check on state-changing requests: a `POST` whose `Origin` is neither the
//!   front end nor the API's own origin gets `403` before any handler or session runs. CORS
//!   alone does not stop a form or a `text/plain` `fetch` (no preflight) from logging a
//!   same-site user out; this does. Requests without `Origin` (non-browser clients) pass.
//!
//! The session cookie keeps `SameSite=Lax`: two ports of one host, or `app.example.com` and
//! `api.example.com`, are different origins but the same *site*, so the browser sends the
//! cookie on the front end's credentialed requests. A front end on another site would need
//! `SameSite=None` and `Secure` (HTTPS), and browsers that block third-party cookies would still
//! drop it: serve the front end and the API from one site.

use std::str::FromStr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The environment variable naming the front end's origin for the demo binary
/// (`--cors-origin` on the command line).
pub const CORS_ORIGIN_ENV: &str = "SESSION_CORS_ORIGIN";

/// The static front-end page: login, the visit counter and logout, calling the API named by its
/// `?api=` query parameter with `fetch(…, { credentials: "include" })`.
pub const FRONT_END_PAGE: &str = include_str!("../front-end/index.html");

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The one origin allowed to call the API with credentials, in the form browsers send in
/// `Origin`: `http://127.0.0.1:8080`, `https://app.example.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontEndOrigin {
    /// The ASCII serialization of the origin (lowercase host, no default port, no slash).
    origin: String,
}

/// Why a string is not a usable front-end origin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OriginError {
    /// `*` or `null`: with credentials, CORS needs one exact origin.
    #[error("the front-end origin must be one exact origin, not `*` or `null`")]
    NotExact,
    /// Not an absolute `http` or `https` URL.
    #[error("the front-end origin must be an http:// or https:// URL")]
    NotHttp,
    /// A URL with more than an origin: a path, a query, a fragment or a user name.
    #[error("the front-end origin must be scheme://host[:port] with nothing after it")]
    NotAnOrigin,
}

impl FrontEndOrigin {
    /// The origin as browsers send it in `Origin`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }
}

impl FromStr for FrontEndOrigin {
    type Err = OriginError;

    fn from_str(s: &str) -> Result<Self, OriginError> {
        let s = s.trim();
        if s == "*" || s.eq_ignore_ascii_case("null") {
            return Err(OriginError::NotExact);
        }
        let url = url::Url::parse(s).map_err(|_| OriginError::NotHttp)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(OriginError::NotHttp);
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(OriginError::NotAnOrigin);
        }
        // The serialization browsers compare against: `HTTP://Example.COM:80/` becomes
        // `http://example.com`, so an exact match works however the operator spelled it.
        Ok(FrontEndOrigin {
            origin: url.origin().ascii_serialization(),
        })
    }
}

/// `router` answering CORS for `origin` and refusing state-changing requests from any other
/// origin (see the [module docs](self)).
pub(crate) fn apply(router: Router, origin: &FrontEndOrigin) -> Router {
    // `list`, not `exact`: `exact` sends the front end's origin to every caller (the browser
    // then refuses it), `list` answers only a matching `Origin` and tells strangers nothing.
    // Built from a parsed URL's ASCII serialization, so always a valid header value.
    let value = HeaderValue::from_str(origin.as_str()).unwrap_or(HeaderValue::from_static("null"));
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list([value]))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(PREFLIGHT_MAX_AGE);
    router
        .layer(middleware::from_fn_with_state(origin.clone(), check_origin))
        .layer(cors)
}

/// Lets a request through unless it is state-changing and a browser says it comes from an
/// origin that is neither the front end nor the API itself.
async fn check_origin(
    State(allowed): State<FrontEndOrigin>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let permitted = safe
        || match headers.get(header::ORIGIN) {
            None => true,
            Some(origin) => {
                origin.as_bytes() == allowed.as_str().as_bytes() || same_origin(origin, headers)
            }
        };
    if permitted {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, "cross-origin request refused").into_response()
    }
}

/// `Origin` names the host the request was sent to (the demo's own page). The scheme is not
/// compared: behind a TLS-terminating proxy the API only sees plain HTTP.
fn same_origin(origin: &HeaderValue, headers: &axum::http::HeaderMap) -> bool {
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// A router serving [`FRONT_END_PAGE`] at `/`, for a front-end origin of its own.
pub fn front_end() -> Router {
    Router::new().route(
        "/",
        get(|| async { ([(header::CACHE_CONTROL, "no-store")], Html(FRONT_END_PAGE)) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_kept_in_the_form_browsers_send() {
        for (given, kept) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("HTTPS://App.Example.COM:443", "https://app.example.com"),
            (" http://localhost:5173 ", "http://localhost:5173"),
        ] {
            assert_eq!(given.parse::<FrontEndOrigin>().unwrap().as_str(), kept);
        }
    }

    #[test]
    fn wildcards_and_non_origins_are_typed_errors() {
        for bad in ["*", "null", "NULL"] {
            assert!(matches!(
                bad.parse::<FrontEndOrigin>(),
                Err(OriginError::NotExact)
            ));
        }
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://example.com",
            "file:///tmp/x",
            "data:,x",
        ] {
            assert!(
                matches!(bad.parse::<FrontEndOrigin>(), Err(OriginError::NotHttp)),
                "{bad}"
            );
        }
        for bad in [
            "http://example.com/app",
            "http://example.com/?x=1",
            "http://example.com/#x",
            "http://user@example.com",
            "http://user:pw@example.com",
        ] {
            assert!(
                matches!(bad.parse::<FrontEndOrigin>(), Err(OriginError::NotAnOrigin)),
                "{bad}"
            );
        }
    }
}
