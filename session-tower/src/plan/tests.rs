//! One test per row of the crate docs' "after the handler" table, in the table's order.
//! The handler's actions are the same [`State`] transitions [`Session`](crate::Session) makes.

use super::*;

const NOW: i64 = 1_700_000_000_000;
/// The default lifetime, one day.
const DAY: i64 = 86_400_000;
const FRESH: i64 = NOW + DAY;
/// The version of every record the tests' store "found".
const LOADED: Version = Version::from_u64(7);

fn config() -> Config {
    Config::new(None)
}

fn rolling() -> Config {
    Config {
        rolling: true,
        ..config()
    }
}

fn renewing() -> Config {
    Config {
        renew: true,
        ..config()
    }
}

/// A verified cookie for a fresh key whose record expires at `expires_at`.
fn cookie(expires_at: i64, resign: bool) -> Incoming {
    Incoming::Valid {
        key: SessionKey::generate(),
        expires_at,
        resign,
    }
}

/// A cookie with more than half of its lifetime left, signed with the current key.
fn current_cookie() -> Incoming {
    cookie(NOW + DAY - 1000, false)
}

fn data(name: &str, value: u64) -> SessionData {
    let mut data = SessionData::new();
    data.insert(name, value).unwrap();
    data
}

fn cookie_key(state: &State) -> &SessionKey {
    match &state.incoming {
        Incoming::Valid { key, .. } => key,
        other => panic!("no cookie key in {other:?}"),
    }
}

/// The state after the handler read a session the store found under the cookie's key.
fn read(incoming: Incoming, rolled: bool) -> State {
    let mut state = State::new(incoming);
    state.found(data("n", 1), LOADED, rolled);
    state
}

/// The state after the handler read a session and the store had no record.
fn read_missing(incoming: Incoming) -> State {
    let mut state = State::new(incoming);
    state.start_new();
    state
}

fn plan_of<'a>(state: &'a State, config: &Config) -> Plan<'a> {
    plan(state, config, NOW).unwrap()
}

/// Expected: `touch`, and a cookie with a fresh expiry.
fn touched(key: &SessionKey) -> Plan<'_> {
    Plan {
        destroy: &[],
        store: StoreStep::Touch(key, FRESH),
        cookie: CookieStep::Set {
            key,
            expires_at: FRESH,
        },
    }
}

/// Expected: no store I/O, a cookie saying the record expires at `expires_at`.
fn cookie_only(key: &SessionKey, expires_at: i64) -> Plan<'_> {
    Plan {
        destroy: &[],
        store: StoreStep::Nothing,
        cookie: CookieStep::Set { key, expires_at },
    }
}

/// Expected: `destroy` of those records, and an expiring cookie.
fn expired(destroy: &[SessionKey]) -> Plan<'_> {
    Plan {
        destroy,
        store: StoreStep::Nothing,
        cookie: CookieStep::Expire,
    }
}

/// Expected: `destroy` of those records, an unconditional `write` of a new session, a cookie
/// with a fresh expiry.
fn created_plan<'a>(
    destroy: &'a [SessionKey],
    key: &'a SessionKey,
    data: &'a SessionData,
) -> Plan<'a> {
    Plan {
        destroy,
        store: StoreStep::Create(key, data),
        cookie: CookieStep::Set {
            key,
            expires_at: FRESH,
        },
    }
}

/// Expected: a save of `state`'s changes, conditional on the version it loaded, and a cookie
/// with a fresh expiry.
fn saved(state: &State) -> Plan<'_> {
    let key = state.key.as_ref().unwrap();
    Plan {
        destroy: &[],
        store: StoreStep::Save {
            key,
            data: state.data.as_ref().unwrap(),
            original: state.original.as_ref().unwrap(),
            version: LOADED,
        },
        cookie: CookieStep::Set {
            key,
            expires_at: FRESH,
        },
    }
}

#[test]
fn untouched_without_a_valid_cookie_plans_nothing() {
    for incoming in [Incoming::Absent, Incoming::Invalid] {
        for config in [config(), rolling(), renewing()] {
            let state = State::new(incoming.clone());
            assert_eq!(plan_of(&state, &config), Plan::nothing(&[]), "{incoming:?}");
        }
    }
}

#[test]
fn untouched_with_a_cookie_touches_when_rolling_or_renew_is_due_and_refreshes_the_cookie() {
    // Renew is due below half the lifetime: 12 h - 1 ms left.
    let aging = NOW + DAY / 2 - 1;
    for (incoming, config) in [
        (current_cookie(), rolling()),
        (cookie(aging, false), renewing()),
        // A touch refreshes the cookie, so it is re-signed on the way.
        (cookie(aging, true), renewing()),
    ] {
        let state = State::new(incoming);
        let key = cookie_key(&state);
        assert_eq!(plan_of(&state, &config), touched(key));
    }
}

#[test]
fn a_touch_or_save_that_finds_no_record_leaves_the_cookie_unrefreshed_and_uncleared() {
    let state = State::new(current_cookie());
    let config = rolling();
    let plan = plan_of(&state, &config);
    assert_eq!(plan.store, StoreStep::Touch(cookie_key(&state), FRESH));
    assert_eq!(plan.cookie(false), &CookieStep::None);
    assert_eq!(plan.cookie(true), &plan.cookie);
}

#[test]
fn untouched_with_a_current_cookie_and_neither_rolling_nor_renew_due_plans_nothing() {
    let state = State::new(current_cookie());
    assert_eq!(plan_of(&state, &config()), Plan::nothing(&[]));
    assert_eq!(plan_of(&state, &renewing()), Plan::nothing(&[]));
    // Exactly half the lifetime left: renew is not due yet.
    let state = State::new(cookie(NOW + DAY / 2, false));
    assert_eq!(plan_of(&state, &renewing()), Plan::nothing(&[]));
}

#[test]
fn untouched_with_an_older_key_cookie_is_re_signed_with_its_expiry_and_no_store_io() {
    let expires_at = NOW + 60_000;
    let state = State::new(cookie(expires_at, true));
    let key = cookie_key(&state);
    assert_eq!(plan_of(&state, &config()), cookie_only(key, expires_at));
    // Past its expiry the record is gone anyway: nothing to re-sign.
    let state = State::new(cookie(NOW, true));
    assert_eq!(plan_of(&state, &config()), Plan::nothing(&[]));
}

#[test]
fn read_and_unchanged_after_a_rolling_load_only_refreshes_the_cookie() {
    let state = read(current_cookie(), true);
    let key = cookie_key(&state);
    assert_eq!(plan_of(&state, &rolling()), cookie_only(key, FRESH));
}

#[test]
fn read_and_unchanged_with_renew_due_touches_and_refreshes_the_cookie() {
    let state = read(cookie(NOW + 1000, false), false);
    let key = cookie_key(&state);
    assert_eq!(plan_of(&state, &renewing()), touched(key));
}

#[test]
fn read_and_unchanged_with_a_current_cookie_plans_nothing() {
    let state = read(current_cookie(), false);
    assert_eq!(plan_of(&state, &config()), Plan::nothing(&[]));
    assert_eq!(plan_of(&state, &renewing()), Plan::nothing(&[]));
}

#[test]
fn read_and_unchanged_with_an_older_key_cookie_is_re_signed_without_a_write() {
    let expires_at = NOW + 60_000;
    let state = read(cookie(expires_at, true), false);
    let key = cookie_key(&state);
    assert_eq!(plan_of(&state, &config()), cookie_only(key, expires_at));
}

#[test]
fn a_change_is_written_under_the_same_id_with_a_fresh_cookie() {
    let mut inserted = read(current_cookie(), false);
    inserted.data_mut().insert("m", 2).unwrap();
    let mut removed = read(current_cookie(), false);
    removed.data_mut().remove("n");
    let mut cleared = read(current_cookie(), false);
    cleared.data_mut().clear();
    // `replace` writes even when the data is what was loaded.
    let mut replaced = read(current_cookie(), false);
    replaced.replace(data("n", 1));
    // A new session that got a value, with or without a (dead) cookie.
    let mut created = read_missing(current_cookie());
    created.data_mut().insert("m", 2).unwrap();
    let mut created_without_cookie = read_missing(Incoming::Absent);
    created_without_cookie.data_mut().insert("m", 2).unwrap();

    for state in [&inserted, &removed, &cleared, &replaced] {
        for config in [config(), rolling()] {
            assert_eq!(plan_of(state, &config), saved(state));
        }
    }
    for state in [&created, &created_without_cookie] {
        let key = state.key.as_ref().unwrap();
        let data = state.data.as_ref().unwrap();
        for config in [config(), rolling()] {
            assert_eq!(plan_of(state, &config), created_plan(&[], key, data));
        }
    }
    assert_eq!(
        inserted.key.as_ref(),
        Some(cookie_key(&inserted)),
        "same id"
    );
    assert_ne!(created.key.as_ref(), Some(cookie_key(&created)), "fresh id");
}

#[test]
fn a_change_undone_in_the_same_request_plans_as_a_read() {
    let mut state = read(current_cookie(), false);
    state.data_mut().insert("m", 2).unwrap();
    state.data_mut().remove("m");
    assert_eq!(plan_of(&state, &config()), Plan::nothing(&[]));
    let mut rolled = read(current_cookie(), true);
    rolled.data_mut().insert("n", 2).unwrap();
    rolled.data_mut().insert("n", 1).unwrap();
    let key = cookie_key(&rolled);
    assert_eq!(plan_of(&rolled, &rolling()), cookie_only(key, FRESH));
}

#[test]
fn a_new_session_left_empty_is_not_saved_and_a_stale_cookie_is_expired() {
    let state = read_missing(Incoming::Absent);
    assert_eq!(plan_of(&state, &config()), Plan::nothing(&[]));
    // A cookie whose record is missing or that did not verify is dropped.
    for incoming in [current_cookie(), Incoming::Invalid] {
        let state = read_missing(incoming);
        for config in [config(), rolling(), renewing()] {
            assert_eq!(plan_of(&state, &config), expired(&[]));
        }
    }
}

#[test]
fn destroy_destroys_the_cookies_record_and_expires_the_cookie() {
    // Without loading, and after loading the record.
    let mut unloaded = State::new(current_cookie());
    unloaded.restart(SessionData::new());
    let mut loaded = read(current_cookie(), false);
    loaded.restart(SessionData::new());
    for state in [&unloaded, &loaded] {
        let old = cookie_key(state);
        assert_eq!(
            plan_of(state, &rolling()),
            expired(std::slice::from_ref(old))
        );
    }
}

#[test]
fn destroy_without_a_record_destroys_nothing_and_expires_only_a_cookie_that_was_sent() {
    let mut no_cookie = State::new(Incoming::Absent);
    no_cookie.restart(SessionData::new());
    assert_eq!(plan_of(&no_cookie, &config()), Plan::nothing(&[]));

    let mut dead_cookie = read_missing(current_cookie());
    dead_cookie.restart(SessionData::new());
    let mut invalid_cookie = State::new(Incoming::Invalid);
    invalid_cookie.restart(SessionData::new());
    for state in [&dead_cookie, &invalid_cookie] {
        assert_eq!(plan_of(state, &config()), expired(&[]));
    }
}

#[test]
fn regenerate_destroys_the_old_id_and_writes_the_data_under_a_new_one() {
    let mut regenerated = read(current_cookie(), false);
    let kept = regenerated.data.take().unwrap();
    regenerated.restart(kept);
    // Destroying and then storing values amounts to the same.
    let mut destroyed_then_used = State::new(current_cookie());
    destroyed_then_used.restart(SessionData::new());
    destroyed_then_used.data_mut().insert("n", 1).unwrap();

    for state in [&regenerated, &destroyed_then_used] {
        let old = cookie_key(state);
        let new = state.key.as_ref().unwrap();
        assert_ne!(new, old);
        assert_eq!(
            plan_of(state, &config()),
            created_plan(std::slice::from_ref(old), new, &data("n", 1))
        );
    }
}

#[test]
fn regenerate_to_an_empty_session_destroys_the_old_id_and_expires_the_cookie() {
    // `regenerate_empty`, and `regenerate` of a session that holds nothing.
    let mut emptied = State::new(current_cookie());
    emptied.restart(SessionData::new());
    let mut empty = State::new(current_cookie());
    empty.found(SessionData::new(), LOADED, false);
    let kept = empty.data.take().unwrap();
    empty.restart(kept);
    for state in [&emptied, &empty] {
        assert_eq!(
            plan_of(state, &config()),
            expired(std::slice::from_ref(cookie_key(state)))
        );
    }
}

#[test]
fn a_failed_load_saves_nothing_and_answers_its_status() {
    let mut state = State::new(current_cookie());
    state.failed = Some(StatusCode::SERVICE_UNAVAILABLE);
    // Even a later destroy or change is not carried out.
    state.restart(data("n", 1));
    assert_eq!(
        plan(&state, &rolling(), NOW),
        Err(StatusCode::SERVICE_UNAVAILABLE)
    );
}

/// The state after the handler read a session whose absolute lifetime ends at `until`.
fn read_with_lifetime(incoming: Incoming, rolled: bool, until: i64) -> State {
    let mut stored = data("n", 1);
    session_core::Lifetime {
        created: until - 7 * DAY,
        until,
    }
    .put_into(&mut stored);
    let mut state = State::new(incoming);
    state.found(stored, LOADED, rolled);
    state
}

#[test]
fn a_rolling_read_near_the_end_of_the_absolute_lifetime_touches_back_to_that_end() {
    let until = NOW + 1000;
    let state = read_with_lifetime(current_cookie(), true, until);
    let key = state.key.as_ref().unwrap();
    assert_eq!(
        plan_of(&state, &rolling()),
        Plan {
            destroy: &[],
            store: StoreStep::Touch(key, until),
            cookie: CookieStep::Set {
                key,
                expires_at: until,
            },
        }
    );
    // Far from the end, the rolling read's own expiry stands.
    let state = read_with_lifetime(current_cookie(), true, NOW + 3 * DAY);
    assert_eq!(plan_of(&state, &rolling()).store, StoreStep::Nothing);
}

#[test]
fn a_renew_or_a_write_never_sets_a_cookie_past_the_absolute_lifetime() {
    let (aging, until) = (NOW + DAY / 4, NOW + DAY / 3);
    let state = read_with_lifetime(cookie(aging, false), false, until);
    let key = state.key.as_ref().unwrap();
    assert_eq!(
        plan_of(&state, &renewing()),
        Plan {
            destroy: &[],
            store: StoreStep::Touch(key, until),
            cookie: CookieStep::Set {
                key,
                expires_at: until
            },
        }
    );
    let until = NOW + 1000;
    let mut state = read_with_lifetime(current_cookie(), false, until);
    state.data_mut().insert("n", 2).unwrap();
    let key = state.key.clone().unwrap();
    assert_eq!(
        plan_of(&state, &config()).cookie,
        CookieStep::Set {
            key: &key,
            expires_at: until
        }
    );
}

#[test]
fn renew_stops_once_the_cookie_already_runs_to_the_end_of_the_lifetime() {
    let until = NOW + 1000;
    let state = read_with_lifetime(cookie(until, false), false, until);
    assert_eq!(plan_of(&state, &renewing()), Plan::nothing(&[]));
}

#[test]
fn a_session_about_to_be_saved_keeps_its_lifetime_or_starts_one() {
    let config = config();
    // Cleared by the handler: the stored lifetime survives the clear.
    let mut state = read_with_lifetime(current_cookie(), false, NOW + DAY);
    state.data_mut().clear();
    state.keep_lifetime(&config, NOW);
    assert_eq!(state.lifetime_until(), Some(NOW + DAY));
    // New and non-empty: a lifetime from now.
    let mut state = read_missing(Incoming::Absent);
    state.data_mut().insert("user", "alice").unwrap();
    state.keep_lifetime(&config, NOW);
    assert_eq!(
        state.lifetime_until(),
        Some(NOW + crate::DEFAULT_ABSOLUTE_LIFETIME.whole_milliseconds() as i64)
    );
    // New and empty: nothing, so it still costs no record.
    let mut state = read_missing(Incoming::Absent);
    state.keep_lifetime(&config, NOW);
    assert!(state.data().is_empty());
    // Without an absolute lifetime configured, nothing is added.
    let mut state = read_missing(Incoming::Absent);
    state.data_mut().insert("user", "alice").unwrap();
    state.keep_lifetime(
        &Config {
            absolute_lifetime: None,
            ..config
        },
        NOW,
    );
    assert_eq!(state.lifetime_until(), None);
}
