//! Validated, redacted session keys.

use std::fmt;

use std::borrow::Cow;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The longest key [`SessionKey::parse`] accepts, in bytes. Backends size their key columns for it
/// (the MySQL schema uses `VARCHAR(128)`).
pub const MAX_KEY_LEN: usize = 128;

/// Bytes of OS randomness in a [`SessionKey::generate`]d key: 256 bits, twice the 128-bit minimum
/// that OWASP recommends for session identifiers.
pub const GENERATED_KEY_BYTES: usize = 32;

/// A session key (the session id): 1 to [`MAX_KEY_LEN`] ASCII characters from
/// `A-Z a-z 0-9 - _ .`.
///
/// The character set is the URL-safe base64 alphabet plus `.`, which is safe in a cookie value, a
/// Redis key, a MongoDB `_id` and an ASCII SQL column without quoting or escaping.
///
/// The key is a credential: its [`Debug`] output is redacted and no error message contains it.
/// Use [`SessionKey::as_str`] deliberately when you need the value (to put it in a cookie).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// A new random key: [`GENERATED_KEY_BYTES`] bytes from the operating system's CSPRNG,
    /// base64url-encoded without padding (43 characters).
    ///
    /// # Panics
    /// If the operating system cannot provide randomness, which leaves no safe way to continue.
    pub fn generate() -> Self {
        let mut bytes = [0u8; GENERATED_KEY_BYTES];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the operating system's CSPRNG is unavailable");
        SessionKey(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Validates `s` as a session key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when `s` is empty, longer than [`MAX_KEY_LEN`], or contains a byte
    /// outside `A-Z a-z 0-9 - _ .` (which excludes control characters, spaces, quotes, `;`, and
    /// any non-ASCII text).
    pub fn parse(s: &str) -> Result<Self> {
        validate(s)?;
        Ok(SessionKey(s.to_owned()))
    }

    /// The key as a string, for building a cookie or a backend key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidKey { reason: "empty" });
    }
    if s.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKey {
            reason: "longer than MAX_KEY_LEN (128) bytes",
        });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(Error::InvalidKey {
            reason: "contains a character outside A-Z a-z 0-9 - _ .",
        });
    }
    Ok(())
}

impl std::str::FromStr for SessionKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SessionKey::parse(s)
    }
}

impl TryFrom<String> for SessionKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        validate(&s)?;
        Ok(SessionKey(s))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey(<redacted, {} chars>)", self.0.len())
    }
}

/// How a session id is kept in the store: what the middleware passes to a
/// [`SessionStore`](crate::SessionStore) as the key.
///
/// A session id is a bearer credential. With [`Sha256`](Self::Sha256), the default, the store
/// only ever sees `base64url(SHA-256(id))`: a leaked Redis dump, database backup or `SELECT`
/// holds no id that could be replayed as a cookie, and a cookie carrying a stored key is hashed
/// again and finds nothing.
///
/// The digest is plain, not keyed: ids generated here carry 256 bits of randomness, so
/// guessing an id from its digest is as hard as guessing the id, and a keyed digest would add a
/// second secret whose rotation would end every session. A plain digest also lets an operator
/// find the record of a cookie with standard tools (`printf %s "$id" | sha256sum`). An
/// application that chooses its own low-entropy ids gives up that argument.
///
/// [`Plain`](Self::Plain) stores the id as it is: for records shared with Node apps
/// (koa-redis, connect-redis, connect-mongo, express-mysql-session key their records by the
/// plain id) and for records written before ids were hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdsAtRest {
    /// `base64url(SHA-256(id))`, 43 characters, without padding (the default).
    #[default]
    Sha256,
    /// The id itself.
    Plain,
}

impl IdsAtRest {
    /// The key under which the session with id `key` is stored.
    pub fn key_at_rest(self, key: &SessionKey) -> Cow<'_, SessionKey> {
        match self {
            IdsAtRest::Sha256 => Cow::Owned(key.digest()),
            IdsAtRest::Plain => Cow::Borrowed(key),
        }
    }
}

impl SessionKey {
    /// `base64url(SHA-256(key))` without padding: the key [`IdsAtRest::Sha256`] stores.
    pub fn digest(&self) -> SessionKey {
        let digest = Sha256::digest(self.0.as_bytes());
        SessionKey(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_keys_are_valid_long_and_distinct() {
        let keys: HashSet<String> = (0..1000)
            .map(|_| SessionKey::generate().as_str().to_owned())
            .collect();
        assert_eq!(keys.len(), 1000);
        for k in &keys {
            assert_eq!(k.len(), 43);
            assert!(SessionKey::parse(k).is_ok());
        }
    }

    #[test]
    fn the_digest_at_rest_is_sha256_and_never_the_id() {
        let key = SessionKey::parse("abc").unwrap();
        // SHA-256("abc") = ba7816bf…f20015ad (FIPS 180-2 test vector), base64url.
        assert_eq!(
            IdsAtRest::Sha256.key_at_rest(&key).as_str(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert_eq!(IdsAtRest::Plain.key_at_rest(&key).as_str(), "abc");
        let generated = SessionKey::generate();
        let stored = IdsAtRest::default().key_at_rest(&generated);
        assert_ne!(stored.as_str(), generated.as_str());
        assert_eq!(stored.as_str().len(), 43);
        // Hashing a stored key again never lands on the record: a cookie built from a leaked
        // store key names nothing.
        assert_ne!(stored.digest(), *stored);
    }

    #[test]
    fn debug_never_prints_the_key() {
        let key = SessionKey::parse("secret-value-123").unwrap();
        let printed = format!("{key:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn invalid_keys_are_rejected_with_a_reason() {
        let too_long = "a".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            " ",
            "a b",
            "a\nb",
            "a\0",
            "ключ",
            "a;b",
            "a:b",
            "a/b",
            too_long.as_str(),
        ] {
            match SessionKey::parse(bad) {
                Err(Error::InvalidKey { reason }) => {
                    assert!(!reason.contains(bad) || bad.len() < 2)
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(SessionKey::parse(&"a".repeat(MAX_KEY_LEN)).is_ok());
    }
}
