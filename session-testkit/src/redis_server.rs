//! `redis-server` processes a test owns: started on a port of its choosing, paused, killed and
//! restarted at will, and killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to accept connections before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` this test started, without persistence, killed (SIGKILL) when dropped.
///
/// ```no_run
/// # async fn run() {
/// use session_testkit::{RedisServer, free_port};
///
/// let Ok(mut server) = RedisServer::start(free_port(), &[]).await else {
///     return; // not installed: report it with `session_testkit::unreachable`
/// };
/// let url = server.url();
/// server.signal("-STOP"); // stalled: the socket stays open, nothing answers
/// server.signal("-CONT");
/// server.kill(); // a crash
/// server.restart().await; // same port, same arguments, no data
/// # }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// The port it accepts connections on (the TLS port for [`RedisServer::start_tls`]).
    port: u16,
    args: Vec<String>,
}

impl RedisServer {
    /// Starts `redis-server --port <port>` on 127.0.0.1 with `extra` arguments, and waits until
    /// it accepts connections.
    ///
    /// # Errors
    /// When `redis-server` is not installed or exits at once (it rejected an argument).
    ///
    /// # Panics
    /// When it runs but does not accept connections within 10 s.
    pub async fn start(port: u16, extra: &[&str]) -> Result<RedisServer, String> {
        let port_arg = port.to_string();
        let mut args = vec!["--port", &port_arg];
        args.extend_from_slice(extra);
        RedisServer::start_with(port, &args).await
    }

    /// Starts `redis-server` listening only on a TLS port, with the PEM certificate `cert`
    /// (also its CA) and its key `key`, and clients that need no certificate.
    ///
    /// # Errors
    /// When `redis-server` is not installed, or exits at once (built without TLS support).
    ///
    /// # Panics
    /// When it runs but does not accept connections within 10 s.
    pub async fn start_tls(port: u16, cert: &Path, key: &Path) -> Result<RedisServer, String> {
        let (port_arg, cert, key) = (
            port.to_string(),
            cert.to_string_lossy(),
            key.to_string_lossy(),
        );
        let args = [
            "--port",
            "0",
            "--tls-port",
            &port_arg,
            "--tls-auth-clients",
            "no",
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &cert,
        ];
        RedisServer::start_with(port, &args).await
    }

    /// Starts `redis-server --sentinel` on `port`, watching the primary on `primary_port` as
    /// `master` with a quorum of 2, a down-after of 1 s and a failover timeout of 3 s. Its
    /// configuration file (which a sentinel rewrites) goes in the system's temporary directory.
    ///
    /// # Errors
    /// When `redis-server` is not installed or exits at once.
    ///
    /// # Panics
    /// When the configuration file cannot be written, or the sentinel does not accept
    /// connections within 10 s.
    pub async fn start_sentinel(
        port: u16,
        master: &str,
        primary_port: u16,
    ) -> Result<RedisServer, String> {
        let dir = std::env::temp_dir().join(format!("session-sentinel-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("sentinel.conf");
        let text = format!(
            "sentinel monitor {master} 127.0.0.1 {primary_port} 2\n\
             sentinel down-after-milliseconds {master} 1000\n\
             sentinel failover-timeout {master} 3000\n\
             sentinel parallel-syncs {master} 1\n"
        );
        std::fs::write(&conf, text).unwrap();
        let (conf, port_arg, dir) = (
            conf.to_string_lossy(),
            port.to_string(),
            dir.to_string_lossy(),
        );
        let args = [&*conf, "--sentinel", "--port", &port_arg, "--dir", &dir];
        RedisServer::start_with(port, &args).await
    }

    async fn start_with(port: u16, args: &[&str]) -> Result<RedisServer, String> {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let local_and_volatile = [
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ];
        all.extend(local_and_volatile.map(str::to_owned));
        let mut server = RedisServer {
            child: None,
            port,
            args: all,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server is not installed ({e})"))?;
        let child = self.child.insert(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Err(format!(
                    "redis-server {} exited ({status})",
                    self.args.join(" ")
                ));
            }
            assert!(
                Instant::now() < deadline,
                "own redis-server on {} did not start",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// The port it accepts connections on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, like a crash: no connection is closed politely. Waits until the process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same arguments (and no data).
    ///
    /// # Panics
    /// When it does not start.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await.unwrap();
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to this server's own process, by its pid.
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill {signal} failed");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
