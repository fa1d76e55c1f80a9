//! The store record decoder (`session_core::decode`): any bytes a backend might hand back.
//!
//! Checks beyond "no panic": a record that decodes and that `encode` accepts again (it refuses
//! over-deep data and malformed owners) decodes to the same data and expiry, and reading the
//! owner out of decoded data never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use session_core::{OwnerInfo, Version, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(record) = decode(data) else {
        return;
    };
    let _ = OwnerInfo::from_data(&record.data);
    let Ok(bytes) = encode(
        &record.data,
        Version::generate(),
        record.expires_at,
        usize::MAX,
    ) else {
        return;
    };
    let again = decode(&bytes).expect("a record encode wrote decodes");
    assert_eq!(again.data, record.data, "data survives encode/decode");
    assert_eq!(again.expires_at, record.expires_at, "expiry survives");
    assert!(!again.version.is_legacy());
});
