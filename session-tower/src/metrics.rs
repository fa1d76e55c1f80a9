//! Counters a [`SessionLayer`](crate::SessionLayer) keeps.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by a layer and every service it builds; read them with
/// [`SessionLayer::metrics`](crate::SessionLayer::metrics).
#[derive(Debug, Default)]
pub struct SessionMetrics {
    decode_errors: AtomicU64,
    store_errors: AtomicU64,
    rejected_cookies: AtomicU64,
}

impl SessionMetrics {
    /// Stored records that could not be decoded ([`Error::Decode`](session_core::Error::Decode))
    /// and were therefore treated as "no session".
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.load(Ordering::Relaxed)
    }

    /// Store operations that failed (and turned the response into a 503 or 500).
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    /// Session cookies ignored without a store lookup: bad signature, malformed value or an
    /// invalid session key.
    pub fn rejected_cookies(&self) -> u64 {
        self.rejected_cookies.load(Ordering::Relaxed)
    }

    pub(crate) fn decode_error(&self) {
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected_cookie(&self) {
        self.rejected_cookies.fetch_add(1, Ordering::Relaxed);
    }
}
