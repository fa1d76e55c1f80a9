//! The conformance suite every [`SessionStore`](session_core::SessionStore) must pass, and the harness that runs it against
//! real servers.
//!
//! [`conformance`] holds one plain `pub async fn` per clause of the contract. The
//! [`conformance_suite!`] macro stamps out one named `#[tokio::test]` per check for a backend,
//! inside a module named after the backend, so `cargo test` prints lines such as
//! `memory::rolling_get_extends_expiry` and a failure names the clause that broke.
//!
//! ```no_run
//! use std::sync::Arc;
//! use integration_tests::conformance;
//! use session_core::SessionStore;
//! use session_memory::MemoryStore;
//!
//! async fn make(_namespace: String) -> session_core::Result<Arc<dyn SessionStore>> {
//!     Ok(Arc::new(MemoryStore::builder().max_record_bytes(conformance::MAX_RECORD_BYTES).build()))
//! }
//! integration_tests::conformance_suite!(memory, make);
//! ```
//!
//! A factory gets a fresh namespace per test (a Redis key prefix, a MySQL table, a MongoDB
//! collection) so tests run in parallel without flushing shared state, and must build its store
//! with [`conformance::MAX_RECORD_BYTES`] as the record size limit.

pub mod conformance;
mod harness;
pub mod proxy;
mod servers;

pub use harness::{Harness, StoreFuture};
pub use servers::{env_url, require_all, store_url, unreachable};
pub use session_core::error_chain;

/// Stamps out one `#[tokio::test]` per conformance check, in a module named `$backend`.
///
/// `$make` is an `async fn(String) -> session_core::Result<Arc<dyn SessionStore>>` that builds a
/// store in the given namespace. When it fails with a transient error (server unreachable), the
/// test is skipped with a loud message, or fails when `CI=true` or `SESSION_TEST_REQUIRE_ALL=1`.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $make:expr) => {
        $crate::conformance_suite!(@tests $backend, $make;
            round_trip,
            missing_key_is_none,
            empty_session_round_trips,
            overwrite_replaces_data,
            destroy_then_get_is_none,
            destroy_missing_key_is_ok,
            destroy_removes_only_its_key,
            record_expires_after_max_age,
            rolling_get_extends_expiry,
            non_rolling_get_does_not_extend_expiry,
            rolling_get_on_missing_key_does_not_create,
            rolling_get_on_expired_key_returns_none,
            touch_extends_expiry,
            touch_never_writes_the_given_data,
            touch_on_missing_key_does_not_create,
            touch_on_expired_key_does_not_recreate,
            touch_on_destroyed_key_does_not_recreate,
            changed_set_after_expiry_recreates,
            json_integers_round_trip_exactly,
            json_floats_round_trip_exactly,
            json_strings_round_trip_exactly,
            json_nested_values_round_trip_exactly,
            record_at_size_limit_is_accepted,
            record_over_size_limit_is_too_large_and_keeps_old,
            invalid_keys_are_rejected,
            longest_valid_key_round_trips,
            keys_differing_only_in_case_are_distinct,
            invalid_max_age_is_rejected_and_writes_nothing,
            namespaces_are_isolated,
            concurrent_tasks_on_distinct_keys,
            concurrent_tasks_on_one_key_leave_a_written_state,
            concurrent_rolling_reads_and_touches_keep_data
        );
    };
    (@tests $backend:ident, $make:expr; $($check:ident),+) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(harness) =
                        $crate::Harness::new(stringify!($backend), stringify!($check), $make).await
                    else {
                        return;
                    };
                    $crate::conformance::$check(&harness).await;
                }
            )+
        }
    };
}
