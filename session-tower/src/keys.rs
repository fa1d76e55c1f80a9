//! The signing key ring: HMAC-SHA256, sign with the first key, verify with any.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::LayerError;

type HmacSha256 = Hmac<Sha256>;

/// The shortest signing key accepted, in bytes: 256 bits, the output size of SHA-256. A shorter
/// key makes the MAC only as strong as the key.
pub const MIN_KEY_BYTES: usize = 32;

/// Length of a base64url-encoded HMAC-SHA256 tag (32 bytes, no padding).
pub(crate) const MAC_B64_LEN: usize = 43;

/// The keys that sign and verify session cookies, newest first (koa's keygrip).
///
/// The first key signs every cookie the layer sets; a cookie signed with any key of the ring is
/// accepted, and one signed with an older key is re-signed with the first key in the same
/// response. To rotate without logging anybody out, put the new key first and keep the old one
/// second until every cookie signed with it has expired.
///
/// The [`Debug`] output shows only the number of keys.
///
/// ```
/// use session_tower::KeyRing;
///
/// let ring = KeyRing::new([b"a-new-key-of-at-least-32-bytes!!", b"the-old-key-still-accepted-here!"])?;
/// assert_eq!(ring.len(), 2);
/// assert!(KeyRing::new([b"short"]).is_err());
/// # Ok::<(), session_tower::LayerError>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    // Each key's HMAC state is initialised once; signing clones it.
    keys: Arc<[HmacSha256]>,
}

/// Which key of the ring verified a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The first key: nothing to do.
    Current,
    /// An older key: the cookie must be re-signed.
    Old,
}

impl KeyRing {
    /// A key ring from `keys`, newest (signing) key first.
    ///
    /// # Errors
    /// [`LayerError::NoKeys`] for an empty list; [`LayerError::KeyTooShort`] for a key shorter
    /// than [`MIN_KEY_BYTES`].
    pub fn new<I, K>(keys: I) -> Result<Self, LayerError>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let mut macs = Vec::new();
        for (index, key) in keys.into_iter().enumerate() {
            let key = key.as_ref();
            if key.len() < MIN_KEY_BYTES {
                return Err(LayerError::KeyTooShort {
                    index,
                    len: key.len(),
                    min: MIN_KEY_BYTES,
                });
            }
            // HMAC accepts keys of any length, so this cannot fail.
            let mac = HmacSha256::new_from_slice(key).map_err(|_| LayerError::NoKeys)?;
            macs.push(mac);
        }
        if macs.is_empty() {
            return Err(LayerError::NoKeys);
        }
        Ok(KeyRing { keys: macs.into() })
    }

    /// Number of keys in the ring.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a ring has at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The base64url MAC of `message` under the first key.
    pub(crate) fn sign(&self, message: &[u8]) -> String {
        let mut mac = self.keys[0].clone();
        mac.update(message);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Checks `tag` (base64url) against every key in turn, in constant time per key.
    pub(crate) fn verify(&self, message: &[u8], tag: &str) -> Option<Verified> {
        if tag.len() != MAC_B64_LEN {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.keys.iter().enumerate().find_map(|(i, key)| {
            let mut mac = key.clone();
            mac.update(message);
            // `verify_slice` compares in constant time (subtle), so the position of the first
            // wrong byte leaks nothing.
            mac.verify_slice(&tag).ok().map(|()| {
                if i == 0 {
                    Verified::Current
                } else {
                    Verified::Old
                }
            })
        })
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing(<{} redacted keys>)", self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &[u8] = b"old-key-old-key-old-key-old-key-";
    const NEW: &[u8] = b"new-key-new-key-new-key-new-key-";

    #[test]
    fn keys_shorter_than_32_bytes_are_rejected_with_their_index() {
        let err = KeyRing::new([NEW, &b"x".repeat(31)]).err();
        assert!(
            matches!(
                err,
                Some(LayerError::KeyTooShort {
                    index: 1,
                    len: 31,
                    min: 32
                })
            ),
            "{err:?}"
        );
        assert!(matches!(
            KeyRing::new(Vec::<Vec<u8>>::new()),
            Err(LayerError::NoKeys)
        ));
    }

    #[test]
    fn the_first_key_signs_and_any_key_verifies() -> Result<(), LayerError> {
        let old = KeyRing::new([OLD])?;
        let rotated = KeyRing::new([NEW, OLD])?;
        let tag = old.sign(b"sid=abc");
        assert_eq!(rotated.verify(b"sid=abc", &tag), Some(Verified::Old));
        let tag = rotated.sign(b"sid=abc");
        assert_eq!(rotated.verify(b"sid=abc", &tag), Some(Verified::Current));
        assert_eq!(old.verify(b"sid=abc", &tag), None);
        assert_eq!(rotated.verify(b"sid=abd", &tag), None);
        Ok(())
    }

    #[test]
    fn debug_hides_the_keys() -> Result<(), LayerError> {
        let ring = KeyRing::new([NEW])?;
        assert_eq!(format!("{ring:?}"), "KeyRing(<1 redacted keys>)");
        Ok(())
    }
}
