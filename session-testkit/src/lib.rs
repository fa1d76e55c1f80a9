//! What the workspace's tests share: the conformance suite every
//! [`SessionStore`](session_core::SessionStore) must pass, the harness that runs it against real
//! servers, a fault-injecting proxy, where the servers are, and small helpers (test-owned
//! `redis-server` processes, unique names, free ports, a store that records its calls).
//!
//! Not published; `integration-tests` and the demo's tests depend on it, as sqlx's tests depend
//! on `sqlx-test`.
//!
//! [`conformance`] holds one check per clause of the contract, listed once in
//! [`conformance_suite!`]. The macro stamps out one named `#[tokio::test]` per check for a
//! backend, inside a module named after the backend, so `cargo test` prints lines such as
//! `memory::rolling_get_extends_expiry` and a failure names the clause that broke.
//!
//! ```no_run
//! use std::sync::Arc;
//! use session_core::SessionStore;
//! use session_memory::MemoryStore;
//! use session_testkit::conformance;
//!
//! async fn make(_namespace: String) -> session_core::Result<Arc<dyn SessionStore>> {
//!     Ok(Arc::new(MemoryStore::builder().max_record_bytes(conformance::MAX_RECORD_BYTES).build()))
//! }
//! session_testkit::conformance_suite!(memory, make);
//! ```
//!
//! A factory gets a fresh namespace per test (a Redis key prefix, a MySQL table, a MongoDB
//! collection) so tests run in parallel without flushing shared state, and must build its store
//! with [`conformance::MAX_RECORD_BYTES`] as the record size limit.
//!
//! | module | what |
//! |---|---|
//! | [`conformance`] | the checks, and [`conformance_suite!`] to run them on a backend |
//! | [`Harness`] | one check's store in a namespace of its own |
//! | [`proxy`] | [`FaultProxy`](proxy::FaultProxy): latency, stall, reset, refuse |
//! | [`RedisServer`] | a `redis-server` process a test starts, kills and restarts |
//! | [`CountingStore`] | a real store that records every call and its key |
//! | servers | server URLs from the environment; skip or fail when one is missing |

#![allow(
    clippy::unwrap_used,
    reason = "a test kit fails the test that called it by panicking, like the tests themselves"
)]

pub mod conformance;
mod counting;
mod data;
mod harness;
mod legacy;
mod logs;
mod names;
mod ports;
pub mod proxy;
mod redis_server;
pub mod resolution;
mod servers;

pub use counting::{CountingStore, Failure, Op};
pub use data::data;
pub use harness::{Harness, StoreFuture};
pub use legacy::LegacyRecord;
pub use logs::{CapturedLogs, capture_logs, capture_logs_and_spans};
pub use names::unique_name;
pub use ports::{free_cluster_port, free_port};
pub use redis_server::RedisServer;
pub use servers::{
    env_url, fit_name, mongo_collection, mongodb_url, mysql_url, postgres_url, reachable,
    redis_cluster_urls, redis_replicated_cluster_urls, redis_sentinel_url, redis_url, require_all,
    sqlite_dir, sqlite_file, store_url, unreachable,
};
pub use session_core::error_chain;

/// Stamps out one `#[tokio::test]` per conformance check, in a module named `$backend`.
///
/// `$make` is an `async fn(String) -> session_core::Result<Arc<dyn SessionStore>>` that builds a
/// store in the given namespace. When it fails with a transient error (server unreachable), the
/// test is skipped with a loud message, or fails when `CI=true` or `SESSION_TEST_REQUIRE_ALL=1`.
///
/// The list of checks below is the only one: the same list builds
/// [`conformance::CHECKS`], which is what makes the check functions used at all, so a check
/// missing here is dead code (an error under `clippy -D warnings`), and a unit test compares the
/// list with the functions in `conformance/checks.rs`.
#[macro_export]
macro_rules! conformance_suite {
    // The one list of checks, handed to the rule named by the tokens after `@checks`.
    (@checks $($then:tt)*) => {
        $crate::conformance_suite! { $($then)* [
            written_session_reads_back_equal,
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
            touch_reports_whether_a_live_record_was_found,
            changed_set_after_expiry_recreates,
            json_integers_round_trip_exactly,
            json_floats_round_trip_exactly,
            json_strings_round_trip_exactly,
            json_nested_values_round_trip_exactly,
            nesting_beyond_the_limit_is_refused_at_write_time,
            record_at_size_limit_is_accepted,
            record_over_size_limit_is_too_large_and_keeps_old,
            invalid_keys_are_rejected,
            longest_valid_key_round_trips,
            keys_differing_only_in_case_are_distinct,
            invalid_max_age_is_rejected_and_writes_nothing,
            namespaces_are_isolated,
            concurrent_tasks_on_distinct_keys_never_mix_up_data,
            concurrent_tasks_on_one_key_leave_a_written_state,
            concurrent_rolling_reads_and_touches_keep_data,
            a_destroy_racing_touches_and_rolling_reads_always_wins,
            a_changed_set_racing_touches_and_rolling_reads_is_never_lost,
            write_if_at_the_loaded_version_writes,
            write_if_at_another_version_is_a_conflict,
            write_if_on_a_missing_key_does_not_create,
            write_if_on_an_expired_key_does_not_recreate,
            write_if_on_a_destroyed_key_does_not_recreate,
            write_if_over_size_limit_keeps_the_record,
            every_write_changes_the_version,
            concurrent_write_ifs_on_one_version_let_exactly_one_win,
            owned_sessions_are_listed_with_their_metadata,
            listing_follows_destroys_expiry_and_owner_changes,
            regenerating_an_owned_session_moves_its_entry,
            touched_owned_sessions_stay_indexed,
            destroy_owned_ends_every_session_but_the_kept_one,
            destroy_by_handle_ends_one_session_of_its_owner,
            touches_racing_destroy_owned_never_resurrect,
            a_record_past_its_absolute_lifetime_is_never_returned,
            writes_never_give_a_record_an_expiry_past_its_lifetime,
            a_malformed_lifetime_is_never_served,
            an_owned_session_past_its_lifetime_is_not_listed,
        ] }
    };
    // Inside the kit: the table of checks.
    (@table [$($check:ident),+ $(,)?]) => {
        /// Every conformance check, in the order of the list in
        /// [`conformance_suite!`](crate::conformance_suite).
        pub const CHECKS: &[Check] = &[
            $(Check { name: stringify!($check), run: |h| Box::pin(checks::$check(h)) }),+
        ];
    };
    // In a test crate: one test per check.
    (@stamp $backend:ident, $make:expr; [$($check:ident),+ $(,)?]) => {
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
                    $crate::conformance::run(stringify!($check), &harness).await;
                }
            )+

            /// This module holds one test per conformance check, no more, no fewer.
            #[test]
            fn every_conformance_check_has_a_test() {
                $crate::conformance::assert_every_check_stamped(stringify!($backend));
            }
        }
    };
    ($backend:ident, $make:expr) => {
        $crate::conformance_suite!(@checks @stamp $backend, $make;);
    };
}
