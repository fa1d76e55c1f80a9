//! HTTP level: the same one-handler counter app with our middleware, with tower-sessions and
//! in koa, all on the same Redis, loaded by `wrk` at fixed connections; and ours on the memory
//! store beside the same axum app with no session layer at all (the floor).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use session_redis::RedisStore;
use session_tower::{KeyRing, Session, SessionError, SessionLayer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tower_sessions::cookie::Key;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_redis_store::fred::prelude::{
    Builder as FredBuilder, ClientLike, Config as FredConfig,
};

use crate::Settings;
use crate::backends::Urls;
use crate::measure::{BoxError, median};
use crate::redis_benchmark::host_port;
use crate::store_bench::us;
use crate::targets::Target;

const SECRET: &[u8] = b"a secret of at least 32 bytes!!!";
/// Sessions the load cycles over (one per connection).
const SESSIONS: usize = 64;
const CONNECTIONS: usize = 64;
const THREADS: usize = 2;

async fn ours_count(session: Session) -> Result<String, SessionError> {
    let n = session.get::<u64>("count").await?.unwrap_or(0) + 1;
    session.insert("count", n).await?;
    Ok(n.to_string())
}

async fn tower_count(session: tower_sessions::Session) -> String {
    let n = session
        .get::<u64>("count")
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
        + 1;
    let _ = session.insert("count", n).await;
    n.to_string()
}

/// The floor: the same route with no session layer (a constant answer of the same size).
async fn bare_count() -> &'static str {
    "1"
}

async fn serve(app: Router) -> Result<u16, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

async fn start_koa(urls: &Urls, prefix: &str) -> Result<(Child, u16), BoxError> {
    let dir = node_dir();
    if !dir.join("node_modules").exists() {
        eprintln!("  installing the koa app's packages (npm ci)");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .await?;
        if !status.success() {
            return Err("npm ci failed".into());
        }
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let (host, redis_port) = host_port(&urls.redis);
    let mut child = Command::new("node")
        .arg("app.js")
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("REDIS_HOST", host)
        .env("REDIS_PORT", redis_port.to_string())
        .env("PREFIX", prefix)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("listening") {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await;
    match ready {
        Ok(Ok(true)) => Ok((child, port)),
        _ => Err("the koa app did not start".into()),
    }
}

/// One request without a cookie: the `name=value` pairs of its `Set-Cookie` headers.
async fn new_session(port: u16) -> Result<String, BoxError> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let cookies: Vec<&str> = text
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or(""))
        })
        .collect();
    if cookies.is_empty() {
        return Err(format!("no Set-Cookie in: {}", text.lines().next().unwrap_or("")).into());
    }
    Ok(cookies.join("; "))
}

/// wrk's numbers.
#[derive(Debug, Clone, Copy, Default)]
struct Wrk {
    rps: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    non_2xx: u64,
}

async fn wrk(
    port: u16,
    cookies: &[String],
    secs: u64,
    tag: &str,
    app: &str,
) -> Result<Wrk, BoxError> {
    let mut lua = String::from("local cookies = {\n");
    for c in cookies {
        let _ = writeln!(lua, "  {:?},", c);
    }
    lua.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  \
         return wrk.format(\"GET\", \"/\", { [\"Cookie\"] = cookies[(i % #cookies) + 1] })\nend\n",
    );
    let script = std::env::temp_dir().join(format!("session-bench-{tag}-{app}.lua"));
    tokio::fs::write(&script, lua).await?;
    let out = Command::new("wrk")
        .args(["-c", &CONNECTIONS.to_string(), "-t", &THREADS.to_string()])
        .args(["-d", &format!("{secs}s"), "--latency", "-s"])
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .await?;
    let _ = tokio::fs::remove_file(&script).await;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).ok_or_else(|| format!("unexpected wrk output: {text}").into())
}

fn parse_duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1000.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1_000_000.0)
    } else {
        return None;
    };
    Some(num.parse::<f64>().ok()? * mult)
}

fn parse_wrk(text: &str) -> Option<Wrk> {
    let mut w = Wrk::default();
    for line in text.lines() {
        let t = line.trim();
        let mut f = t.split_whitespace();
        match (f.next(), f.next()) {
            (Some("50%"), Some(v)) => w.p50_us = parse_duration_us(v)?,
            (Some("90%"), Some(v)) => w.p90_us = parse_duration_us(v)?,
            (Some("99%"), Some(v)) => w.p99_us = parse_duration_us(v)?,
            (Some("Requests/sec:"), Some(v)) => w.rps = v.parse().ok()?,
            _ => {}
        }
        if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.non_2xx = v.trim().parse().unwrap_or(0);
        }
    }
    (w.rps > 0.0).then_some(w)
}

/// Deletes the keys matching `pattern` on the single Redis.
async fn delete_matching(
    conn: &mut redis::aio::MultiplexedConnection,
    pattern: &str,
) -> redis::RedisResult<usize> {
    let mut cursor: u64 = 0;
    let mut removed = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            removed += redis::cmd("DEL")
                .arg(&keys)
                .query_async::<usize>(conn)
                .await?;
        }
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}

const APPS: [&str; 5] = [
    "axum + session-tower (ours), Redis",
    "axum + tower-sessions, Redis",
    "koa + koa-session + koa-redis",
    "axum + session-tower (ours), memory store",
    "axum, no session layer",
];
/// Indexes into [`APPS`].
const OURS_MEMORY: usize = 3;
const BARE: usize = 4;

/// Runs the HTTP benchmark and returns its Markdown section and the targets it measured.
pub(crate) async fn run(settings: &Settings, urls: &Urls) -> (String, Vec<Target>) {
    match run_inner(settings, urls).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("!! HTTP benchmark failed: {e}");
            (format!("## HTTP level\n\nFailed: {e}\n\n"), Vec::new())
        }
    }
}

async fn run_inner(settings: &Settings, urls: &Urls) -> Result<(String, Vec<Target>), BoxError> {
    let tag = format!("http{}", std::process::id());
    let secs = if settings.quick { 3 } else { 10 };
    eprintln!("== HTTP (wrk -c {CONNECTIONS} -t {THREADS} -d {secs}s)");

    let ours_prefix = format!("bench:{tag}:ours:");
    let store = RedisStore::connect(&urls.redis)
        .await?
        .with_prefix(ours_prefix.clone());
    let layer = SessionLayer::new(Arc::new(store), KeyRing::new([SECRET])?);
    let ours_port = serve(Router::new().route("/", get(ours_count)).layer(layer)).await?;

    let pool = FredBuilder::from_config(FredConfig::from_url(&urls.redis)?).build_pool(6)?;
    pool.init().await?;
    let ts_layer = SessionManagerLayer::new(tower_sessions_redis_store::RedisStore::new(pool))
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(1)))
        .with_signed(Key::from(&[7u8; 64]));
    let ts_port = serve(Router::new().route("/", get(tower_count)).layer(ts_layer)).await?;

    let koa_prefix = format!("bench:{tag}:koa:");
    let (mut koa, koa_port) = start_koa(urls, &koa_prefix).await?;
    let memory = session_memory::MemoryStore::builder().build();
    let memory_layer = SessionLayer::new(Arc::new(memory), KeyRing::new([SECRET])?);
    let memory_port = serve(
        Router::new()
            .route("/", get(ours_count))
            .layer(memory_layer),
    )
    .await?;
    let bare_port = serve(Router::new().route("/", get(bare_count))).await?;
    let ports = [ours_port, ts_port, koa_port, memory_port, bare_port];

    let mut cookies: Vec<Vec<String>> = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        let mut list = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            // The bare app sets no cookie; wrk sends an unrelated one of the same size.
            list.push(if i == BARE {
                cookies[OURS_MEMORY][list.len()].clone()
            } else {
                new_session(port).await?
            });
        }
        cookies.push(list);
    }

    let mut runs: Vec<Vec<Wrk>> = vec![Vec::new(); APPS.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); APPS.len()];
    let mut memory_vs_bare = Vec::new();
    let mut loads = Vec::new();
    for rep in 0..settings.reps {
        loads.push(crate::measure::load_average());
        let mut this = [Wrk::default(); APPS.len()];
        for (i, &port) in ports.iter().enumerate() {
            let w = wrk(port, &cookies[i], secs, &tag, &i.to_string()).await?;
            eprintln!("  rep {} {:<32} {:>9.0} req/s", rep + 1, APPS[i], w.rps);
            this[i] = w;
            runs[i].push(w);
        }
        for i in 0..APPS.len() {
            ratios[i].push(this[0].rps / this[i].rps);
        }
        memory_vs_bare.push(this[OURS_MEMORY].rps / this[BARE].rps);
    }
    let _ = koa.kill().await;

    // Cleanup: our and koa's keys by prefix; tower-sessions' keys are bare session ids, which
    // its signed cookie carries after the 44-character MAC.
    let client = redis::Client::open(urls.redis.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut removed = delete_matching(&mut conn, &format!("{ours_prefix}*")).await?;
    removed += delete_matching(&mut conn, &format!("{koa_prefix}*")).await?;
    for c in &cookies[1] {
        let value = c.split_once('=').map_or("", |(_, v)| v);
        if let Some(id) = value.get(44..) {
            removed += redis::cmd("DEL")
                .arg(id)
                .query_async::<usize>(&mut conn)
                .await?;
        }
    }
    eprintln!("  removed {removed} session keys");

    let mut out = String::new();
    let _ = writeln!(out, "## HTTP level\n");
    let _ = writeln!(
        out,
        "`wrk -c {CONNECTIONS} -t {THREADS} -d {secs}s --latency`, requests cycling over {SESSIONS} \
         existing sessions (each request loads the session, increments a counter, saves it); \
         medians of {} repetition(s), apps interleaved. Load average before each repetition: {}.\n",
        settings.reps,
        loads.join("; ")
    );
    let _ = writeln!(
        out,
        "| app | requests/s | p50 µs | p90 µs | p99 µs | non-2xx | ours / this |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for i in 0..APPS.len() {
        let m = |f: fn(&Wrk) -> f64| median(&mut runs[i].iter().map(f).collect::<Vec<_>>());
        let non_2xx: u64 = runs[i].iter().map(|w| w.non_2xx).sum();
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {non_2xx} | {:.2}× |",
            APPS[i],
            m(|w| w.rps),
            us(m(|w| w.p50_us)),
            us(m(|w| w.p90_us)),
            us(m(|w| w.p99_us)),
            median(&mut ratios[i]),
        );
    }
    let memory_vs_bare = median(&mut memory_vs_bare);
    let _ = writeln!(
        out,
        "Ours on the memory store / the app with no session layer: {memory_vs_bare:.2}× (median \
         of the per-repetition ratios).\n"
    );
    let place = format!("wrk -c {CONNECTIONS}");
    let targets = vec![
        Target::at_least(
            "HTTP, memory store, vs no session layer",
            place.clone(),
            memory_vs_bare,
            0.85,
        ),
        Target::at_least(
            "HTTP, Redis, vs tower-sessions",
            place.clone(),
            median(&mut ratios[1]),
            2.0,
        ),
        Target::at_least(
            "HTTP, Redis, vs koa + koa-session + koa-redis",
            place,
            median(&mut ratios[2]),
            5.0,
        ),
    ];
    Ok((out, targets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_latencies_rates_and_errors_are_read_with_their_units() {
        let text = "  Latency Distribution\n     50%    1.85ms\n     75%    2.31ms\n     90%  900.00us\n     99%    1.20s\n  123 requests in 10.00s\n  Non-2xx or 3xx responses: 12\nRequests/sec:  12345.67\n";
        let w = parse_wrk(text).unwrap();
        assert!((w.rps - 12345.67).abs() < 1e-6);
        assert!((w.p50_us - 1850.0).abs() < 1e-6);
        assert!((w.p90_us - 900.0).abs() < 1e-6);
        assert!((w.p99_us - 1_200_000.0).abs() < 1e-3);
        assert_eq!(w.non_2xx, 12);
    }
}
