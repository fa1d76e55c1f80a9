//! A fault-injecting TCP proxy for tests: put it between a store and its real server, then
//! switch it between passing traffic, adding latency, stalling, resetting and refusing.
//!
//! ```no_run
//! use std::time::Duration;
//! use session_testkit::proxy::{FaultProxy, Mode};
//!
//! # async fn run() -> std::io::Result<()> {
//! let proxy = FaultProxy::start("127.0.0.1:6379").await?;
//! let url = format!("redis://{}", proxy.addr());
//! // … connect a store to `url`, use it …
//! proxy.set_mode(Mode::Stall).await?; // every byte is held: operations time out
//! proxy.set_mode(Mode::Pass).await?; // held bytes flow again, in order
//! proxy.set_mode(Mode::Reset).await?; // every connection gets a TCP RST, new ones too
//! proxy.set_mode(Mode::Refuse).await?; // the port is closed: "connection refused"
//! proxy.set_mode(Mode::Latency(Duration::from_millis(50))).await?;
//! # Ok(())
//! # }
//! ```
//!
//! A mode applies at once to the connections already open and to new ones:
//!
//! | mode | new connections | open connections |
//! |---|---|---|
//! | [`Mode::Pass`] | accepted, connected to the upstream | bytes forwarded both ways as they come |
//! | [`Mode::Latency`] | as `Pass` | each chunk waits the given delay before it is forwarded |
//! | [`Mode::Stall`] | accepted and held | nothing forwarded either way; held bytes flow, in order, once the mode changes back to `Pass` or `Latency` (a network black hole that heals, as TCP retransmission makes it) |
//! | [`Mode::Reset`] | accepted, then reset at once | reset (RST, via `SO_LINGER` 0), their upstream side closed |
//! | [`Mode::Refuse`] | the listening socket is closed: connection refused | reset, as when the server dies |
//!
//! Leaving `Refuse` binds the same port again. [`FaultProxy::set_mode`] returns once the mode
//! is in force for new connections (the listener is closed or bound again); open connections
//! react within microseconds. Dropping the proxy closes the listener and every connection.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does to traffic. See the [module documentation](self) for the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward every byte as it comes.
    Pass,
    /// Forward every chunk after this delay, in each direction.
    Latency(Duration),
    /// Accept connections but forward nothing, either way, until the mode changes.
    Stall,
    /// Reset every open and new connection with a TCP RST.
    Reset,
    /// Close the listening socket (new connections are refused) and reset open connections.
    Refuse,
}

/// What open connections watch: the mode, and how many times connections were told to die.
#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    /// Incremented on every switch to `Reset` or `Refuse`; a connection opened before the
    /// increment resets itself, even if the mode has already moved on.
    kills: u64,
}

/// Counters for test diagnostics.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    reset: AtomicU64,
}

type Command = (Mode, oneshot::Sender<io::Result<()>>);

/// A TCP proxy from a loopback port to one upstream address, with switchable faults.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: String,
    commands: mpsc::Sender<Command>,
    mode: watch::Receiver<State>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.upstream)
            .field("mode", &self.mode())
            .field("accepted", &self.accepted())
            .finish()
    }
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`), in
    /// [`Mode::Pass`].
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(upstream: impl Into<String>) -> io::Result<FaultProxy> {
        Self::start_on(0, upstream).await
    }

    /// As [`start`](Self::start), on loopback port `port` (0 picks a free one).
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start_on(port: u16, upstream: impl Into<String>) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let upstream = upstream.into();
        let (state_tx, state_rx) = watch::channel(State {
            mode: Mode::Pass,
            kills: 0,
        });
        let (commands, command_rx) = mpsc::channel(8);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept_loop(
            listener,
            addr,
            upstream.clone(),
            state_tx,
            command_rx,
            Arc::clone(&counters),
        ));
        Ok(FaultProxy {
            addr,
            upstream,
            commands,
            mode: state_rx,
            counters,
            task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The loopback port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The mode in force.
    pub fn mode(&self) -> Mode {
        self.mode.borrow().mode
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Connections reset so far (by `Reset`, `Refuse`, or a failed upstream connection).
    pub fn resets(&self) -> u64 {
        self.counters.reset.load(Ordering::Relaxed)
    }

    /// Switches to `mode`, for open and new connections alike; returns once new connections get
    /// the new behaviour.
    ///
    /// # Errors
    /// When leaving [`Mode::Refuse`] cannot bind the port again (something else took it), or
    /// when the proxy's task is gone.
    pub async fn set_mode(&self, mode: Mode) -> io::Result<()> {
        let (ack, done) = oneshot::channel();
        let gone = || io::Error::other("the proxy task has stopped");
        self.commands.send((mode, ack)).await.map_err(|_| gone())?;
        done.await.map_err(|_| gone())?
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns the listener and the set of connection tasks; aborting it drops
        // both, which aborts every connection.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: String,
    state: watch::Sender<State>,
    mut commands: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
) {
    let mut listener = Some(listener);
    let mut connections = JoinSet::new();
    loop {
        let accepted = async {
            match &listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => {
                let Some((mode, ack)) = command else { return };
                let result = apply(mode, &mut listener, addr, &state).await;
                let _ = ack.send(result);
            }
            accepted = accepted => {
                // Reap finished connection tasks so the set does not grow without bound.
                while connections.try_join_next().is_some() {}
                let Ok((client, _)) = accepted else { continue };
                counters.accepted.fetch_add(1, Ordering::Relaxed);
                connections.spawn(connection(
                    client,
                    upstream.clone(),
                    state.subscribe(),
                    Arc::clone(&counters),
                ));
            }
        }
    }
}

async fn apply(
    mode: Mode,
    listener: &mut Option<TcpListener>,
    addr: SocketAddr,
    state: &watch::Sender<State>,
) -> io::Result<()> {
    state.send_modify(|s| {
        s.mode = mode;
        if matches!(mode, Mode::Reset | Mode::Refuse) {
            s.kills += 1;
        }
    });
    match (mode, listener.is_some()) {
        (Mode::Refuse, true) => *listener = None,
        (Mode::Refuse, false) | (_, true) => {}
        // Tokio sets SO_REUSEADDR, so the port is free again at once even with connections
        // of the old listener in TIME_WAIT.
        (_, false) => *listener = Some(TcpListener::bind(addr).await?),
    }
    Ok(())
}

/// One client connection: connects to the upstream and pumps bytes both ways under the mode.
async fn connection(
    mut client: TcpStream,
    upstream: String,
    mut state: watch::Receiver<State>,
    counters: Arc<Counters>,
) {
    let born = state.borrow_and_update().kills;
    let mode = state.borrow().mode;
    if matches!(mode, Mode::Reset | Mode::Refuse) {
        reset(client, &counters);
        return;
    }
    let mut server = match TcpStream::connect(&upstream).await {
        Ok(server) => server,
        Err(_) => {
            // The upstream is down: the client sees what it would see from the server itself.
            reset(client, &counters);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let killed = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let up = pump(client_read, server_write, state.clone(), born);
        let down = pump(server_read, client_write, state.clone(), born);
        tokio::select! {
            _ = async { tokio::join!(up, down) } => false,
            () = killed(&mut state, born) => true,
        }
    };
    if killed {
        reset(client, &counters);
        // The server sees a closed connection, as it would when a middlebox drops it.
        drop(server);
    }
}

/// Resolves once connections born at kill count `born` must die.
async fn killed(state: &mut watch::Receiver<State>, born: u64) {
    loop {
        if state.borrow_and_update().kills > born {
            return;
        }
        if state.changed().await.is_err() {
            // The proxy is gone; its task aborts this one.
            return std::future::pending().await;
        }
    }
}

/// Forwards `from` to `to` chunk by chunk, applying the mode to each chunk, until EOF (which
/// is passed on as a half-close) or an error.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    mut state: watch::Receiver<State>,
    born: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        // Hold the chunk until the mode lets it through.
        loop {
            let current = *state.borrow_and_update();
            if current.kills > born {
                // The connection is being reset; `killed` in `connection` finishes the job.
                return std::future::pending().await;
            }
            match current.mode {
                Mode::Pass => break,
                Mode::Latency(delay) => {
                    tokio::time::sleep(delay).await;
                    break;
                }
                Mode::Stall | Mode::Reset | Mode::Refuse => {
                    if state.changed().await.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Closes `stream` with a TCP RST rather than a FIN.
fn reset(stream: TcpStream, counters: &Counters) {
    counters.reset.fetch_add(1, Ordering::Relaxed);
    // SO_LINGER with a zero timeout makes close() send RST and discard unsent data.
    let _ = stream.set_zero_linger();
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a free port.
    async fn echo() -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (addr, task)
    }

    async fn round_trip(stream: &mut TcpStream, within: Duration) -> io::Result<Vec<u8>> {
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(within, stream.read_exact(&mut buf)).await {
            Ok(r) => r.map(|_| buf.to_vec()),
            Err(_) => Err(io::Error::from(io::ErrorKind::TimedOut)),
        }
    }

    #[tokio::test]
    async fn every_mode_does_what_it_says_and_heals() {
        let (upstream, _echo) = echo().await;
        let proxy = FaultProxy::start(upstream.to_string()).await.unwrap();
        let connect = || TcpStream::connect(proxy.addr());
        let short = Duration::from_millis(200);
        let long = Duration::from_secs(2);

        let mut a = connect().await.unwrap();
        assert_eq!(round_trip(&mut a, long).await.ok(), Some(b"ping".to_vec()));

        // Stall: nothing comes back; after healing, the held bytes arrive.
        proxy.set_mode(Mode::Stall).await.unwrap();
        let stalled = round_trip(&mut a, short).await;
        assert_eq!(
            stalled.err().map(|e| e.kind()),
            Some(io::ErrorKind::TimedOut)
        );
        proxy.set_mode(Mode::Pass).await.unwrap();
        let mut buf = [0u8; 4];
        tokio::time::timeout(long, a.read_exact(&mut buf))
            .await
            .expect("held bytes never arrived")
            .unwrap();
        assert_eq!(&buf, b"ping");

        // Latency.
        proxy
            .set_mode(Mode::Latency(Duration::from_millis(100)))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert!(round_trip(&mut a, long).await.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(200));

        // Reset: the open connection and a new one are reset.
        proxy.set_mode(Mode::Reset).await.unwrap();
        assert!(round_trip(&mut a, long).await.is_err());
        let mut b = connect().await.unwrap();
        assert!(round_trip(&mut b, long).await.is_err());

        // Refuse: connecting fails.
        proxy.set_mode(Mode::Refuse).await.unwrap();
        let refused = connect().await.err().map(|e| e.kind());
        assert_eq!(refused, Some(io::ErrorKind::ConnectionRefused));

        // Healed: the same port serves again.
        proxy.set_mode(Mode::Pass).await.unwrap();
        let mut c = connect().await.unwrap();
        assert_eq!(round_trip(&mut c, long).await.ok(), Some(b"ping".to_vec()));
        assert!(proxy.resets() >= 2, "{proxy:?}");
    }
}
