//! The session cookie parser (`session-tower`'s `cookie::read`): any bytes in any number of
//! `Cookie` headers (one per input line), signed and unsigned.
//!
//! Checks beyond "no panic": an accepted signed cookie is exactly the value the layer itself
//! would set for that key and expiry (a MAC cannot be forged, so a mutated expiry, key or tag
//! must be refused), and an accepted cookie's key and expiry survive a write-and-read round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use session_tower::fuzzing::{cookie_value, read_cookie};

fuzz_target!(|data: &[u8]| {
    let headers: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for signed in [false, true] {
        let Some(Some((key, expires_at))) = read_cookie(&headers, signed) else {
            continue;
        };
        let value = cookie_value(&key, expires_at, signed).expect("an accepted key is valid");
        if signed {
            assert!(
                data.windows(value.len()).any(|w| w == value.as_bytes()),
                "a signed cookie was accepted that the layer never set"
            );
        }
        let header = format!("sid={value}");
        assert_eq!(
            read_cookie(&[header.as_bytes()], signed),
            Some(Some((key, expires_at))),
            "a cookie the layer sets reads back"
        );
    }
});
