//! `cargo run -p session-demo [-- --port N]`: the demo on http://127.0.0.1:3000. `--help` lists
//! the options and the environment variables.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use session_config::StoreConfig;
use session_core::SessionStore;
use session_demo::{DemoConfig, FrontEndOrigin, Users, app};
use session_tower::KeyRing;

const DEFAULT_PORT: u16 = 3000;
/// Comma-separated cookie signing keys, newest first.
const KEYS_ENV: &str = "SESSION_KEYS";

/// The command line. Every value that does not parse is an error, never a silent default.
#[derive(Debug, Parser)]
#[command(
    name = "session-demo",
    version,
    about = "Serves the session demo on 127.0.0.1 (log in as test / test)",
    after_help = "Environment:
  SESSION_STORE_URL  the session store (memory:// by default; redis://, redis+cluster://,
                     mongodb://, mysql://, postgres://, sqlite:// as described by
                     session-config)
  SESSION_KEYS       comma-separated cookie signing keys, newest first, >= 32 bytes each
                     (random at each start when unset, which logs everybody out on restart)
  SESSION_CORS_ORIGIN  see --cors-origin"
)]
struct Cli {
    /// The port to listen on.
    #[arg(long, short, env = "PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// The origin of a front end served elsewhere (http://127.0.0.1:8080), allowed to call the
    /// API with credentials; session-demo/front-end/index.html is such a front end.
    #[arg(long, env = session_demo::cors::CORS_ORIGIN_ENV)]
    cors_origin: Option<FrontEndOrigin>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("session-demo: {}", session_core::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run(cli: Cli) -> Result<(), BoxError> {
    // Before anything slow: a bad key is a start-up error, not a surprise after connecting.
    // In a Node-compatible mode SESSION_KEYS holds the Node app's keys, of any length.
    let node = session_demo::NodeMode::from_env(std::env::var(KEYS_ENV).ok().as_deref())?;
    let keys = match node {
        Some(_) => keys(None)?,
        None => keys(std::env::var_os(KEYS_ENV))?,
    };
    let config = session_config::config_from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(cli, keys, node, config))
}

async fn serve(
    cli: Cli,
    keys: KeyRing,
    node: Option<session_demo::NodeMode>,
    config: StoreConfig,
) -> Result<(), BoxError> {
    let port = cli.port;
    let store = open_store(&config).await?;
    let users = tokio::task::spawn_blocking(Users::demo).await??;
    let router = app(
        store,
        DemoConfig {
            front_end_origin: cli.cors_origin,
            node,
            ..DemoConfig::new(keys, users)
        },
    )?;
    let router = session_demo::metrics::route(router, session_demo::metrics::install()?);
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

/// Connects to the store, logging which one. The log line shows the URL through
/// session-config's redaction, so neither passwords nor secret options reach the log.
async fn open_store(config: &StoreConfig) -> Result<Arc<dyn SessionStore>, BoxError> {
    tracing::info!(store = %config, "connecting to the session store");
    Ok(session_config::connect(config).await?)
}

/// The signing keys `SESSION_KEYS` holds: a random key when it is unset or blank, an error when
/// it is not UTF-8 or a key is too short. The error never quotes the keys.
fn keys(value: Option<OsString>) -> Result<KeyRing, BoxError> {
    let value = value
        .map(|v| {
            v.into_string()
                .map_err(|_| format!("{KEYS_ENV} is not valid UTF-8"))
        })
        .transpose()?;
    match value {
        Some(keys) if !keys.trim().is_empty() => KeyRing::new(keys.split(',').map(str::trim))
            .map_err(|e| format!("{KEYS_ENV}: {e}").into()),
        _ => {
            tracing::warn!(
                "{KEYS_ENV} is not set: signing cookies with a random key, so every session \
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

    use clap::CommandFactory;

    use super::*;

    const KEY: &str = "a-demo-signing-key-of-32-bytes!!";

    /// Parses `args` as the command line, ignoring whatever `PORT` the test runs with.
    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let command = Cli::command().mut_arg("port", |a| a.env(None::<&str>));
        let argv = std::iter::once("session-demo").chain(args.iter().copied());
        let matches = command.try_get_matches_from(argv)?;
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
    }

    #[test]
    fn the_port_comes_from_the_flag_else_the_default() {
        assert_eq!(parse(&[]).unwrap().port, 3000);
        assert_eq!(parse(&["--port", "9000"]).unwrap().port, 9000);
        assert_eq!(parse(&["--port=9001"]).unwrap().port, 9001);
        assert_eq!(parse(&["-p", "9002"]).unwrap().port, 9002);
    }

    #[test]
    fn a_bad_port_or_an_unknown_argument_is_an_error() {
        for args in [
            &["--port", "x"][..],
            &["--port", "70000"],
            &["--port"],
            &["--bogus"],
            &["extra"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    /// Run by [`port_with_env`] in a child process (the workspace forbids the `unsafe`
    /// `set_var`, so the environment is set by spawning): parses the real command line
    /// environment with the arguments in `DEMO_TEST_ARGS` and prints the outcome.
    #[test]
    #[ignore = "run in a child process by the PORT tests"]
    fn print_the_port_parsed_from_the_real_environment() {
        let args = std::env::var("DEMO_TEST_ARGS").unwrap_or_default();
        let argv = std::iter::once("session-demo").chain(args.split_whitespace());
        match Cli::try_parse_from(argv) {
            Ok(cli) => println!("outcome: port={}", cli.port),
            Err(e) => println!("outcome: error={:?}", e.kind()),
        }
    }

    fn port_with_env(port: &str, args: &str) -> String {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::print_the_port_parsed_from_the_real_environment",
            ])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env("PORT", port)
            .env("DEMO_TEST_ARGS", args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .find_map(|l| l.split_once("outcome: ").map(|(_, outcome)| outcome))
            .unwrap_or_else(|| panic!("no outcome in the child's output: {stdout}"))
            .to_owned()
    }

    #[test]
    fn the_port_variable_is_the_fallback_and_a_bad_one_is_an_error() {
        assert_eq!(port_with_env("8080", ""), "port=8080");
        assert_eq!(port_with_env("8080", "--port 9000"), "port=9000");
        assert_eq!(port_with_env("eighty", ""), "error=ValueValidation");
        // Set but empty is a value too, and not a port.
        assert_eq!(port_with_env("", ""), "error=ValueValidation");
    }

    #[test]
    fn the_cors_origin_flag_takes_one_exact_origin() {
        assert_eq!(parse(&[]).unwrap().cors_origin, None);
        let cli = parse(&["--cors-origin", "http://127.0.0.1:8080/"]).unwrap();
        assert_eq!(cli.cors_origin.unwrap().as_str(), "http://127.0.0.1:8080");
        for bad in ["*", "null", "http://127.0.0.1:8080/app", "127.0.0.1:8080"] {
            assert!(parse(&["--cors-origin", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn non_utf8_keys_are_a_start_up_error_not_a_random_key() {
        use std::os::unix::ffi::OsStringExt;
        let e = keys(Some(OsString::from_vec(b"\xff-not-utf8".to_vec()))).unwrap_err();
        assert_eq!(e.to_string(), "SESSION_KEYS is not valid UTF-8");
    }

    #[test]
    fn a_short_key_is_a_start_up_error_that_does_not_quote_it() {
        let e = keys(Some(format!("{KEY},short-secret").into())).unwrap_err();
        assert!(e.to_string().starts_with("SESSION_KEYS: "), "{e}");
        assert!(!e.to_string().contains("short-secret"), "{e}");
    }

    #[test]
    fn keys_are_taken_from_the_variable_or_random_when_it_is_unset_or_blank() {
        assert!(keys(Some(format!(" {KEY} , {KEY}").into())).is_ok());
        assert!(keys(None).is_ok());
        assert!(keys(Some(" ".into())).is_ok());
    }

    #[tokio::test]
    async fn the_start_up_log_and_error_never_show_store_secrets() {
        let log = session_testkit::capture_logs();
        // Port 1 refuses at once; the malformed authMechanismProperties is quoted by the
        // MongoDB driver's own error.
        let config = StoreConfig::from_url(
            "mongodb://app:hunter1@127.0.0.1:1/demo?authMechanismProperties=hunter2\
             &tlsCertificateKeyFilePassword=hunter3",
        )
        .unwrap();
        let e = open_store(&config).await.err().unwrap();
        let log = log.text();
        assert!(log.contains("connecting to the session store"), "{log}");
        assert!(log.contains("app:***@127.0.0.1:1"), "{log}");
        let error = session_core::error_chain(e.as_ref());
        for shown in [&log, &error] {
            for secret in ["hunter1", "hunter2", "hunter3"] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }
}
