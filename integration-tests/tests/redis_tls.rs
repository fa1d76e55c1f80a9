//! `rediss://`: a session store over TLS, built from a URL by `session-config` (feature
//! `redis-tls`), against a test-owned `redis-server` with a TLS port and a self-signed
//! certificate made with `openssl` (the `#insecure` URL fragment tells the driver to accept it).
//!
//! Needs `redis-server` built with TLS (Debian's is) and `openssl` on the PATH. Without them the
//! test is skipped loudly, or fails under `CI=true`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use integration_tests::{error_chain, unreachable};
use serde_json::json;
use session_config::StoreConfig;
use session_core::{Duration, SessionData, SessionKey};

/// A `redis-server` listening only on a TLS port, killed when dropped.
struct TlsRedis {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener.local_addr().map_or(0, |a| a.port())
}

fn start() -> Result<TlsRedis, String> {
    let dir = std::env::temp_dir().join(format!("session-tls-{}", free_port()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let dir = TempDir(dir);
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("openssl: {e}"))?;
    if !made.success() {
        return Err("openssl could not make a certificate".into());
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .arg("--tls-ca-cert-file")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server: {e}"))?;
    let server = TlsRedis {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + StdDuration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("redis-server did not open its TLS port (built without TLS?)".into());
        }
        std::thread::sleep(StdDuration::from_millis(20));
    }
    Ok(server)
}

#[tokio::test]
async fn sessions_round_trip_over_rediss() {
    let server = match start() {
        Ok(server) => server,
        Err(e) => return unreachable("redis-tls", "sessions_round_trip_over_rediss", &e),
    };
    let url = format!("rediss://127.0.0.1:{}/?prefix=tls:#insecure", server.port);
    let config = StoreConfig::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
    let store = session_config::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("connecting over TLS failed: {}", error_chain(&e)));

    let key = SessionKey::generate();
    let data = SessionData::try_from(json!({"over": "tls", "n": u64::MAX}))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .set(&key, &data, Duration::minutes(5), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let back = store
        .get(&key, Duration::minutes(5), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, Some(data));
    store.destroy(&key).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.get(&key, Duration::minutes(5), false).await.ok(),
        Some(None)
    );

    // The same server through plain `redis://` does not speak TLS: a transient error, fast.
    let plain = StoreConfig::from_url(&format!("redis://127.0.0.1:{}", server.port))
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let refused = session_config::connect(&plain).await;
    assert!(refused.is_err(), "plain redis:// to a TLS port connected");
    assert!(
        started.elapsed() < StdDuration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
