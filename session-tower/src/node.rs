//! Cookies a running Koa or Express app reads and writes (issue 16): the session id in
//! koa-session 7's signed `koa.sess` / `koa.sess.sig` pair or in express-session 1.19's
//! `connect.sid=s:<id>.<signature>`, so that a Rust service and the Node app share logins.
//!
//! | | koa ([`SessionLayer::koa`]) | express ([`SessionLayer::express`]) |
//! |---|---|---|
//! | cookie | `koa.sess=<id>` and `koa.sess.sig=<sig>` | `connect.sid=` URL-encoded `s:<id>.<sig>` |
//! | signature | HMAC-SHA1 over `koa.sess=<id>`, base64url without padding (keygrip) | HMAC-SHA256 over `<id>`, standard base64 without padding (cookie-signature) |
//! | key list | `app.keys`: the first signs, every one verifies; a cookie verified by an older key gets a fresh `.sig` (only the `.sig`, without expiry, as koa does) | `secret`: the first signs, every one verifies; re-signed when the cookie is next set |
//! | attributes | `path=/; expires=…; httponly` (lowercase, no `Max-Age`) | `Path=/; Expires=…; HttpOnly` (no `Max-Age`) |
//!
//! The store must keep ids as they are ([`IdsAtRest::Plain`], set by both constructors; a hashed
//! id would not be the key the Node app looks up) and the absolute lifetime is off (its
//! `$lifetime` field would be injected into records the Node app reads).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use http::header::{COOKIE, HeaderMap, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use session_core::node::http_date;
use session_core::{IdsAtRest, SessionKey, SessionStore};

use crate::config::Config;
use crate::cookie::Incoming;
use crate::{LayerError, SessionLayer};

/// koa-session's default cookie name.
pub const KOA_COOKIE_NAME: &str = "koa.sess";

/// express-session's default cookie name.
pub const EXPRESS_COOKIE_NAME: &str = "connect.sid";

/// The `expires_at` of a koa cookie read from a request: koa's cookie does not carry its expiry,
/// so the layer never renews from it; a re-sign writes only the `.sig` cookie, as koa does.
const KOA_READ: i64 = i64::MAX;

/// The `expires_at` of an express cookie read from a request: never re-signed on its own
/// (express-session re-signs only when it sets the cookie).
const EXPRESS_READ: i64 = i64::MIN;

const DELETED: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// What `encodeURIComponent` leaves alone: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Which Node app's cookie the layer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieStyle {
    /// koa-session 7 with `signed: true`.
    Koa,
    /// express-session 1.19.
    Express,
}

/// The Node app's signing keys (koa's `app.keys`, express-session's `secret`), in its order:
/// the first signs, every one verifies. Any length, as Node accepts them; copy them exactly.
#[derive(Clone)]
pub struct NodeKeys {
    keys: Arc<[Vec<u8>]>,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKeys({} keys)", self.keys.len())
    }
}

impl NodeKeys {
    /// The key list, first key signing.
    ///
    /// # Errors
    /// [`LayerError::NoKeys`] for an empty list or an empty key.
    pub fn new<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Result<Self, LayerError> {
        let keys: Vec<Vec<u8>> = keys.into_iter().map(|k| k.as_ref().to_vec()).collect();
        if keys.is_empty() || keys.iter().any(Vec::is_empty) {
            return Err(LayerError::NoKeys);
        }
        Ok(NodeKeys { keys: keys.into() })
    }

    /// A comma-separated list, as apps usually keep it in an environment variable.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_list(list: &str) -> Result<Self, LayerError> {
        Self::new(list.split(',').map(str::trim).filter(|k| !k.is_empty()))
    }

    fn tag(&self, style: CookieStyle, index: usize, message: &[u8]) -> Vec<u8> {
        let key = &self.keys[index];
        match style {
            CookieStyle::Koa => {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            CookieStyle::Express => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// The signature of `message` by the first key, encoded as the style encodes it.
    pub(crate) fn sign(&self, style: CookieStyle, message: &[u8]) -> String {
        let tag = self.tag(style, 0, message);
        match style {
            CookieStyle::Koa => URL_SAFE_NO_PAD.encode(tag),
            CookieStyle::Express => STANDARD_NO_PAD.encode(tag),
        }
    }

    /// The index of the key that signed `message` with `signature`, compared in constant time.
    pub(crate) fn verify(
        &self,
        style: CookieStyle,
        message: &[u8],
        signature: &str,
    ) -> Option<usize> {
        let decoded = match style {
            CookieStyle::Koa => URL_SAFE_NO_PAD.decode(signature),
            CookieStyle::Express => STANDARD_NO_PAD.decode(signature),
        }
        .ok()?;
        (0..self.keys.len()).find(|&i| {
            let key = &self.keys[i];
            match style {
                CookieStyle::Koa => Hmac::<sha1::Sha1>::new_from_slice(key)
                    .map(|mut m| {
                        m.update(message);
                        m.verify_slice(&decoded).is_ok()
                    })
                    .unwrap_or(false),
                CookieStyle::Express => Hmac::<sha2::Sha256>::new_from_slice(key)
                    .map(|mut m| {
                        m.update(message);
                        m.verify_slice(&decoded).is_ok()
                    })
                    .unwrap_or(false),
            }
        })
    }
}

/// The Node cookie settings of a layer.
#[derive(Debug, Clone)]
pub(crate) struct NodeCookie {
    pub(crate) style: CookieStyle,
    pub(crate) keys: NodeKeys,
}

impl SessionLayer {
    /// A layer speaking koa-session 7's signed cookie (`koa.sess` + `koa.sess.sig`) with the Koa
    /// app's `app.keys`. Ids are kept plain at rest and the absolute lifetime is off; pair it
    /// with a store in koa-redis's format.
    pub fn koa(store: Arc<dyn SessionStore>, keys: NodeKeys) -> Self {
        Self::node(store, CookieStyle::Koa, keys, KOA_COOKIE_NAME)
    }

    /// A layer speaking express-session 1.19's cookie (`connect.sid=s:<id>.<sig>`) with the
    /// Express app's `secret` list. Ids are kept plain at rest and the absolute lifetime is off;
    /// pair it with a store in an express format.
    pub fn express(store: Arc<dyn SessionStore>, secrets: NodeKeys) -> Self {
        Self::node(store, CookieStyle::Express, secrets, EXPRESS_COOKIE_NAME)
    }

    /// [`koa`](Self::koa) or [`express`](Self::express) by `style`.
    pub fn node(
        store: Arc<dyn SessionStore>,
        style: CookieStyle,
        keys: NodeKeys,
        name: &str,
    ) -> Self {
        let name = name.to_owned();
        SessionLayer::unsigned(store).with_config(move |c| {
            c.name = name;
            c.node = Some(NodeCookie { style, keys });
            c.ids_at_rest = IdsAtRest::Plain;
            c.absolute_lifetime = None;
        })
    }
}

/// The Node-mode rules of a configuration.
pub(crate) fn check(config: &Config) -> Result<(), LayerError> {
    if config.node.is_some() {
        if config.ids_at_rest != IdsAtRest::Plain {
            return Err(LayerError::NodeCookieNeedsPlainIds);
        }
        if config.absolute_lifetime.is_some() {
            return Err(LayerError::NodeCookieForbidsAbsoluteLifetime);
        }
    }
    Ok(())
}

/// The first value of cookie `name` in the request, quotes stripped.
fn first<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|pair| {
            let (n, v) = pair.split_once('=')?;
            (n.trim() == name).then(|| {
                let v = v.trim();
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
            })
        })
}

pub(crate) fn read(headers: &HeaderMap, config: &Config, node: &NodeCookie) -> Incoming {
    let Some(value) = first(headers, &config.name) else {
        return Incoming::Absent;
    };
    let verified = match node.style {
        CookieStyle::Koa => {
            let Some(sig) = first(headers, &format!("{}.sig", config.name)) else {
                return Incoming::Absent;
            };
            let message = format!("{}={value}", config.name);
            node.keys
                .verify(CookieStyle::Koa, message.as_bytes(), sig)
                .map(|i| (value.to_owned(), i, KOA_READ))
        }
        CookieStyle::Express => {
            let decoded = percent_decode_str(value).decode_utf8_lossy();
            decoded
                .strip_prefix("s:")
                .and_then(|signed| signed.rsplit_once('.'))
                .and_then(|(id, sig)| {
                    node.keys
                        .verify(CookieStyle::Express, id.as_bytes(), sig)
                        .map(|i| (id.to_owned(), i, EXPRESS_READ))
                })
        }
    };
    match verified.and_then(|(id, i, at)| Some((SessionKey::parse(&id).ok()?, i, at))) {
        Some((key, index, expires_at)) => Incoming::Valid {
            key,
            expires_at,
            resign: index > 0,
        },
        None => Incoming::Invalid,
    }
}

fn attributes(config: &Config, style: CookieStyle, expires: Option<&str>, out: &mut String) {
    let koa = style == CookieStyle::Koa;
    out.push_str(if koa { "; path=" } else { "; Path=" });
    out.push_str(&config.path);
    if let Some(expires) = expires {
        out.push_str(if koa { "; expires=" } else { "; Expires=" });
        out.push_str(expires);
    }
    if let Some(domain) = &config.domain {
        out.push_str(if koa { "; domain=" } else { "; Domain=" });
        out.push_str(domain);
    }
    if koa {
        out.push_str("; samesite=");
        out.push_str(&config.same_site.as_str().to_ascii_lowercase());
    }
    if config.secure {
        out.push_str(if koa { "; secure" } else { "; Secure" });
    }
    if config.http_only {
        out.push_str(if koa { "; httponly" } else { "; HttpOnly" });
    }
    if !koa {
        out.push_str("; SameSite=");
        out.push_str(config.same_site.as_str());
    }
    if config.partitioned {
        out.push_str(if koa {
            "; partitioned"
        } else {
            "; Partitioned"
        });
    }
}

fn header(value: String) -> Option<HeaderValue> {
    HeaderValue::try_from(value).ok()
}

pub(crate) fn set_cookie(
    config: &Config,
    node: &NodeCookie,
    key: &SessionKey,
    expires_at: i64,
) -> Vec<HeaderValue> {
    let expires =
        (!config.browser_session && expires_at != KOA_READ).then(|| http_date(expires_at));
    match node.style {
        CookieStyle::Koa => {
            let pair = format!("{}={}", config.name, key.as_str());
            let sig = node.keys.sign(CookieStyle::Koa, pair.as_bytes());
            let mut sig_cookie = format!("{}.sig={sig}", config.name);
            if expires_at == KOA_READ {
                // koa's re-sign: only the `.sig`, default attributes, no expiry.
                sig_cookie.push_str("; path=/; httponly");
                return header(sig_cookie).into_iter().collect();
            }
            let mut value = pair;
            attributes(config, CookieStyle::Koa, expires.as_deref(), &mut value);
            attributes(
                config,
                CookieStyle::Koa,
                expires.as_deref(),
                &mut sig_cookie,
            );
            [value, sig_cookie].into_iter().filter_map(header).collect()
        }
        CookieStyle::Express => {
            let sig = node
                .keys
                .sign(CookieStyle::Express, key.as_str().as_bytes());
            let signed = format!("s:{}.{sig}", key.as_str());
            let mut out = format!(
                "{}={}",
                config.name,
                utf8_percent_encode(&signed, URI_COMPONENT)
            );
            attributes(config, CookieStyle::Express, expires.as_deref(), &mut out);
            header(out).into_iter().collect()
        }
    }
}

pub(crate) fn expire_cookie(config: &Config, node: &NodeCookie) -> Vec<HeaderValue> {
    match node.style {
        CookieStyle::Koa => {
            let pair = format!("{}=", config.name);
            let sig = node.keys.sign(CookieStyle::Koa, pair.as_bytes());
            let mut value = pair;
            let mut sig_cookie = format!("{}.sig={sig}", config.name);
            attributes(config, CookieStyle::Koa, Some(DELETED), &mut value);
            attributes(config, CookieStyle::Koa, Some(DELETED), &mut sig_cookie);
            [value, sig_cookie].into_iter().filter_map(header).collect()
        }
        CookieStyle::Express => {
            let mut out = format!("{}=", config.name);
            attributes(config, CookieStyle::Express, Some(DELETED), &mut out);
            header(out).into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // node-interop.md §9.1 / §9.2: signatures computed with openssl.
    #[test]
    fn signatures_match_keygrip_and_cookie_signature() {
        let koa = NodeKeys::new(["interop-key-1"]).unwrap();
        assert_eq!(
            koa.sign(CookieStyle::Koa, b"koa.sess="),
            "b8mPZP1M1MJYQ2stbq4Aeai9Nvs"
        );
        let express = NodeKeys::new(["interop-secret-1"]).unwrap();
        assert_eq!(
            express.sign(CookieStyle::Express, b"S59jRegDzoS9gx-PrDoTNP2Rtgq7dy2a"),
            "ffCyThSz6dD4LdRboNTOPweJAcfdQmHr9gAIUeBQFPc"
        );
        let rotated = NodeKeys::new(["interop-secret-2", "interop-secret-1"]).unwrap();
        assert_eq!(
            rotated.verify(
                CookieStyle::Express,
                b"S59jRegDzoS9gx-PrDoTNP2Rtgq7dy2a",
                "ffCyThSz6dD4LdRboNTOPweJAcfdQmHr9gAIUeBQFPc"
            ),
            Some(1)
        );
        assert_eq!(
            rotated.verify(
                CookieStyle::Express,
                b"other",
                "ffCyThSz6dD4LdRboNTOPweJAcfdQmHr9gAIUeBQFPc"
            ),
            None
        );
    }

    #[test]
    fn the_express_cookie_is_uri_encoded_like_node() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static(
                "connect.sid=s%3AS59jRegDzoS9gx-PrDoTNP2Rtgq7dy2a.ffCyThSz6dD4LdRboNTOPweJAcfdQmHr9gAIUeBQFPc",
            ),
        );
        let mut config = Config::new(None);
        config.name = EXPRESS_COOKIE_NAME.into();
        let node = NodeCookie {
            style: CookieStyle::Express,
            keys: NodeKeys::new(["interop-secret-1"]).unwrap(),
        };
        let Incoming::Valid { key, resign, .. } = read(&headers, &config, &node) else {
            panic!("not valid");
        };
        assert!(!resign);
        assert_eq!(key.as_str(), "S59jRegDzoS9gx-PrDoTNP2Rtgq7dy2a");
        let set = set_cookie(&config, &node, &key, 1_795_514_952_752);
        assert_eq!(
            set[0].to_str().unwrap(),
            "connect.sid=s%3AS59jRegDzoS9gx-PrDoTNP2Rtgq7dy2a.ffCyThSz6dD4LdRboNTOPweJAcfdQmHr9gAIUeBQFPc; Path=/; Expires=Tue, 24 Nov 2026 10:09:12 GMT; HttpOnly; SameSite=Lax"
        );
    }
}
