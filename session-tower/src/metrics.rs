//! Counters a [`SessionLayer`](crate::SessionLayer) keeps, and the metrics it reports through
//! the [`metrics`] facade.
//!
//! # Metrics
//! The middleware reports to whatever recorder the application installed (a Prometheus
//! exporter, StatsD, …); with none installed every call is a no-op on a static no-op recorder,
//! so nothing is allocated or locked. Names follow the Prometheus conventions: `_total` for
//! counters, base units (`_seconds`) for the histogram, `snake_case` labels with few values.
//!
//! | name | kind | labels | counts |
//! |---|---|---|---|
//! | `session_loaded_total` | counter | — | loads that found a live session for the cookie |
//! | `session_missed_total` | counter | — | loads for a cookie whose record was not there (never written, destroyed, evicted) |
//! | `session_expired_on_read_total` | counter | — | loads for a cookie whose session had run out: past its absolute lifetime, or the record gone after the expiry the cookie carries |
//! | `session_created_total` | counter | — | new sessions written for the first time (not counting a regenerated one) |
//! | `session_renewed_total` | counter | — | sessions whose expiry was moved on (rolling, renew, a rolling load) |
//! | `session_regenerated_total` | counter | — | sessions given a fresh id (`regenerate`, `regenerate_empty` of a stored session) |
//! | `session_destroyed_total` | counter | — | stored sessions destroyed by a handler |
//! | `session_decode_failures_total` | counter | — | stored records that could not be decoded and counted as no session |
//! | `session_write_conflicts_total` | counter | `backend` | conditional writes that found the record at another version (each is retried) |
//! | `session_store_errors_total` | counter | `backend`, `kind` (`transient` / `permanent`) | failed store operations (a decode failure is counted above instead) |
//! | `session_store_operation_duration_seconds` | histogram | `backend`, `operation` | the time of each store operation, failed ones included |
//!
//! `backend` is the store's `db.system` ([`StoreInfo::system`](session_core::StoreInfo)):
//! `redis`, `mysql`, `mongodb`, `postgresql`, `sqlite`, `memory`. `operation` is the
//! [`SessionStore`](session_core::SessionStore) method: `load`, `write`, `write_if`, `touch`,
//! `destroy`, `list_owned`, `destroy_owned`, `scan`, `purge_expired`. No metric carries a session
//! id, an owner or any session data as a label.

use std::sync::atomic::{AtomicU64, Ordering};

/// `session_loaded_total`: see the [table](self#metrics).
pub const LOADED: &str = "session_loaded_total";
/// `session_missed_total`.
pub const MISSED: &str = "session_missed_total";
/// `session_expired_on_read_total`.
pub const EXPIRED_ON_READ: &str = "session_expired_on_read_total";
/// `session_created_total`.
pub const CREATED: &str = "session_created_total";
/// `session_renewed_total`.
pub const RENEWED: &str = "session_renewed_total";
/// `session_regenerated_total`.
pub const REGENERATED: &str = "session_regenerated_total";
/// `session_destroyed_total`.
pub const DESTROYED: &str = "session_destroyed_total";
/// `session_decode_failures_total`.
pub const DECODE_FAILURES: &str = "session_decode_failures_total";
/// `session_write_conflicts_total`, labelled `backend`.
pub const WRITE_CONFLICTS: &str = "session_write_conflicts_total";
/// `session_store_errors_total`, labelled `backend` and `kind`.
pub const STORE_ERRORS: &str = "session_store_errors_total";
/// `session_store_operation_duration_seconds`, labelled `backend` and `operation`.
pub const STORE_OPERATION_DURATION: &str = "session_store_operation_duration_seconds";

/// Describes every metric to the installed recorder (units and help texts, which a Prometheus
/// exporter prints as `# HELP`). Optional: the metrics are reported without it too. Call it
/// once after installing the recorder.
pub fn describe_metrics() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(LOADED, "Loads that found a live session for the cookie");
    describe_counter!(MISSED, "Loads for a cookie whose record was not there");
    describe_counter!(
        EXPIRED_ON_READ,
        "Loads for a cookie whose session had expired"
    );
    describe_counter!(CREATED, "New sessions written for the first time");
    describe_counter!(RENEWED, "Sessions whose expiry was moved on");
    describe_counter!(REGENERATED, "Sessions given a fresh id");
    describe_counter!(DESTROYED, "Stored sessions destroyed by a handler");
    describe_counter!(DECODE_FAILURES, "Stored records that could not be decoded");
    describe_counter!(
        WRITE_CONFLICTS,
        "Conditional writes that lost to a concurrent write"
    );
    describe_counter!(STORE_ERRORS, "Failed session store operations, by kind");
    describe_histogram!(
        STORE_OPERATION_DURATION,
        Unit::Seconds,
        "Session store operation latency"
    );
}

/// Counters shared by a layer and every service it builds; read them with
/// [`SessionLayer::metrics`](crate::SessionLayer::metrics). The same events also go to the
/// [`metrics`] facade (see the [table](self#metrics)).
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
        ::metrics::counter!(DECODE_FAILURES).increment(1);
    }

    pub(crate) fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected_cookie(&self) {
        self.rejected_cookies.fetch_add(1, Ordering::Relaxed);
    }
}

/// Adds one to the label-free counter `name`.
pub(crate) fn count(name: &'static str) {
    ::metrics::counter!(name).increment(1);
}
