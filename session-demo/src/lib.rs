//! The demo application: a login form, the logged-in user, a per-session visit counter and a
//! logout button, over whichever session store `SESSION_STORE_URL` names.
//!
//! ```text
//! cargo run -p session-demo                      # memory store, http://127.0.0.1:3000
//! SESSION_STORE_URL=redis://127.0.0.1:6379/ cargo run -p session-demo -- --port 8080
//! ```
//!
//! | route | does |
//! |---|---|
//! | `GET /` | the page (plain HTML and a little inline JavaScript calling the API) |
//! | `POST /users/login` | `{"username", "password"}` → `200 {"username"}` with a new session id, or `401` and no session |
//! | `POST /users/logout` | destroys the session → `204` and an expiring cookie |
//! | `GET /users/me` | `200 {"username"}`, or `401` when not logged in |
//! | `GET /count` | the session's visit counter, incremented: `{"count": n}`; works without login |
//!
//! The application code never names a backend: [`app`] takes any `Arc<dyn SessionStore>`.
//!
//! With a front end on another origin ([`DemoConfig::front_end_origin`], `SESSION_CORS_ORIGIN`
//! for the binary), the API answers CORS with credentials for that origin only; see [`cors`].
//!
//! ```
//! use session_demo::{DemoConfig, Users, app};
//! use session_tower::KeyRing;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Whatever the URL names: memory://, redis://…, mongodb://…, mysql://…, postgres://…, sqlite://…
//! let store = session_config::connect(&"memory://".parse()?).await?;
//! let keys = KeyRing::new([b"a secret of at least 32 bytes!!!"])?;
//! let router = app(store, DemoConfig::new(keys, Users::demo()?))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // axum::serve(listener, router).await?;
//! # drop((router, listener));
//! # Ok(())
//! # }
//! ```

pub mod cors;
pub mod metrics;
pub mod node;
mod page;
mod routes;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use session_core::SessionStore;
use session_tower::{Duration, KeyRing, SessionLayer};

pub use cors::FrontEndOrigin;
pub use node::NodeMode;
pub use users::{DEFAULT_USER, Users};

/// How the demo's sessions behave. [`DemoConfig::new`] gives the defaults; the fields are public
/// so tests can shorten lifetimes or turn on rolling and renew.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Signing keys, newest first.
    pub keys: KeyRing,
    /// The users who can log in.
    pub users: Arc<Users>,
    /// Session lifetime (store TTL and cookie Max-Age). Default one day.
    pub max_age: Duration,
    /// koa-session's `rolling`. Default `false`.
    pub rolling: bool,
    /// koa-session's `renew`. Default `true`: active users stay logged in, idle ones expire.
    pub renew: bool,
    /// The cookie's `Secure` attribute. Default `false`, since the demo serves plain HTTP.
    pub secure: bool,
    /// The origin of a front end served elsewhere, allowed to call the API with credentials
    /// (see [`cors`]). Default `None`: the API answers no CORS requests.
    pub front_end_origin: Option<FrontEndOrigin>,
    /// A Koa or Express app's cookie instead of the native one (see [`node`]). Default `None`.
    pub node: Option<NodeMode>,
}

impl DemoConfig {
    /// The defaults, with `keys` and `users`.
    pub fn new(keys: KeyRing, users: impl Into<Arc<Users>>) -> Self {
        DemoConfig {
            keys,
            users: users.into(),
            max_age: session_tower::DEFAULT_MAX_AGE,
            rolling: false,
            renew: true,
            secure: false,
            front_end_origin: None,
            node: None,
        }
    }
}

/// The session layer [`app`] uses for `config`.
///
/// # Errors
/// [`session_tower::LayerError::InvalidMaxAge`] for a non-positive `max_age`; the errors of
/// [`SessionLayer::validate`] for cookie options a browser would refuse.
pub fn session_layer(
    store: Arc<dyn SessionStore>,
    config: &DemoConfig,
) -> Result<SessionLayer, session_tower::LayerError> {
    let layer = match &config.node {
        Some(node) => SessionLayer::node(store, node.style, node.keys.clone(), &node.name),
        None => SessionLayer::new(store, config.keys.clone()),
    };
    layer
        .with_max_age(config.max_age)?
        .with_rolling(config.rolling)
        .with_renew(config.renew)
        .with_secure(config.secure)
        .validate()
}

/// The demo's router over `store`.
///
/// # Errors
/// As [`session_layer`].
pub fn app(
    store: Arc<dyn SessionStore>,
    config: DemoConfig,
) -> Result<Router, session_tower::LayerError> {
    let layer = session_layer(store, &config)?;
    let app = router(config.users).layer(layer);
    Ok(match &config.front_end_origin {
        Some(origin) => cors::apply(app, origin),
        None => app,
    })
}

/// The routes without the session layer, for callers that build their own [`SessionLayer`].
pub fn router(users: Arc<Users>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/users/login", post(routes::login))
        .route("/users/logout", post(routes::logout))
        .route("/users/me", get(routes::me))
        .route("/count", get(routes::count))
        .route("/users/sessions", get(routes::sessions))
        .route(
            "/users/sessions/others/end",
            post(routes::end_other_sessions),
        )
        .route("/users/sessions/{handle}/end", post(routes::end_session))
        .with_state(users)
}

/// The repository README's Rust examples, compiled (and run) as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
