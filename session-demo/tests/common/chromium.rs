//! Headless Chromium over WebDriver (the `fantoccini` client driving chromedriver), shared by
//! the browser tests: starting a browser, and reading and filling the demo pages, which share
//! their element ids (`#user`, `#count`, `#username`, `#password`, `#login-button`, `#logout`,
//! `#message`, and `body[data-ready]` once the page has loaded its state).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use session_testkit::{free_port, unique_name};

/// Chromium's command line: headless, and quiet on the network (no updates, sync or QUIC
/// probes), so the only traffic is the test's own.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    path.is_file().then_some(path)
}

/// Runs `scenario` with `profiles` headless Chromium browsers, each with a profile of its own,
/// under one chromedriver; closes them and removes the profiles whatever happens, then passes
/// on the scenario's panic. Without Chromium or chromedriver (`CHROMIUM`, `CHROMEDRIVER`
/// override `/usr/bin/chromium`, `/usr/bin/chromedriver`) it reports them unreachable: a loud
/// skip, a failure under `CI=true`.
pub async fn in_browsers<F, Fut>(profiles: usize, scenario: F)
where
    F: FnOnce(Vec<Client>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (Some(chromium), Some(chromedriver)) = (
        tool("CHROMIUM", "/usr/bin/chromium"),
        tool("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        session_testkit::unreachable(
            "browser",
            "chromium and chromedriver",
            &"not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    let started = Instant::now();
    let port = free_port();
    let mut driver = tokio::process::Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let driver_url = format!("http://127.0.0.1:{port}");
    let mut browsers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..profiles {
        let profile = std::env::temp_dir().join(unique_name("demo_chromium"));
        browsers.push(start_browser(&driver_url, &chromium, &profile).await);
        dirs.push(profile);
    }

    // The scenario runs in its own task so that the browsers are closed even when it panics.
    let outcome = tokio::spawn(scenario(browsers.clone())).await;
    for browser in browsers {
        let _ = browser.close().await;
    }
    let _ = driver.kill().await;
    for dir in dirs {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("browser test took {:.1?}", started.elapsed());
}

/// A WebDriver session in a fresh headless Chromium with its own profile in `profile`, once the
/// chromedriver at `driver_url` accepts one.
async fn start_browser(driver_url: &str, chromium: &Path, profile: &Path) -> Client {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".to_owned(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "binary": chromium, "args": args }),
    );
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    // chromedriver takes a moment to listen: retry until it accepts a session.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match builder.connect(driver_url).await {
            Ok(client) => return client,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver gave no browser session: {e}"),
        }
    }
}

/// The page's text in `#id`, or `None` while it cannot be read (the page is navigating).
pub async fn text_of(browser: &Client, id: &str) -> Option<String> {
    let script = format!("return document.getElementById('{id}').textContent");
    let text = browser.execute(&script, vec![]).await.ok()?;
    text.as_str().map(str::to_owned)
}

/// Waits until the page has loaded its state from the API and shows `user`, then returns the
/// page's visit counter.
pub async fn wait_for_user(browser: &Client, user: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        // Errors are expected while the page navigates; keep polling.
        if let Ok(state) = browser
            .execute(
                "return document.body && document.body.dataset.ready === 'true' \
                 ? [document.getElementById('user').textContent, \
                    document.getElementById('count').textContent] : null",
                vec![],
            )
            .await
        {
            if state[0] == user {
                let count = state[1].as_str().and_then(|c| c.parse().ok());
                return count.unwrap_or_else(|| panic!("counter shows {}", state[1]));
            }
            last = state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed user {user:?}; last state {last}");
}

pub async fn type_into(browser: &Client, css: &str, text: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
