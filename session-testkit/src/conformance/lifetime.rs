//! Checks of the absolute-lifetime clauses: a record whose [`Lifetime`] has ended is never
//! returned, listed or brought back, whatever its idle expiry, and no write gives a record an
//! expiry past its lifetime.

use std::time::Duration as StdDuration;

use serde_json::json;
use session_core::{
    Duration, LIFETIME_FIELD, Lifetime, Owner, OwnerInfo, SessionData, SessionKey, SessionStore,
    WriteOutcome, now_ms,
};

use crate::{Harness, data, unique_name};

const LONG: Duration = Duration::hours(1);
/// How long the short lifetimes in these checks last.
const LIFETIME_MS: i64 = 1_200;

/// `d` with an absolute lifetime ending `ms` from now.
fn ending_in(mut d: SessionData, ms: i64) -> SessionData {
    let now = now_ms();
    Lifetime {
        created: now,
        until: now + ms,
    }
    .put_into(&mut d);
    d
}

async fn outlive_lifetime() {
    tokio::time::sleep(StdDuration::from_millis(LIFETIME_MS as u64 + 300)).await;
}

async fn load(store: &dyn SessionStore, key: &SessionKey, rolling: bool) -> Option<SessionData> {
    store.get(key, LONG, rolling).await.expect("get failed")
}

/// A record past its absolute lifetime is never returned, by a plain or a rolling read, even
/// though its idle expiry (an hour) is far away; and a touch or a rolling read before the end
/// does not carry it past the end.
pub(super) async fn a_record_past_its_absolute_lifetime_is_never_returned(h: &Harness) {
    let store = h.store();
    let key = SessionKey::generate();
    let d = ending_in(data(json!({"user": "alice"})), LIFETIME_MS);
    store.write(&key, &d, LONG).await.expect("write failed");
    assert_eq!(
        load(store, &key, false).await,
        Some(d.clone()),
        "live before the end"
    );
    assert!(
        store.touch(&key, LONG).await.expect("touch failed"),
        "a live record was not found by touch"
    );
    assert_eq!(
        load(store, &key, true).await,
        Some(d),
        "live before the end"
    );
    outlive_lifetime().await;
    assert_eq!(
        load(store, &key, true).await,
        None,
        "a rolling read returned a session past its absolute lifetime"
    );
    assert_eq!(
        load(store, &key, false).await,
        None,
        "a read returned a session past its absolute lifetime"
    );
    let _ = store.touch(&key, LONG).await.expect("touch failed");
    assert_eq!(
        load(store, &key, false).await,
        None,
        "a touch brought back a session past its absolute lifetime"
    );
}

/// A write of data whose lifetime ends soon gives the record that end, not now + max age: the
/// record is gone at the end even if nobody reads it in between; a conditional write is held
/// to the same end.
pub(super) async fn writes_never_give_a_record_an_expiry_past_its_lifetime(h: &Harness) {
    let store = h.store();
    let key = SessionKey::generate();
    let d = ending_in(data(json!({"n": 1})), LIFETIME_MS);
    store.write(&key, &d, LONG).await.expect("write failed");
    let loaded = store
        .load(&key, LONG, false)
        .await
        .expect("load failed")
        .expect("live before the end");
    let mut next = loaded.data.clone();
    next.insert("n", 2).expect("insert");
    let outcome = store
        .write_if(&key, &next, LONG, loaded.version)
        .await
        .expect("write_if failed");
    assert!(matches!(outcome, WriteOutcome::Written(_)), "{outcome:?}");
    outlive_lifetime().await;
    assert_eq!(
        store.load(&key, LONG, false).await.expect("load failed"),
        None,
        "a conditionally written record outlived its absolute lifetime"
    );
    // Writing a session whose lifetime is already over stores nothing readable.
    let over = ending_in(data(json!({"n": 3})), -1);
    store.write(&key, &over, LONG).await.expect("write failed");
    assert_eq!(
        load(store, &key, false).await,
        None,
        "an ended session was readable"
    );
}

/// A malformed lifetime field counts as ended: such a record is not served.
pub(super) async fn a_malformed_lifetime_is_never_served(h: &Harness) {
    let store = h.store();
    let key = SessionKey::generate();
    let mut d = data(json!({"user": "mallory"}));
    d.insert(LIFETIME_FIELD, json!({"created": 0, "until": "never"}))
        .expect("insert");
    store.write(&key, &d, LONG).await.expect("write failed");
    assert_eq!(load(store, &key, false).await, None);
    assert_eq!(load(store, &key, true).await, None);
}

/// A session past its absolute lifetime leaves its owner's list.
pub(super) async fn an_owned_session_past_its_lifetime_is_not_listed(h: &Harness) {
    let store = h.store();
    let who = Owner::new(unique_name("lifetime-owner")).expect("valid owner");
    let mut d = data(json!({"n": 1}));
    OwnerInfo::new(who.clone(), now_ms(), 3_600_000, [])
        .expect("owner info")
        .put_into(&mut d);
    let (ending, lasting) = (SessionKey::generate(), SessionKey::generate());
    store
        .write(&ending, &ending_in(d.clone(), LIFETIME_MS), LONG)
        .await
        .expect("write failed");
    store
        .write(&lasting, &ending_in(d, 3_600_000), LONG)
        .await
        .expect("write failed");
    assert_eq!(store.list_owned(&who).await.expect("list").len(), 2);
    outlive_lifetime().await;
    let listed = store.list_owned(&who).await.expect("list");
    assert_eq!(listed.len(), 1, "an ended session is still listed");
    assert_eq!(listed[0].key(), &lasting);
}
