//! The checks, one `async fn(&Harness)` per clause of the [`SessionStore`] contract, each
//! documented with the clause it checks. Listed once in `conformance_suite!`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::{Value, json};
use session_core::{
    Duration, Error, Loaded, MAX_KEY_LEN, MAX_NESTING_DEPTH, SessionData, SessionKey, SessionStore,
    Version, WriteOutcome,
};

use super::MAX_RECORD_BYTES;
pub(super) use super::lifetime::*;
pub(super) use super::owners::*;
use crate::{Harness, data};

const LONG: Duration = Duration::hours(1);
/// Short TTL used by expiry checks.
const SHORT: Duration = Duration::milliseconds(1500);

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(StdDuration::from_millis(ms)).await;
}

async fn get(
    store: &dyn SessionStore,
    key: &SessionKey,
    max_age: Duration,
    rolling: bool,
) -> Option<SessionData> {
    store.get(key, max_age, rolling).await.expect("get failed")
}

async fn set(
    store: &dyn SessionStore,
    key: &SessionKey,
    d: &SessionData,
    max_age: Duration,
    changed: bool,
) {
    let what = if changed {
        "set failed"
    } else {
        "touch failed"
    };
    store.set(key, d, max_age, changed).await.expect(what);
}

/// Writes `d` under `key` to live one second: the expiry checks' short-lived record.
async fn set_briefly(store: &dyn SessionStore, key: &SessionKey, d: &SessionData) {
    set(store, key, d, Duration::seconds(1), true).await;
}

/// Waits until a record [`set_briefly`] wrote just before has expired, with a margin for the
/// servers' clocks and TTL machinery.
async fn outlive_brief() {
    sleep_ms(1150).await;
}

async fn destroy(store: &dyn SessionStore, key: &SessionKey) {
    store.destroy(key).await.expect("destroy failed");
}

async fn round_trip_value(h: &Harness, what: &str, v: Value) {
    let key = SessionKey::generate();
    let d = data(v);
    set(h.store(), &key, &d, LONG, true).await;
    let back = get(h.store(), &key, LONG, false).await;
    assert_eq!(back.as_ref(), Some(&d), "{what} did not round-trip exactly");
    // Bitwise comparison for floats: PartialEq on JSON numbers would accept 0.0 == -0.0.
    if let Some(back) = back {
        assert_eq!(
            serde_json::to_string(&back).ok(),
            serde_json::to_string(&d).ok(),
            "{what} changed its serialized form"
        );
    }
}

/// A written session reads back equal.
pub(super) async fn written_session_reads_back_equal(h: &Harness) {
    round_trip_value(
        h,
        "a simple session",
        json!({"user": "alice", "visits": 3, "admin": false}),
    )
    .await;
}

/// A key never written reads as `None`.
pub(super) async fn missing_key_is_none(h: &Harness) {
    assert_eq!(
        get(h.store(), &SessionKey::generate(), LONG, false).await,
        None
    );
}

/// A session with no values is still a session.
pub(super) async fn empty_session_round_trips(h: &Harness) {
    round_trip_value(h, "an empty session", json!({})).await;
}

/// A changed `set` replaces the whole record, dropping values not in the new data.
pub(super) async fn overwrite_replaces_data(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"a": 1, "b": 2})), LONG, true).await;
    let second = data(json!({"b": 3}));
    set(h.store(), &key, &second, LONG, true).await;
    assert_eq!(get(h.store(), &key, LONG, false).await, Some(second));
}

/// After `destroy`, `get` returns `None`.
pub(super) async fn destroy_then_get_is_none(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"a": 1})), LONG, true).await;
    destroy(h.store(), &key).await;
    assert_eq!(get(h.store(), &key, LONG, false).await, None);
    assert_eq!(get(h.store(), &key, LONG, true).await, None);
}

/// Destroying a key that does not exist (twice) succeeds.
pub(super) async fn destroy_missing_key_is_ok(h: &Harness) {
    let key = SessionKey::generate();
    destroy(h.store(), &key).await;
    destroy(h.store(), &key).await;
}

/// `destroy` removes only its own key.
pub(super) async fn destroy_removes_only_its_key(h: &Harness) {
    let (a, b) = (SessionKey::generate(), SessionKey::generate());
    let da = data(json!({"who": "a"}));
    let db = data(json!({"who": "b"}));
    set(h.store(), &a, &da, LONG, true).await;
    set(h.store(), &b, &db, LONG, true).await;
    destroy(h.store(), &a).await;
    assert_eq!(get(h.store(), &a, LONG, false).await, None);
    assert_eq!(get(h.store(), &b, LONG, false).await, Some(db));
}

/// A record is gone once `max_age` has passed, even if no sweeper has run.
pub(super) async fn record_expires_after_max_age(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    set_briefly(h.store(), &key, &d).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(d),
        "expired too early"
    );
    outlive_brief().await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "returned an expired record"
    );
}

/// A rolling `get` moves the expiry to now + `max_age`.
pub(super) async fn rolling_get_extends_expiry(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    set(h.store(), &key, &d, SHORT, true).await;
    sleep_ms(900).await;
    assert_eq!(get(h.store(), &key, SHORT, true).await.as_ref(), Some(&d));
    // 1.8 s after the write, past the original 1.5 s expiry, inside the extended one.
    sleep_ms(900).await;
    assert_eq!(
        get(h.store(), &key, SHORT, false).await,
        Some(d),
        "rolling get did not extend"
    );
}

/// A non-rolling `get` leaves the expiry where it was.
pub(super) async fn non_rolling_get_does_not_extend_expiry(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    set(h.store(), &key, &d, SHORT, true).await;
    sleep_ms(900).await;
    assert_eq!(get(h.store(), &key, SHORT, false).await, Some(d));
    sleep_ms(900).await;
    assert_eq!(
        get(h.store(), &key, SHORT, false).await,
        None,
        "non-rolling get extended expiry"
    );
}

/// A rolling `get` on a missing key returns `None` and creates nothing.
pub(super) async fn rolling_get_on_missing_key_does_not_create(h: &Harness) {
    let key = SessionKey::generate();
    assert_eq!(get(h.store(), &key, LONG, true).await, None);
    assert_eq!(get(h.store(), &key, LONG, false).await, None);
}

/// A rolling `get` on an expired record returns `None` and does not revive it.
pub(super) async fn rolling_get_on_expired_key_returns_none(h: &Harness) {
    let key = SessionKey::generate();
    set_briefly(h.store(), &key, &data(json!({"a": 1}))).await;
    outlive_brief().await;
    assert_eq!(
        get(h.store(), &key, LONG, true).await,
        None,
        "rolling get returned an expired record"
    );
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "rolling get revived an expired record"
    );
}

/// `set(changed=false)` moves the expiry of an existing record.
pub(super) async fn touch_extends_expiry(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    set(h.store(), &key, &d, SHORT, true).await;
    sleep_ms(900).await;
    set(h.store(), &key, &d, SHORT, false).await;
    sleep_ms(900).await;
    assert_eq!(
        get(h.store(), &key, SHORT, false).await,
        Some(d),
        "touch did not extend expiry"
    );
}

/// `set(changed=false)` never writes the data it is given.
pub(super) async fn touch_never_writes_the_given_data(h: &Harness) {
    let key = SessionKey::generate();
    let original = data(json!({"v": "original"}));
    set(h.store(), &key, &original, LONG, true).await;
    set(h.store(), &key, &data(json!({"v": "touched"})), LONG, false).await;
    assert_eq!(get(h.store(), &key, LONG, false).await, Some(original));
}

/// `set(changed=false)` on a key never written creates nothing.
pub(super) async fn touch_on_missing_key_does_not_create(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"a": 1})), LONG, false).await;
    assert_eq!(get(h.store(), &key, LONG, false).await, None);
}

/// `set(changed=false)` after expiry does not bring the record back.
pub(super) async fn touch_on_expired_key_does_not_recreate(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    set_briefly(h.store(), &key, &d).await;
    outlive_brief().await;
    set(h.store(), &key, &d, LONG, false).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "a touch revived an expired session"
    );
}

/// A late touch after `destroy` (logout) does not bring the session back
/// (session-file-store #55).
pub(super) async fn touch_on_destroyed_key_does_not_recreate(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"user": "alice"}));
    set(h.store(), &key, &d, LONG, true).await;
    destroy(h.store(), &key).await;
    set(h.store(), &key, &d, LONG, false).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "a touch undid a logout"
    );
}

/// `touch` answers `true` for a live record (and extends it) and `false` for a missing, expired
/// or destroyed one, which it leaves absent.
pub(super) async fn touch_reports_whether_a_live_record_was_found(h: &Harness) {
    let store = h.store();
    let touch =
        |key: SessionKey| async move { store.touch(&key, LONG).await.expect("touch failed") };
    let key = SessionKey::generate();
    assert!(
        !touch(key.clone()).await,
        "touch found a record never written"
    );
    assert_eq!(get(store, &key, LONG, false).await, None);
    let d = data(json!({"a": 1}));
    set(store, &key, &d, SHORT, true).await;
    assert!(touch(key.clone()).await, "touch missed a live record");
    sleep_ms(1700).await;
    assert_eq!(
        get(store, &key, LONG, false).await,
        Some(d.clone()),
        "touch did not extend"
    );
    destroy(store, &key).await;
    assert!(!touch(key.clone()).await, "touch found a destroyed record");
    assert_eq!(
        get(store, &key, LONG, false).await,
        None,
        "touch undid a logout"
    );
    let expired = SessionKey::generate();
    set_briefly(store, &expired, &d).await;
    outlive_brief().await;
    assert!(
        !touch(expired.clone()).await,
        "touch found an expired record"
    );
    assert_eq!(get(store, &expired, LONG, false).await, None);
}

/// Data nested exactly [`MAX_NESTING_DEPTH`] levels deep round-trips; one level more is refused
/// at write time with `Error::TooDeep` and the old record stays, so no store ever holds a record
/// it cannot read back.
pub(super) async fn nesting_beyond_the_limit_is_refused_at_write_time(h: &Harness) {
    fn nested(levels: usize) -> SessionData {
        let mut v = json!("leaf");
        for i in 1..levels {
            v = if i % 2 == 0 {
                json!({ "k": v })
            } else {
                json!([v])
            };
        }
        data(json!({ "v": v }))
    }
    let key = SessionKey::generate();
    let deepest = nested(MAX_NESTING_DEPTH);
    set(h.store(), &key, &deepest, LONG, true).await;
    assert_eq!(
        get(h.store(), &key, LONG, true).await,
        Some(deepest.clone())
    );
    match h
        .store()
        .set(&key, &nested(MAX_NESTING_DEPTH + 1), LONG, true)
        .await
    {
        Err(Error::TooDeep { limit }) => assert_eq!(limit, MAX_NESTING_DEPTH),
        other => panic!("expected TooDeep, got {other:?}"),
    }
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(deepest),
        "the old record was lost"
    );
}

/// Racing calls of [`racing_rounds`]: each round, these run at the same moment as one write.
#[derive(Clone, Copy, Debug)]
enum Extend {
    Touch,
    RollingGet,
}

/// Rounds of a race check, alternating touches and rolling reads. Bounded in time as well: a
/// slow server runs fewer rounds (but at least [`MIN_RACE_ROUNDS`]).
const RACE_ROUNDS: usize = 2000;
const MIN_RACE_ROUNDS: usize = 200;
const RACE_BUDGET: StdDuration = StdDuration::from_secs(15);
/// Touches or rolling reads per round, one after another, so that one is in flight whenever
/// the racing write lands.
const EXTENDS_PER_ROUND: usize = 4;

/// Writes `v: 1` to a fresh key, then runs `write` against a burst of touches or rolling reads
/// on two tasks released together; `check` looks at the key afterwards and says what is wrong.
async fn racing_rounds<W, WF>(
    h: &Harness,
    write: W,
    check: impl Fn(Option<SessionData>) -> Option<String>,
) where
    W: Fn(Arc<dyn SessionStore>, SessionKey) -> WF,
    WF: std::future::Future<Output = ()> + Send + 'static,
{
    let started = std::time::Instant::now();
    for round in 0..RACE_ROUNDS {
        if round >= MIN_RACE_ROUNDS && started.elapsed() > RACE_BUDGET {
            break;
        }
        let how = if round % 2 == 0 {
            Extend::Touch
        } else {
            Extend::RollingGet
        };
        let key = SessionKey::generate();
        set(h.store(), &key, &data(json!({"v": 1})), LONG, true).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let writer = {
            let (barrier, write) = (Arc::clone(&barrier), write(h.shared(), key.clone()));
            tokio::spawn(async move {
                barrier.wait().await;
                write.await;
            })
        };
        let extender = {
            let (store, key) = (h.shared(), key.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..EXTENDS_PER_ROUND {
                    match how {
                        Extend::Touch => {
                            store.touch(&key, LONG).await.expect("touch failed");
                        }
                        Extend::RollingGet => {
                            store
                                .get(&key, LONG, true)
                                .await
                                .expect("rolling get failed");
                        }
                    }
                }
            })
        };
        for task in [writer, extender] {
            task.await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        }
        if let Some(wrong) = check(get(h.store(), &key, LONG, false).await) {
            panic!("round {round}, racing {how:?}s: {wrong}");
        }
    }
}

/// A `destroy` racing touches and rolling reads of the same session always wins: a late touch
/// can never undo a logout, and no call fails (MySQL: no deadlock surfaces as an error).
pub(super) async fn a_destroy_racing_touches_and_rolling_reads_always_wins(h: &Harness) {
    racing_rounds(
        h,
        |store, key| async move { store.destroy(&key).await.expect("destroy failed") },
        |left| left.map(|d| format!("the destroyed session came back: {d:?}")),
    )
    .await;
}

/// A changed `set` racing touches and rolling reads of the same session is never lost: neither
/// can write back the data they read over the newer write.
pub(super) async fn a_changed_set_racing_touches_and_rolling_reads_is_never_lost(h: &Harness) {
    let newer = data(json!({"v": 2}));
    let written = newer.clone();
    racing_rounds(
        h,
        move |store, key| {
            let written = written.clone();
            async move {
                store
                    .set(&key, &written, LONG, true)
                    .await
                    .expect("set failed")
            }
        },
        |left| {
            (left.as_ref() != Some(&newer)).then(|| format!("the newer write was lost: {left:?}"))
        },
    )
    .await;
}

/// A changed `set` after expiry writes a fresh record (tower-sessions-stores #19).
pub(super) async fn changed_set_after_expiry_recreates(h: &Harness) {
    let key = SessionKey::generate();
    set_briefly(h.store(), &key, &data(json!({"v": 1}))).await;
    outlive_brief().await;
    let fresh = data(json!({"v": 2}));
    set(h.store(), &key, &fresh, LONG, true).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(fresh),
        "a save after expiry was lost"
    );
}

/// Integers at the edges of `i64` and `u64` keep their exact value.
pub(super) async fn json_integers_round_trip_exactly(h: &Harness) {
    round_trip_value(
        h,
        "integers",
        json!({
            "u64_max": u64::MAX, "above_i64": (i64::MAX as u64) + 1, "i64_max": i64::MAX,
            "i64_min": i64::MIN, "zero": 0, "minus_one": -1, "beyond_f64": 9_007_199_254_740_993_u64,
            "list": [u64::MAX, i64::MIN, 0]
        }),
    )
    .await;
}

/// Floats keep every bit, including `-0.0`, subnormals and the extremes.
pub(super) async fn json_floats_round_trip_exactly(h: &Harness) {
    round_trip_value(
        h,
        "floats",
        json!({
            "pi": std::f64::consts::PI, "tenth": 0.1, "neg_zero": -0.0, "max": f64::MAX,
            "min": f64::MIN, "min_positive": f64::MIN_POSITIVE, "subnormal": 5e-324,
            "whole": 1.0, "big": 1e300
        }),
    )
    .await;
}

/// Strings keep every character: empty, NUL, quotes, escapes, emoji, RTL, combining marks.
pub(super) async fn json_strings_round_trip_exactly(h: &Harness) {
    round_trip_value(
        h,
        "strings",
        json!({
            "empty": "", "nul": "a\u{0}b", "quotes": "\"'`", "escapes": "\\ \n \t \r \u{7f}",
            "emoji": "🚀👩‍👩‍👧", "rtl": "مرحبا", "combining": "e\u{301}", "cjk": "会话",
            "": "empty name", "名前": "unicode name", "sql": "'; DROP TABLE sessions; --",
            "dollar.keys": {"$set": 1, "a.b": 2}
        }),
    )
    .await;
}

/// Nested objects, arrays, nulls and booleans keep their structure and order of arrays.
pub(super) async fn json_nested_values_round_trip_exactly(h: &Harness) {
    let mut deep = json!({"leaf": true});
    for i in 0..40 {
        deep = json!({ format!("level{i}"): deep, "arr": [i, null] });
    }
    round_trip_value(
        h,
        "nested values",
        json!({
            "null": null, "t": true, "f": false, "empty_obj": {}, "empty_arr": [],
            "mixed": [1, "two", 3.5, null, [], {"x": [true]}], "deep": deep
        }),
    )
    .await;
}

/// Data padded so that its encoded record is exactly `size` bytes.
fn data_of_encoded_size(size: usize) -> SessionData {
    let expiry = session_core::expires_at(LONG).unwrap();
    let base = session_core::encode(
        &data(json!({"pad": ""})),
        session_core::Version::generate(),
        expiry,
        usize::MAX,
    )
    .unwrap()
    .len();
    data(json!({"pad": "p".repeat(size - base)}))
}

/// A record of exactly the configured limit is stored.
pub(super) async fn record_at_size_limit_is_accepted(h: &Harness) {
    let key = SessionKey::generate();
    let d = data_of_encoded_size(MAX_RECORD_BYTES);
    set(h.store(), &key, &d, LONG, true).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(d),
        "a record at the limit was altered"
    );
}

/// A record above the limit fails with `TooLarge` and leaves the previous record intact.
pub(super) async fn record_over_size_limit_is_too_large_and_keeps_old(h: &Harness) {
    let key = SessionKey::generate();
    let old = data(json!({"v": "old"}));
    set(h.store(), &key, &old, LONG, true).await;
    let big = data_of_encoded_size(MAX_RECORD_BYTES + 1);
    match h.store().set(&key, &big, LONG, true).await {
        Err(Error::TooLarge { size, limit }) => {
            assert_eq!(limit, MAX_RECORD_BYTES);
            assert!(size > limit);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(old),
        "a refused write damaged the old record"
    );
}

/// Malformed keys never reach a store: parsing fails with `InvalidKey`.
pub(super) async fn invalid_keys_are_rejected(h: &Harness) {
    let too_long = "k".repeat(MAX_KEY_LEN + 1);
    for bad in [
        "",
        "has space",
        "semi;colon",
        "new\nline",
        "nul\0",
        "tab\t",
        "ünï",
        "a:b",
        "a/b",
        "*",
        &too_long,
    ] {
        match SessionKey::parse(bad) {
            Err(Error::InvalidKey { .. }) => {}
            other => panic!("{bad:?} was not rejected: {other:?}"),
        }
    }
    // The store still works for its neighbours.
    written_session_reads_back_equal(h).await;
}

/// A key of the maximum length is stored and found under its full value.
pub(super) async fn longest_valid_key_round_trips(h: &Harness) {
    let long = "Z".repeat(MAX_KEY_LEN - 1);
    let key = SessionKey::parse(&format!("{long}a")).unwrap();
    let sibling = SessionKey::parse(&format!("{long}b")).unwrap();
    let d = data(json!({"long": true}));
    set(h.store(), &key, &d, LONG, true).await;
    assert_eq!(get(h.store(), &key, LONG, false).await, Some(d));
    assert_eq!(
        get(h.store(), &sibling, LONG, false).await,
        None,
        "the key was truncated"
    );
}

/// Keys are case-sensitive (a case-insensitive SQL collation would merge these).
pub(super) async fn keys_differing_only_in_case_are_distinct(h: &Harness) {
    let base = SessionKey::generate().as_str().to_ascii_lowercase();
    let lower = SessionKey::parse(&format!("{base}x")).unwrap();
    let upper = SessionKey::parse(&format!("{}X", base.to_ascii_uppercase())).unwrap();
    let dl = data(json!({"case": "lower"}));
    let du = data(json!({"case": "upper"}));
    set(h.store(), &lower, &dl, LONG, true).await;
    assert_eq!(
        get(h.store(), &upper, LONG, false).await,
        None,
        "keys matched case-insensitively"
    );
    set(h.store(), &upper, &du, LONG, true).await;
    assert_eq!(get(h.store(), &lower, LONG, false).await, Some(dl));
    assert_eq!(get(h.store(), &upper, LONG, false).await, Some(du));
}

/// Zero and negative `max_age` are `InvalidMaxAge` on every call, and nothing is written.
pub(super) async fn invalid_max_age_is_rejected_and_writes_nothing(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"a": 1}));
    for bad in [
        Duration::ZERO,
        Duration::seconds(-5),
        session_core::MAX_MAX_AGE + Duration::days(1),
    ] {
        let set_err = h.store().set(&key, &d, bad, true).await;
        assert!(
            matches!(set_err, Err(Error::InvalidMaxAge { .. })),
            "set({bad}): {set_err:?}"
        );
        let get_err = h.store().get(&key, bad, true).await;
        assert!(
            matches!(get_err, Err(Error::InvalidMaxAge { .. })),
            "get({bad}): {get_err:?}"
        );
    }
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "an invalid max_age wrote a record"
    );
}

/// Stores in different namespaces (prefix, table, collection) never see each other's keys.
pub(super) async fn namespaces_are_isolated(h: &Harness) {
    let other = h.store_in(&h.sibling_namespace("ns_other")).await;
    let key = SessionKey::generate();
    let mine = data(json!({"owner": "first"}));
    set(h.store(), &key, &mine, LONG, true).await;
    assert_eq!(
        get(&*other, &key, LONG, false).await,
        None,
        "a second namespace saw the key"
    );
    let theirs = data(json!({"owner": "second"}));
    set(&*other, &key, &theirs, LONG, true).await;
    destroy(&*other, &key).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(mine),
        "a second namespace changed the key"
    );
}

/// 64 tasks on 64 keys: write, rolling read, touch, read back, destroy; all succeed, no mix-ups.
pub(super) async fn concurrent_tasks_on_distinct_keys_never_mix_up_data(h: &Harness) {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = h.shared();
            tokio::spawn(async move {
                let key = SessionKey::generate();
                let d = data(json!({"task": i, "pad": "x".repeat(i * 37)}));
                set(&*store, &key, &d, LONG, true).await;
                assert_eq!(get(&*store, &key, LONG, true).await.as_ref(), Some(&d));
                set(&*store, &key, &data(json!({"task": "wrong"})), LONG, false).await;
                assert_eq!(
                    get(&*store, &key, LONG, false).await,
                    Some(d),
                    "task {i} saw other data"
                );
                destroy(&*store, &key).await;
                assert_eq!(get(&*store, &key, LONG, false).await, None);
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        t.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
}

/// 64 tasks writing one key: every call succeeds and the final record is exactly one of the
/// written states, never a mix.
pub(super) async fn concurrent_tasks_on_one_key_leave_a_written_state(h: &Harness) {
    let key = Arc::new(SessionKey::generate());
    let states: Vec<SessionData> = (0..64)
        .map(|i| data(json!({"writer": i, "body": format!("{i}-").repeat(200), "n": i * 1000})))
        .collect();
    let tasks: Vec<_> = states
        .iter()
        .cloned()
        .map(|d| {
            let store = h.shared();
            let key = Arc::clone(&key);
            tokio::spawn(async move {
                set(&*store, &key, &d, LONG, true).await;
                let seen = get(&*store, &key, LONG, true).await;
                assert!(seen.is_some(), "a written key vanished");
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        t.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    let last = get(h.store(), &key, LONG, false)
        .await
        .expect("key missing at the end");
    assert!(states.contains(&last), "final state is torn: {last:?}");
}

/// Rolling reads and touches racing on one key never change or lose its data.
pub(super) async fn concurrent_rolling_reads_and_touches_keep_data(h: &Harness) {
    let key = Arc::new(SessionKey::generate());
    let d = data(json!({"stable": "yes", "n": 7}));
    set(h.store(), &key, &d, LONG, true).await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = h.shared();
            let key = Arc::clone(&key);
            let d = d.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    assert_eq!(get(&*store, &key, LONG, true).await, Some(d));
                } else {
                    set(&*store, &key, &data(json!({"stable": "no"})), LONG, false).await;
                }
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        t.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }
    assert_eq!(get(h.store(), &key, LONG, false).await, Some(d));
}

async fn load(store: &dyn SessionStore, key: &SessionKey, rolling: bool) -> Option<Loaded> {
    store.load(key, LONG, rolling).await.expect("load failed")
}

async fn write_if(
    store: &dyn SessionStore,
    key: &SessionKey,
    d: &SessionData,
    max_age: Duration,
    expected: Version,
) -> WriteOutcome {
    store
        .write_if(key, d, max_age, expected)
        .await
        .expect("write_if failed")
}

/// The version of the live record under `key`.
async fn version_of(store: &dyn SessionStore, key: &SessionKey) -> Version {
    load(store, key, false)
        .await
        .expect("the record is missing")
        .version
}

/// `write_if` at the version `load` returned writes the data with expiry now + `max_age` and
/// answers with a new version, which the next `load` returns with the new data.
pub(super) async fn write_if_at_the_loaded_version_writes(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"a": 1})), SHORT, true).await;
    let loaded = load(h.store(), &key, false).await.expect("written");
    assert_eq!(loaded.data, data(json!({"a": 1})));
    assert!(
        !loaded.version.is_legacy(),
        "a new record has the legacy version"
    );
    let second = data(json!({"a": 2, "b": [u64::MAX]}));
    let outcome = write_if(h.store(), &key, &second, LONG, loaded.version).await;
    let WriteOutcome::Written(version) = outcome else {
        panic!("write_if at the current version answered {outcome:?}");
    };
    assert_ne!(version, loaded.version, "the version did not change");
    assert_eq!(
        load(h.store(), &key, false).await,
        Some(Loaded::new(second.clone(), version))
    );
    // Past the first write's expiry: write_if set a new one.
    sleep_ms(1700).await;
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        Some(second),
        "write_if did not move the expiry to now + max_age"
    );
}

/// `write_if` at any other version answers `Conflict` and writes nothing.
pub(super) async fn write_if_at_another_version_is_a_conflict(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"v": 1})), LONG, true).await;
    let first = version_of(h.store(), &key).await;
    let newer = data(json!({"v": 2}));
    set(h.store(), &key, &newer, LONG, true).await;
    let current = version_of(h.store(), &key).await;
    for stale in [first, Version::generate(), Version::LEGACY] {
        let outcome = write_if(h.store(), &key, &data(json!({"v": 3})), LONG, stale).await;
        assert_eq!(
            outcome,
            WriteOutcome::Conflict,
            "write_if at {stale:?}, record at {current:?}"
        );
    }
    assert_eq!(
        load(h.store(), &key, false).await,
        Some(Loaded::new(newer, current)),
        "a conflicting write_if changed the record"
    );
}

/// `write_if` on a key never written answers `Missing` and creates nothing.
pub(super) async fn write_if_on_a_missing_key_does_not_create(h: &Harness) {
    let key = SessionKey::generate();
    for expected in [Version::generate(), Version::LEGACY] {
        let outcome = write_if(h.store(), &key, &data(json!({"a": 1})), LONG, expected).await;
        assert_eq!(outcome, WriteOutcome::Missing, "expected {expected:?}");
    }
    assert_eq!(get(h.store(), &key, LONG, false).await, None);
}

/// `write_if` on an expired record (even one no sweeper removed yet), at the version it had,
/// answers `Missing` and does not bring it back.
pub(super) async fn write_if_on_an_expired_key_does_not_recreate(h: &Harness) {
    let key = SessionKey::generate();
    set_briefly(h.store(), &key, &data(json!({"a": 1}))).await;
    let version = version_of(h.store(), &key).await;
    outlive_brief().await;
    let outcome = write_if(h.store(), &key, &data(json!({"a": 2})), LONG, version).await;
    assert_eq!(outcome, WriteOutcome::Missing);
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "write_if resurrected an expired session"
    );
}

/// `write_if` after a `destroy`, at the version the record had, answers `Missing` and does not
/// bring the session back: a request finishing after a logout cannot undo it.
pub(super) async fn write_if_on_a_destroyed_key_does_not_recreate(h: &Harness) {
    let key = SessionKey::generate();
    set(h.store(), &key, &data(json!({"user": "alice"})), LONG, true).await;
    let version = version_of(h.store(), &key).await;
    destroy(h.store(), &key).await;
    let outcome = write_if(
        h.store(),
        &key,
        &data(json!({"user": "alice", "n": 1})),
        LONG,
        version,
    )
    .await;
    assert_eq!(outcome, WriteOutcome::Missing);
    assert_eq!(
        get(h.store(), &key, LONG, false).await,
        None,
        "write_if resurrected a destroyed session"
    );
}

/// Every write of data (`write`, changed `set`, `write_if`) gives the record a new version,
/// even when the data is the same; touches and rolling reads keep it.
pub(super) async fn every_write_changes_the_version(h: &Harness) {
    let key = SessionKey::generate();
    let d = data(json!({"same": true}));
    let mut seen = Vec::new();
    h.store().write(&key, &d, LONG).await.expect("write failed");
    seen.push(version_of(h.store(), &key).await);
    h.store().write(&key, &d, LONG).await.expect("write failed");
    seen.push(version_of(h.store(), &key).await);
    set(h.store(), &key, &d, LONG, true).await;
    seen.push(version_of(h.store(), &key).await);
    let outcome = write_if(h.store(), &key, &d, LONG, seen[2]).await;
    assert_eq!(outcome.written(), Some(version_of(h.store(), &key).await));
    seen.extend(outcome.written());
    for (i, v) in seen.iter().enumerate() {
        assert!(!v.is_legacy(), "write {i} stored the legacy version");
        assert!(
            !seen[..i].contains(v),
            "write {i} kept an earlier version: {seen:?}"
        );
    }
    let last = seen[seen.len() - 1];
    assert!(h.store().touch(&key, LONG).await.expect("touch failed"));
    set(h.store(), &key, &d, LONG, false).await;
    assert_eq!(
        load(h.store(), &key, true).await.map(|l| l.version),
        Some(last),
        "a touch or a rolling read changed the version"
    );
    assert_eq!(version_of(h.store(), &key).await, last);
}

/// A `write_if` refused for its size (`TooLarge`) writes nothing and keeps the version.
pub(super) async fn write_if_over_size_limit_keeps_the_record(h: &Harness) {
    let key = SessionKey::generate();
    let old = data(json!({"v": "old"}));
    set(h.store(), &key, &old, LONG, true).await;
    let version = version_of(h.store(), &key).await;
    let big = data_of_encoded_size(MAX_RECORD_BYTES + 1);
    let result = h.store().write_if(&key, &big, LONG, version).await;
    assert!(
        matches!(result, Err(Error::TooLarge { .. })),
        "expected TooLarge, got {result:?}"
    );
    assert_eq!(
        load(h.store(), &key, false).await,
        Some(Loaded::new(old, version))
    );
}

/// Concurrent `write_if`s from one loaded version: exactly one is written, every other one is a
/// conflict, and the record holds the winner's data at the winner's version. This is what makes
/// lost updates impossible.
pub(super) async fn concurrent_write_ifs_on_one_version_let_exactly_one_win(h: &Harness) {
    const WRITERS: usize = 16;
    for _round in 0..5 {
        let key = SessionKey::generate();
        set(h.store(), &key, &data(json!({"n": 0})), LONG, true).await;
        let version = version_of(h.store(), &key).await;
        let tasks: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (store, key) = (h.shared(), key.clone());
                tokio::spawn(async move {
                    let d = data(json!({ "n": i + 1 }));
                    let outcome = store.write_if(&key, &d, LONG, version).await;
                    (d, outcome.expect("write_if failed"))
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (d, outcome) = task.await.expect("a writer panicked");
            match outcome {
                WriteOutcome::Written(v) => winners.push(Loaded::new(d, v)),
                WriteOutcome::Conflict => {}
                WriteOutcome::Missing => panic!("a live session read as missing"),
            }
        }
        assert_eq!(winners.len(), 1, "{} writers won", winners.len());
        assert_eq!(load(h.store(), &key, false).await, winners.pop());
    }
}
