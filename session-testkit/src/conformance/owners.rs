//! Checks of the sessions-per-user clauses: `list_owned`, `destroy_owned`, `destroy_by_handle`
//! and the owner index behind them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use session_core::{
    Duration, OWNER_FIELD, OwnedSession, Owner, OwnerInfo, SessionData, SessionHandle, SessionKey,
    SessionStore, now_ms,
};

use crate::{Harness, data, unique_name};

const LONG: Duration = Duration::hours(1);
/// Rounds of the race between touches and ending a user's sessions.
const OWNER_RACE_ROUNDS: usize = 300;

fn owner(name: &str) -> Owner {
    Owner::new(unique_name(name)).expect("valid owner")
}

/// Session data owned by `who`, with one application field and a user-agent entry.
fn owned_by(who: &Owner, n: u64) -> SessionData {
    let mut d = data(json!({ "n": n }));
    OwnerInfo::new(
        who.clone(),
        now_ms(),
        LONG.whole_milliseconds() as i64,
        [("ua".to_owned(), format!("browser {n}"))],
    )
    .expect("valid owner info")
    .put_into(&mut d);
    d
}

async fn write(store: &dyn SessionStore, key: &SessionKey, d: &SessionData, max_age: Duration) {
    store.write(key, d, max_age).await.expect("write failed");
}

async fn list(store: &dyn SessionStore, who: &Owner) -> Vec<OwnedSession> {
    store.list_owned(who).await.expect("list_owned failed")
}

fn handles(sessions: &[OwnedSession]) -> BTreeSet<SessionHandle> {
    sessions.iter().map(|s| s.handle().clone()).collect()
}

fn handles_of(keys: &[&SessionKey]) -> BTreeSet<SessionHandle> {
    keys.iter().map(|k| SessionHandle::of(k)).collect()
}

async fn owned_keys(h: &Harness, who: &Owner, n: u64) -> Vec<SessionKey> {
    let mut keys = Vec::new();
    for i in 0..n {
        let key = SessionKey::generate();
        write(h.store(), &key, &owned_by(who, i), LONG).await;
        keys.push(key);
    }
    keys
}

/// `list_owned` returns every live session of the owner, named by handles that are not the ids,
/// with the owner's metadata, login time, last-seen time and expiry; other owners' sessions and
/// sessions without owner are not listed.
pub(super) async fn owned_sessions_are_listed_with_their_metadata(h: &Harness) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let before = now_ms();
    let keys = owned_keys(h, &alice, 3).await;
    let bobs = owned_keys(h, &bob, 1).await;
    write(
        h.store(),
        &SessionKey::generate(),
        &data(json!({"n": 9})),
        LONG,
    )
    .await;
    let listed = list(h.store(), &alice).await;
    assert_eq!(
        handles(&listed),
        handles_of(&keys.iter().collect::<Vec<_>>()),
        "alice's sessions"
    );
    for s in &listed {
        assert!(
            s.created_at >= before - 1000 && s.created_at <= now_ms(),
            "created_at"
        );
        assert!(
            s.expires_at > now_ms() + 3_000_000,
            "expires_at {}",
            s.expires_at
        );
        assert!(
            (s.last_seen - now_ms()).abs() < 60_000,
            "last_seen {} is not about now",
            s.last_seen
        );
        assert!(
            s.meta["ua"].starts_with("browser "),
            "metadata: {:?}",
            s.meta
        );
        let shown = format!("{s:?}");
        for key in keys.iter().chain(&bobs) {
            assert!(
                !shown.contains(key.as_str()),
                "a listing shows a session id"
            );
        }
    }
    assert_eq!(
        handles(&list(h.store(), &bob).await),
        handles_of(&[&bobs[0]])
    );
    assert!(list(h.store(), &owner("nobody")).await.is_empty());
}

/// A destroyed or expired session is never listed, and neither is one whose owner changed or
/// was cleared; the new owner lists it instead.
pub(super) async fn listing_follows_destroys_expiry_and_owner_changes(h: &Harness) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let keys = owned_keys(h, &alice, 4).await;
    h.store().destroy(&keys[0]).await.expect("destroy failed");
    write(
        h.store(),
        &keys[1],
        &owned_by(&alice, 1),
        Duration::seconds(1),
    )
    .await;
    // keys[2] moves to bob with a conditional write, keys[3] loses its owner.
    let loaded = h
        .store()
        .load(&keys[2], LONG, false)
        .await
        .unwrap()
        .unwrap();
    let moved = h
        .store()
        .write_if(&keys[2], &owned_by(&bob, 2), LONG, loaded.version)
        .await
        .unwrap();
    assert!(
        moved.written().is_some(),
        "the owner change was not written"
    );
    let mut cleared = owned_by(&alice, 3);
    cleared.remove(OWNER_FIELD);
    write(h.store(), &keys[3], &cleared, LONG).await;
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert!(
        list(h.store(), &alice).await.is_empty(),
        "alice still lists a destroyed, expired, moved or cleared session"
    );
    assert_eq!(
        handles(&list(h.store(), &bob).await),
        handles_of(&[&keys[2]])
    );
}

/// A login that rotates the id (write the data under a new key, destroy the old one) moves the
/// listing to the new id: the old id is not listed.
pub(super) async fn regenerating_an_owned_session_moves_its_entry(h: &Harness) {
    let alice = owner("alice");
    let old = SessionKey::generate();
    let d = owned_by(&alice, 1);
    write(h.store(), &old, &d, LONG).await;
    let new = SessionKey::generate();
    write(h.store(), &new, &d, LONG).await;
    h.store().destroy(&old).await.expect("destroy failed");
    assert_eq!(handles(&list(h.store(), &alice).await), handles_of(&[&new]));
}

/// Sessions kept alive by touches and rolling reads past their first expiry stay listed, and
/// ending the owner's sessions still finds them: the index never expires before its sessions.
pub(super) async fn touched_owned_sessions_stay_indexed(h: &Harness) {
    let alice = owner("alice");
    let short = Duration::milliseconds(1500);
    let (touched, rolled) = (SessionKey::generate(), SessionKey::generate());
    write(h.store(), &touched, &owned_by(&alice, 1), short).await;
    write(h.store(), &rolled, &owned_by(&alice, 2), short).await;
    for _ in 0..6 {
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        assert!(h.store().touch(&touched, short).await.unwrap(), "touch");
        assert!(h.store().get(&rolled, short, true).await.unwrap().is_some());
    }
    assert_eq!(
        handles(&list(h.store(), &alice).await),
        handles_of(&[&touched, &rolled]),
        "a session kept alive past its first expiry is no longer listed"
    );
    assert_eq!(h.store().destroy_owned(&alice, None).await.unwrap(), 2);
    assert!(
        h.store()
            .get(&touched, short, false)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store()
            .get(&rolled, short, false)
            .await
            .unwrap()
            .is_none()
    );
}

/// `destroy_owned(owner, Some(current))` ends every other session of the owner and keeps the
/// current one and other owners' sessions; `destroy_owned(owner, None)` ends the rest.
pub(super) async fn destroy_owned_ends_every_session_but_the_kept_one(h: &Harness) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let keys = owned_keys(h, &alice, 25).await;
    let bobs = owned_keys(h, &bob, 2).await;
    let ended = h
        .store()
        .destroy_owned(&alice, Some(&keys[0]))
        .await
        .unwrap();
    assert_eq!(ended, 24, "sessions ended");
    for (i, key) in keys.iter().enumerate() {
        let live = h.store().get(key, LONG, false).await.unwrap().is_some();
        assert_eq!(
            live,
            i == 0,
            "session {i} after logging out the other devices"
        );
    }
    assert_eq!(
        handles(&list(h.store(), &alice).await),
        handles_of(&[&keys[0]])
    );
    assert_eq!(h.store().destroy_owned(&alice, None).await.unwrap(), 1);
    assert!(list(h.store(), &alice).await.is_empty());
    assert_eq!(
        list(h.store(), &bob).await.len(),
        bobs.len(),
        "bob's sessions"
    );
    assert_eq!(h.store().destroy_owned(&alice, None).await.unwrap(), 0);
}

/// `destroy_by_handle` ends the one session its handle names, and only for its owner.
pub(super) async fn destroy_by_handle_ends_one_session_of_its_owner(h: &Harness) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let keys = owned_keys(h, &alice, 2).await;
    let bobs = owned_keys(h, &bob, 1).await;
    let bobs_handle = SessionHandle::of(&bobs[0]);
    assert!(
        !h.store()
            .destroy_by_handle(&alice, &bobs_handle)
            .await
            .unwrap()
    );
    assert!(
        h.store()
            .get(&bobs[0], LONG, false)
            .await
            .unwrap()
            .is_some()
    );
    let handle = SessionHandle::of(&keys[1]);
    assert!(h.store().destroy_by_handle(&alice, &handle).await.unwrap());
    assert!(
        h.store()
            .get(&keys[1], LONG, false)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store()
            .get(&keys[0], LONG, false)
            .await
            .unwrap()
            .is_some()
    );
    assert!(!h.store().destroy_by_handle(&alice, &handle).await.unwrap());
}

/// Ending a user's sessions while requests keep touching and rolling them: the sessions end,
/// and no touch or rolling read brings one back or keeps it listed.
pub(super) async fn touches_racing_destroy_owned_never_resurrect(h: &Harness) {
    let alice = owner("alice");
    for round in 0..OWNER_RACE_ROUNDS {
        let key = SessionKey::generate();
        write(h.store(), &key, &owned_by(&alice, 1), LONG).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let ender = {
            let (store, barrier, alice) = (h.shared(), Arc::clone(&barrier), alice.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .destroy_owned(&alice, None)
                    .await
                    .expect("destroy_owned")
            })
        };
        let toucher = {
            let (store, key) = (h.shared(), key.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                for i in 0..3 {
                    if (round + i) % 2 == 0 {
                        store.touch(&key, LONG).await.expect("touch");
                    } else {
                        store.get(&key, LONG, true).await.expect("rolling get");
                    }
                }
            })
        };
        let ended = ender.await.expect("ender panicked");
        toucher.await.expect("toucher panicked");
        assert_eq!(ended, 1, "round {round}: sessions ended");
        assert!(
            h.store().get(&key, LONG, false).await.unwrap().is_none(),
            "round {round}: a touch resurrected an ended session"
        );
        assert!(
            list(h.store(), &alice).await.is_empty(),
            "round {round}: an ended session is still listed"
        );
    }
}
