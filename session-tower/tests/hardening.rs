//! Cookie hardening through the real service stack: the `__Host-` and `__Secure-` prefixes,
//! `SameSite=None` and `Partitioned` need `Secure`, checked by `validate` in any call order and
//! when the layer is applied. Needs no server.
#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod support;

use std::sync::Arc;

use session_core::SessionStore;
use session_memory::MemoryStore;
use session_tower::{LayerError, SameSite, SessionLayer};

use support::{Browser, NEW, app, counted, signed};

fn layer() -> SessionLayer {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    signed(store, &[NEW])
}

#[tokio::test]
async fn a_host_prefixed_session_round_trips_with_the_required_attributes() {
    let layer = signed(counted(), &[NEW])
        .with_key("__Host-sid")
        .unwrap()
        .with_secure(true)
        .validate()
        .unwrap();
    let app = app(layer);
    let mut browser = Browser::default();
    let r = browser.get(&app, "/incr").await;
    let set = r.set_cookie.unwrap();
    assert!(set.starts_with("__Host-sid="), "{set}");
    assert!(
        set.contains("; Path=/;") && set.contains("; Secure"),
        "{set}"
    );
    assert!(!set.contains("Domain"), "{set}");
    assert_eq!(browser.get(&app, "/incr").await.body, "2");
}

#[test]
fn the_rules_hold_whatever_order_the_options_are_set_in() {
    // Secure set after the prefixed name, and before it: both are valid.
    let after = layer()
        .with_key("__Host-sid")
        .unwrap()
        .with_same_site(SameSite::None)
        .with_partitioned(true)
        .with_secure(true);
    assert!(after.validate().is_ok());
    let before = layer()
        .with_secure(true)
        .with_partitioned(true)
        .with_same_site(SameSite::None)
        .with_key("__Host-sid")
        .unwrap();
    assert!(before.validate().is_ok());
    // Turning Secure off at the end breaks the first rule again.
    let off = layer()
        .with_secure(true)
        .with_key("__Secure-sid")
        .unwrap()
        .with_secure(false);
    assert!(matches!(
        off.validate(),
        Err(LayerError::PrefixRequiresSecure {
            prefix: "__Secure-"
        })
    ));
}

/// Whether an error is the one a case expects.
type Expected = fn(&LayerError) -> bool;

#[test]
fn each_broken_rule_is_its_own_typed_error() {
    let host = || layer().with_key("__Host-sid").unwrap().with_secure(true);
    let cases: Vec<(SessionLayer, Expected)> = vec![
        (layer().with_key("__Host-sid").unwrap(), |e| {
            matches!(e, LayerError::PrefixRequiresSecure { prefix: "__Host-" })
        }),
        (host().with_path("/app").unwrap(), |e| {
            matches!(e, LayerError::HostPrefixRequiresRootPath)
        }),
        (host().with_domain("example.com").unwrap(), |e| {
            matches!(e, LayerError::HostPrefixForbidsDomain)
        }),
        (layer().with_same_site(SameSite::None), |e| {
            matches!(e, LayerError::SameSiteNoneRequiresSecure)
        }),
        (layer().with_partitioned(true), |e| {
            matches!(e, LayerError::PartitionedRequiresSecure)
        }),
    ];
    for (layer, expected) in cases {
        let e = layer.validate().unwrap_err();
        assert!(expected(&e), "{e:?}");
        // The message names the rule, for the start-up error a deployment sees.
        assert!(e.to_string().contains("must") || e.to_string().contains("requires"));
    }
}

#[test]
#[should_panic(expected = "invalid session layer: SameSite=None requires a Secure cookie")]
fn applying_a_layer_that_breaks_a_rule_panics_instead_of_serving_dropped_cookies() {
    let _ = app(layer().with_same_site(SameSite::None));
}

#[tokio::test]
async fn partitioned_is_set_on_live_and_expiring_cookies() {
    let layer = signed(counted(), &[NEW])
        .with_secure(true)
        .with_same_site(SameSite::None)
        .with_partitioned(true)
        .validate()
        .unwrap();
    let app = app(layer);
    let mut browser = Browser::default();
    let set = browser.get(&app, "/incr").await.set_cookie.unwrap();
    assert!(set.contains("; SameSite=None; Partitioned"), "{set}");
    let r = browser.get(&app, "/destroy").await;
    assert!(r.expires_the_cookie());
    assert!(r.set_cookie.unwrap().contains("; Partitioned"));

    let plain = app_default().await;
    assert!(!plain.contains("Partitioned"), "{plain}");
}

async fn app_default() -> String {
    let mut browser = Browser::default();
    browser
        .get(&app(layer()), "/incr")
        .await
        .set_cookie
        .unwrap()
}
