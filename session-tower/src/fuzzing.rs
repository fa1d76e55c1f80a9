//! Entry points for the fuzz targets in the repository's `fuzz/` directory. Not part of the
//! API: hidden from the docs, and may change with any release.

use http::header::{COOKIE, HeaderMap, HeaderValue};
use session_core::SessionKey;

use crate::KeyRing;
use crate::config::Config;
use crate::cookie::{self, Incoming};

/// The signing key of the signed configuration, public so a corpus can hold genuine cookies.
pub const FUZZ_KEY: &[u8; 32] = b"fuzzing-key-fuzzing-key-fuzzing-";

fn config(signed: bool) -> Config {
    // `KeyRing::new` only fails for an empty ring or a short key; this one is neither.
    Config::new(signed.then(|| KeyRing::new([FUZZ_KEY]).ok()).flatten())
}

/// What reading the session cookie `sid` from these `Cookie` headers gives: `None` when there
/// is no session cookie, `Some(None)` for one that is ignored, `Some(Some((key, expiry)))` for
/// one that is accepted. Header values that `http` refuses (control characters) are skipped, as
/// no request could carry them.
pub fn read_cookie(headers: &[&[u8]], signed: bool) -> Option<Option<(String, i64)>> {
    let mut map = HeaderMap::new();
    for header in headers {
        if let Ok(value) = HeaderValue::from_bytes(header) {
            map.append(COOKIE, value);
        }
    }
    match cookie::read(&map, &config(signed)) {
        Incoming::Absent => None,
        Incoming::Invalid => Some(None),
        Incoming::Valid {
            key, expires_at, ..
        } => Some(Some((key.as_str().to_owned(), expires_at))),
    }
}

/// The value the layer would set for `key` (any string [`SessionKey::parse`] accepts) and
/// `expires_at`, signed with [`FUZZ_KEY`] when `signed`; `None` for a key it refuses.
pub fn cookie_value(key: &str, expires_at: i64, signed: bool) -> Option<String> {
    let key = SessionKey::parse(key).ok()?;
    Some(cookie::value(&config(signed), &key, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_the_layer_sets_is_read_back() {
        let key = SessionKey::generate();
        for signed in [false, true] {
            let value = cookie_value(key.as_str(), 42, signed).unwrap();
            let header = format!("sid={value}");
            assert_eq!(
                read_cookie(&[header.as_bytes()], signed),
                Some(Some((key.as_str().to_owned(), 42)))
            );
        }
        assert_eq!(read_cookie(&[b"sid=x.1.AAAA"], true), Some(None));
        assert_eq!(read_cookie(&[b"other=1", b"\x00"], true), None);
    }
}
