//! `cargo run -p session-demo [-- --port N]`: the demo on http://127.0.0.1:3000.
//!
//! Environment: `SESSION_STORE_URL` picks the store (memory when unset), `PORT` the port
//! (`--port` wins), `SESSION_KEYS` the comma-separated signing keys, newest first, each at least
//! 32 bytes (random at each start when unset, which logs everybody out on restart).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use session_demo::{DemoConfig, Users, app};
use session_tower::KeyRing;

const DEFAULT_PORT: u16 = 3000;
const USAGE: &str = "usage: session-demo [--port N]

Serves the session demo on http://127.0.0.1:3000 (or the port given by --port or PORT).
  SESSION_STORE_URL  the session store (memory:// by default; redis://, redis+cluster://,
                     mongodb://, mysql:// as described by session-config)
  SESSION_KEYS       comma-separated cookie signing keys, newest first, >= 32 bytes each
                     (random at each start when unset)";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("session-demo: {}", session_core::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run() -> Result<(), BoxError> {
    let Some(port) = port(std::env::args().skip(1), std::env::var("PORT").ok())? else {
        println!("{USAGE}");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> Result<(), BoxError> {
    let config = session_config::config_from_env()?;
    tracing::info!(store = %config, "connecting to the session store");
    let store = session_config::connect(&config).await?;
    let users = tokio::task::spawn_blocking(Users::demo).await??;
    let router = app(store, DemoConfig::new(keys()?, users))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("session demo on http://{}", listener.local_addr()?);
    println!(
        "session demo listening on http://{} (log in as test / test)",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// `--port N`, `--port=N`, else `PORT`, else 3000. `None` for `--help`.
fn port(
    mut args: impl Iterator<Item = String>,
    env: Option<String>,
) -> Result<Option<u16>, BoxError> {
    let mut port = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" | "-p" => args.next().ok_or("--port needs a value")?,
            other => match other.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unknown argument `{other}`\n\n{USAGE}").into()),
            },
        };
        port = Some(value);
    }
    let Some(value) = port.or(env.filter(|v| !v.trim().is_empty())) else {
        return Ok(Some(DEFAULT_PORT));
    };
    let port = value
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("invalid port `{value}`"))?;
    Ok(Some(port))
}

fn keys() -> Result<KeyRing, BoxError> {
    match std::env::var("SESSION_KEYS") {
        Ok(keys) if !keys.trim().is_empty() => Ok(KeyRing::new(keys.split(',').map(str::trim))?),
        _ => {
            tracing::warn!(
                "SESSION_KEYS is not set: signing cookies with a random key, so every session \
                 cookie becomes invalid when the demo restarts"
            );
            // 256 bits from the OS CSPRNG, base64url: 43 bytes.
            let random = session_core::SessionKey::generate();
            Ok(KeyRing::new([random.as_str()])?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> impl Iterator<Item = String> {
        a.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn port_comes_from_the_flag_then_the_environment_then_the_default() {
        let p = |a: &[&str], env: Option<&str>| {
            port(args(a), env.map(str::to_owned)).map_err(|e| e.to_string())
        };
        assert_eq!(p(&[], None), Ok(Some(3000)));
        assert_eq!(p(&[], Some("8080")), Ok(Some(8080)));
        assert_eq!(p(&["--port", "9000"], Some("8080")), Ok(Some(9000)));
        assert_eq!(p(&["--port=9001"], None), Ok(Some(9001)));
        assert_eq!(p(&["--help"], None), Ok(None));
        assert!(p(&["--port", "x"], None).is_err());
        assert!(p(&["--bogus"], None).is_err());
        assert!(p(&["--port"], None).is_err());
    }
}
