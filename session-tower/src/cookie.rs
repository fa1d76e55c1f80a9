//! The session cookie: its value format, reading it from `Cookie`, writing `Set-Cookie`.
//!
//! The value is `<session key>.<expiry>` followed, when signed, by `.<mac>`:
//!
//! ```text
//! sid=Xq3…43 chars…Q.1732320000000.3fY…43 chars…w
//!     ^^^^^^^^^^^^^^ ^^^^^^^^^^^^^ ^^^^^^^^^^^^^^
//!     session key    expiry, epoch ms   base64url HMAC-SHA256 of "sid=<key>.<expiry>"
//! ```
//!
//! The expiry is where the session's store record expires, as last written by this layer. It
//! lets `renew` decide without loading the session (koa-session keeps the same `_expire` inside
//! the session data, which forces a load on every request). It is advisory: the store's own
//! expiry is authoritative, so a tampered unsigned expiry can at worst trigger an early renew.
//! The MAC covers the cookie name too, as keygrip's does, so a value cannot be moved to another
//! cookie.

use http::header::{COOKIE, HeaderMap, HeaderValue};
use session_core::SessionKey;

use crate::config::Config;
use crate::keys::Verified;

/// What the request's cookie says.
#[derive(Debug, Clone)]
pub(crate) enum Incoming {
    /// No session cookie.
    Absent,
    /// A session cookie that does not verify or parse; ignored without a store lookup.
    Invalid,
    /// A well-formed (and, when signed, verified) session cookie.
    Valid {
        key: SessionKey,
        expires_at: i64,
        /// Verified with an older key of the ring: set it again, signed with the first key.
        resign: bool,
    },
}

/// Reads the session cookie.
///
/// Several cookies of the session's name with different values count as no session at all,
/// even if one of them verifies. A browser sends them when a sibling subdomain or a more
/// specific path planted its own cookie ("cookie tossing"); picking one would let the planter
/// choose which session the victim uses. Exact repeats of one value are treated as one cookie.
pub(crate) fn read(headers: &HeaderMap, config: &Config) -> Incoming {
    if let Some(node) = &config.node {
        return crate::node::read(headers, config, node);
    }
    let mut found: Option<&[u8]> = None;
    for header in headers.get_all(COOKIE) {
        // Bytes, not `to_str`: another application's cookie may carry UTF-8, which must not
        // hide ours or make us skip a header that holds a second session cookie.
        for pair in header.as_bytes().split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (name, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            if name != config.name.as_bytes() {
                continue;
            }
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            match found {
                Some(previous) if previous != value => return Incoming::Invalid,
                _ => found = Some(value),
            }
        }
    }
    match found {
        None => Incoming::Absent,
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|value| parse(value, config))
            .unwrap_or(Incoming::Invalid),
    }
}

fn parse(value: &str, config: &Config) -> Option<Incoming> {
    let (payload, verified) = match &config.keys {
        Some(keys) => {
            let (payload, tag) = value.rsplit_once('.')?;
            let verified = keys.verify(signed_message(&config.name, payload).as_bytes(), tag)?;
            (payload, verified)
        }
        None => (value, Verified::Current),
    };
    let (key, expires_at) = payload.rsplit_once('.')?;
    if expires_at.is_empty() || !expires_at.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let expires_at: i64 = expires_at.parse().ok()?;
    let key = SessionKey::parse(key).ok()?;
    Some(Incoming::Valid {
        key,
        expires_at,
        resign: verified == Verified::Old,
    })
}

fn signed_message(name: &str, payload: &str) -> String {
    format!("{name}={payload}")
}

/// The cookie value for `key` expiring at `expires_at`, signed with the first key when signing.
pub(crate) fn value(config: &Config, key: &SessionKey, expires_at: i64) -> String {
    let payload = format!("{}.{expires_at}", key.as_str());
    match &config.keys {
        Some(keys) => {
            let tag = keys.sign(signed_message(&config.name, &payload).as_bytes());
            format!("{payload}.{tag}")
        }
        None => payload,
    }
}

/// `Set-Cookie` for a live session whose store record expires at `expires_at`, sent at `now`.
pub(crate) fn set_cookie(
    config: &Config,
    key: &SessionKey,
    expires_at: i64,
    now: i64,
) -> HeaderValue {
    let mut out = format!("{}={}", config.name, value(config, key, expires_at));
    if !config.browser_session {
        // Whole seconds, rounded up: the cookie may outlive its record by under a second, which
        // is harmless (the store has the last word), but never dies before it.
        let remaining_ms = expires_at.saturating_sub(now).max(0);
        let seconds = remaining_ms.saturating_add(999) / 1000;
        out.push_str(&format!("; Max-Age={seconds}"));
    }
    attributes(config, &mut out);
    header(out)
}

/// `Set-Cookie` that makes the browser drop the session cookie.
pub(crate) fn expire_cookie(config: &Config) -> HeaderValue {
    let mut out = format!(
        "{}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        config.name
    );
    attributes(config, &mut out);
    header(out)
}

fn attributes(config: &Config, out: &mut String) {
    out.push_str("; Path=");
    out.push_str(&config.path);
    if let Some(domain) = &config.domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if config.http_only {
        out.push_str("; HttpOnly");
    }
    if config.secure {
        out.push_str("; Secure");
    }
    out.push_str("; SameSite=");
    out.push_str(config.same_site.as_str());
    if config.partitioned {
        out.push_str("; Partitioned");
    }
}

fn header(value: String) -> HeaderValue {
    // Every part was validated at construction (name, path, domain) or is base64url/digits.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyRing;

    const NOW: i64 = 1_700_000_000_000;

    fn config(signed: bool) -> Config {
        let keys = signed.then(|| KeyRing::new([b"0123456789abcdef0123456789abcdef"]).unwrap());
        Config::new(keys)
    }

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::try_from(cookie).unwrap());
        h
    }

    #[test]
    fn a_signed_value_round_trips() {
        let config = config(true);
        let key = SessionKey::generate();
        let v = value(&config, &key, 1_700_000_000_000);
        match read(&headers(&format!("other=1; sid={v}; x=y")), &config) {
            Incoming::Valid {
                key: k,
                expires_at,
                resign,
            } => {
                assert_eq!(k, key);
                assert_eq!(expires_at, 1_700_000_000_000);
                assert!(!resign);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_value_moved_to_another_cookie_name_does_not_verify() {
        let mut config = config(true);
        let v = value(&config, &SessionKey::generate(), 1);
        config.name = "other".to_owned();
        assert!(matches!(
            read(&headers(&format!("other={v}")), &config),
            Incoming::Invalid
        ));
    }

    #[test]
    fn malformed_values_are_invalid_and_other_cookies_absent() {
        let config = config(false);
        for bad in [
            "sid=",
            "sid=abc",
            "sid=abc.",
            "sid=a b.12",
            "sid=abc.-1",
            "sid=.12",
        ] {
            assert!(
                matches!(read(&headers(bad), &config), Incoming::Invalid),
                "{bad}"
            );
        }
        assert!(matches!(
            read(&headers("sidx=abc.1"), &config),
            Incoming::Absent
        ));
        assert!(matches!(
            read(&headers("sid=abc.12"), &config),
            Incoming::Valid { .. }
        ));
    }

    #[test]
    fn set_cookie_carries_the_configured_attributes() {
        let mut config = config(false);
        config.secure = true;
        config.domain = Some("example.com".to_owned());
        let key = SessionKey::parse("k").unwrap();
        let h = set_cookie(&config, &key, NOW + 10_000, NOW);
        let h = h.to_str().unwrap();
        assert!(h.starts_with("sid=k."), "{h}");
        for part in [
            "; Max-Age=10",
            "; Path=/",
            "; Domain=example.com",
            "; HttpOnly",
            "; Secure",
            "; SameSite=Lax",
        ] {
            assert!(h.contains(part), "{h} lacks {part}");
        }
        config.browser_session = true;
        let h = set_cookie(&config, &key, NOW + 10_000, NOW);
        assert!(!h.to_str().unwrap().contains("Max-Age"));
        let h = expire_cookie(&config);
        assert!(h.to_str().unwrap().contains("Max-Age=0"));
    }
}
