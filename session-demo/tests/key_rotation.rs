//! Signing-key rotation and forged cookies, through the demo over one shared store. Needs no
//! server (memory store).

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;

use common::{Client, KEY_A, KEY_B, Server, config, key_of, open, record};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_signed_with_an_old_key_is_accepted_and_re_signed_with_the_new_one() {
    let Some(store) = open("memory", "rotation").await else {
        return;
    };
    let before = Server::demo(Arc::clone(&store), config(&[KEY_A])).await;
    let rotated = Server::demo(Arc::clone(&store), config(&[KEY_B, KEY_A])).await;
    let after = Server::demo(Arc::clone(&store), config(&[KEY_B])).await;

    let mut client = Client::new(&before);
    assert_eq!(client.login("test", "test").await.status, StatusCode::OK);
    let old_cookie = client.cookie.clone().unwrap_or_default();

    // Without the old key in the ring the cookie is worthless.
    let mut stranger = Client::new(&after);
    stranger.cookie = Some(old_cookie.clone());
    assert_eq!(
        stranger.get("/users/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    // With the old key second: accepted, and re-signed with the new key in the same response.
    let mut client = Client::new(&rotated);
    client.cookie = Some(old_cookie.clone());
    let r = client.get("/users/me").await;
    assert_eq!(
        (r.status, r.json),
        (StatusCode::OK, json!({ "username": "test" }))
    );
    let resigned = client.cookie.clone().unwrap_or_default();
    assert!(r.set_cookie.is_some(), "re-signed");
    assert_ne!(resigned, old_cookie);
    assert_eq!(key_of(&resigned), key_of(&old_cookie), "same session");

    // A cookie signed with the new key is not re-signed again ...
    let r = client.get("/users/me").await;
    assert_eq!((r.status, r.set_cookie), (StatusCode::OK, None));
    // ... and works once the old key is retired.
    let mut later = Client::new(&after);
    later.cookie = Some(resigned);
    let r = later.get("/users/me").await;
    assert_eq!(
        (r.status, r.json),
        (StatusCode::OK, json!({ "username": "test" }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_not_accepted() {
    let Some(store) = open("memory", "forgery").await else {
        return;
    };
    let server = Server::demo(Arc::clone(&store), config(&[KEY_B, KEY_A])).await;
    let mut victim = Client::new(&server);
    assert_eq!(victim.login("test", "test").await.status, StatusCode::OK);
    let cookie = victim.cookie.clone().unwrap_or_default();
    let key = victim.session_key();
    let mut attacker = Client::new(&server);
    assert_eq!(attacker.get("/count").await.status, StatusCode::OK);
    let attacker_cookie = attacker.cookie.clone().unwrap_or_default();

    let (payload, mac) = cookie.rsplit_once('.').unwrap_or_default();
    let flipped = {
        let mut mac = mac.to_owned();
        let last = mac.pop().unwrap_or('A');
        mac.push(if last == 'A' { 'B' } else { 'A' });
        format!("{payload}.{mac}")
    };
    // The victim's id with the attacker's (valid, but for another value) MAC.
    let (_, attacker_mac) = attacker_cookie.rsplit_once('.').unwrap_or_default();
    let transplanted = format!("{payload}.{attacker_mac}");
    // The victim's id with a later expiry and the original MAC.
    let (id, _expiry) = payload.rsplit_once('.').unwrap_or_default();
    let extended = format!("{id}.99999999999999.{mac}");

    for forged in [flipped, transplanted, extended, payload.to_owned()] {
        let mut forger = Client::new(&server);
        forger.cookie = Some(forged.clone());
        let r = forger.get("/users/me").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{forged} was accepted");
        let r = {
            forger.cookie = Some(forged.clone());
            forger.get("/count").await
        };
        assert_eq!(r.json, json!({ "count": 1 }), "{forged}: a fresh session");
        assert_ne!(forger.session_key(), key, "{forged}: never the victim's id");
    }

    // The victim is untouched.
    let stored = record(&*store, &key).await.expect("no record");
    assert_eq!(
        stored.get::<String>("user").ok().flatten().as_deref(),
        Some("test")
    );
    assert_eq!(victim.get("/users/me").await.status, StatusCode::OK);
}
