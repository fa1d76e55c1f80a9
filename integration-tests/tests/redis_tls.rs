//! `rediss://`: a session store over TLS, built from a URL by `session-config` (feature
//! `redis-tls`), against a test-owned `redis-server` with a TLS port and a self-signed
//! certificate made with `rcgen` (the `#insecure` URL fragment tells the driver to accept it).
//!
//! Needs `redis-server` built with TLS (Debian's is) on the PATH. Without it the test is skipped
//! loudly, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use serde_json::json;
use session_config::StoreConfig;
use session_core::{Duration, SessionKey};
use session_testkit::{RedisServer, data, free_port, unique_name, unreachable};

/// A self-signed certificate for `localhost` and its key, as PEM files in a directory of their
/// own, removed when dropped.
struct SelfSigned {
    dir: PathBuf,
}

impl SelfSigned {
    fn new() -> SelfSigned {
        let dir = std::env::temp_dir().join(unique_name("session_tls"));
        std::fs::create_dir_all(&dir).unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let certificate = SelfSigned { dir };
        std::fs::write(certificate.cert(), made.cert.pem()).unwrap();
        std::fs::write(certificate.key(), made.signing_key.serialize_pem()).unwrap();
        certificate
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn sessions_round_trip_over_rediss() {
    let certificate = SelfSigned::new();
    let server =
        match RedisServer::start_tls(free_port(), &certificate.cert(), &certificate.key()).await {
            Ok(server) => server,
            Err(e) => return unreachable("redis-tls", "sessions_round_trip_over_rediss", &e),
        };
    let url = format!("rediss://127.0.0.1:{}/?prefix=tls:#insecure", server.port());
    let config = StoreConfig::from_url(&url).unwrap();
    let store = session_config::connect(&config).await.unwrap();

    let key = SessionKey::generate();
    let data = data(json!({"over": "tls", "n": u64::MAX}));
    store
        .set(&key, &data, Duration::minutes(5), true)
        .await
        .unwrap();
    let back = store.get(&key, Duration::minutes(5), true).await.unwrap();
    assert_eq!(back, Some(data));
    store.destroy(&key).await.unwrap();
    assert_eq!(
        store.get(&key, Duration::minutes(5), false).await.ok(),
        Some(None)
    );

    // The same server through plain `redis://` does not speak TLS: a transient error, fast.
    let plain = StoreConfig::from_url(&server.url()).unwrap();
    let started = Instant::now();
    let refused = session_config::connect(&plain).await;
    assert!(refused.is_err(), "plain redis:// to a TLS port connected");
    assert!(
        started.elapsed() < StdDuration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
