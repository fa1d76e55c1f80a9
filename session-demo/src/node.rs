//! The demo in a Node-compatible mode (issue 16): the cookie of a Koa or Express app, chosen by
//! environment variables, so that the demo and the Node app share logins on one store. The
//! store's record format is chosen in its URL (`format=koa` / `format=express`, session-config).

use session_tower::{CookieStyle, EXPRESS_COOKIE_NAME, KOA_COOKIE_NAME, NodeKeys};

/// `koa`, `express` or `native` (the default): whose cookie the demo speaks.
pub const COOKIE_STYLE_ENV: &str = "SESSION_COOKIE_STYLE";

/// The cookie name (default `koa.sess` or `connect.sid`): koa-session's `key`, express-session's
/// `name`.
pub const COOKIE_NAME_ENV: &str = "SESSION_COOKIE_NAME";

/// A Node app's cookie settings for the demo.
#[derive(Clone, Debug)]
pub struct NodeMode {
    /// Koa or Express.
    pub style: CookieStyle,
    /// The Node app's `app.keys` / `secret`, first signing.
    pub keys: NodeKeys,
    /// The cookie name.
    pub name: String,
}

impl NodeMode {
    /// The mode `SESSION_COOKIE_STYLE`, `SESSION_COOKIE_NAME` and the key list `keys` (the
    /// demo's `SESSION_KEYS`, holding the Node app's keys in this mode) describe; `None` for the
    /// native cookie.
    ///
    /// # Errors
    /// An unknown style, or a Node style without keys.
    pub fn from_env(keys: Option<&str>) -> Result<Option<NodeMode>, String> {
        let style = std::env::var(COOKIE_STYLE_ENV).unwrap_or_default();
        let (style, default_name) = match style.trim() {
            "" | "native" => return Ok(None),
            "koa" => (CookieStyle::Koa, KOA_COOKIE_NAME),
            "express" => (CookieStyle::Express, EXPRESS_COOKIE_NAME),
            other => {
                return Err(format!(
                    "{COOKIE_STYLE_ENV}={other}: expected koa, express or native"
                ));
            }
        };
        let keys = NodeKeys::from_list(keys.unwrap_or_default()).map_err(|_| {
            format!(
                "{COOKIE_STYLE_ENV}={}: SESSION_KEYS must hold the Node app's keys \
                 (app.keys / secret), comma-separated, first signing",
                style_name(style)
            )
        })?;
        let name = std::env::var(COOKIE_NAME_ENV)
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| default_name.to_owned());
        Ok(Some(NodeMode { style, keys, name }))
    }
}

fn style_name(style: CookieStyle) -> &'static str {
    match style {
        CookieStyle::Koa => "koa",
        CookieStyle::Express => "express",
    }
}
