//! The check of [`ExpiryResolution`] every database store with the setting runs: a rolling
//! read rewrites the stored expiry only when it lags by more than the resolution, the exact
//! mode rewrites it every time, and an expired session is never returned in either.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use session_core::{Duration, ExpiryResolution, SessionKey, SessionStore, now_ms};

use crate::data;

/// `store(resolution)` gives stores of one table in the resolution asked for; `raw_expiry(id)`
/// reads the table's expiry column of row `id` directly.
///
/// # Panics
/// When a store operation fails or the stored expiries are not as described.
pub async fn rolling_reads_rewrite_only_a_lagging_expiry<R, F>(
    store: impl Fn(ExpiryResolution) -> Arc<dyn SessionStore>,
    raw_expiry: R,
) where
    R: Fn(String) -> F,
    F: Future<Output = i64>,
{
    let hour = Duration::hours(1);
    let hour_ms = 3_600_000;
    let one_second = store(ExpiryResolution::Fixed(StdDuration::from_secs(1)));
    let key = SessionKey::generate();
    one_second
        .write(&key, &data(json!({"user": "ann"})), hour)
        .await
        .unwrap();
    let written = raw_expiry(key.as_str().to_owned()).await;

    // Fresh: the read returns the session and leaves the expiry where the write put it.
    let loaded = one_second.load(&key, hour, true).await.unwrap();
    assert_eq!(
        loaded
            .unwrap()
            .data
            .get::<String>("user")
            .unwrap()
            .as_deref(),
        Some("ann")
    );
    assert_eq!(raw_expiry(key.as_str().to_owned()).await, written);

    // Lagging by more than the resolution: the read moves it to now + max-age.
    tokio::time::sleep(StdDuration::from_millis(1_300)).await;
    let before = now_ms();
    assert!(one_second.load(&key, hour, true).await.unwrap().is_some());
    let moved = raw_expiry(key.as_str().to_owned()).await;
    assert!(
        moved >= before + hour_ms && moved <= now_ms() + hour_ms,
        "a lagging expiry was not moved to now + max-age: written {written}, now {moved}"
    );

    // The exact mode rewrites it on every rolling read.
    let exact = store(ExpiryResolution::Exact);
    tokio::time::sleep(StdDuration::from_millis(20)).await;
    let before = now_ms();
    assert!(exact.load(&key, hour, true).await.unwrap().is_some());
    let rewritten = raw_expiry(key.as_str().to_owned()).await;
    assert!(
        rewritten > moved && rewritten >= before + hour_ms,
        "the exact mode left the expiry at {moved} (now {rewritten})"
    );

    // The default on a day-long session: reads within its minute of slack write nothing.
    let auto = store(ExpiryResolution::Auto);
    let day = Duration::days(1);
    auto.write(&key, &data(json!({"user": "ann"})), day)
        .await
        .unwrap();
    let written = raw_expiry(key.as_str().to_owned()).await;
    for _ in 0..3 {
        assert!(auto.load(&key, day, true).await.unwrap().is_some());
    }
    assert_eq!(raw_expiry(key.as_str().to_owned()).await, written);

    // Expired is expired, however large the resolution: no mode returns or extends it.
    let lax = store(ExpiryResolution::Fixed(StdDuration::from_secs(3_600)));
    let short = SessionKey::generate();
    let max_age = Duration::milliseconds(300);
    lax.write(&short, &data(json!({"user": "bob"})), max_age)
        .await
        .unwrap();
    assert!(lax.load(&short, max_age, true).await.unwrap().is_some());
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    for s in [&lax, &exact, &auto, &one_second] {
        assert!(s.load(&short, max_age, true).await.unwrap().is_none());
        assert!(s.load(&short, hour, true).await.unwrap().is_none());
    }
    one_second.destroy(&key).await.unwrap();
    one_second.destroy(&short).await.unwrap();
}
