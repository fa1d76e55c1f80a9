//! Headless Chromium over WebDriver (the `fantoccini` client driving chromedriver), shared by
//! the browser tests: starting a browser, and reading and filling the demo pages, which share
//! their element ids (`#user`, `#count`, `#username`, `#password`, `#login-button`, `#logout`,
//! `#message`, and `body[data-ready]` once the page has loaded its state).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

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

pub fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    path.is_file().then_some(path)
}

/// A WebDriver session in a fresh headless Chromium with its own profile in `profile`, once the
/// chromedriver at `driver_url` accepts one.
pub async fn start_browser(driver_url: &str, chromium: &Path, profile: &Path) -> Client {
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
