//! End to end in a real headless browser: Debian's Chromium driven over the W3C WebDriver
//! protocol (the `fantoccini` client) by chromedriver, against the demo served in-process on an
//! ephemeral port (memory store). Logs in through the page, reloads and sees the counter
//! persist, checks that page script cannot read the HttpOnly session cookie, and logs out.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`, or `source scripts/services.sh && install_chromium`); `CHROMIUM` and
//! `CHROMEDRIVER` override the paths. Without them the test skips loudly, or fails under
//! `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{KEY_A, Server, config, open};
use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use session_testkit::{free_port, unique_name};

/// Chromium's command line: headless, and quiet on the network (no updates, sync or QUIC
/// probes), so the only traffic is the test's own.
const CHROMIUM_FLAGS: &[&str] = &[
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
async fn text_of(browser: &Client, id: &str) -> Option<String> {
    let script = format!("return document.getElementById('{id}').textContent");
    let text = browser.execute(&script, vec![]).await.ok()?;
    text.as_str().map(str::to_owned)
}

/// Waits until the page has loaded its state from the API and shows `user`, then returns the
/// page's visit counter.
async fn wait_for_user(browser: &Client, user: &str) -> u64 {
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

async fn type_into(browser: &Client, css: &str, text: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The scenario itself, in the browser `browser` controls.
async fn log_in_count_and_log_out(browser: &Client, base: &str) {
    browser.goto(base).await.unwrap();
    let first = wait_for_user(browser, "nobody").await;
    assert_eq!(first, 1, "a fresh browser starts a fresh session");

    // A wrong password shows an error and logs nobody in.
    type_into(browser, "#username", "test").await;
    type_into(browser, "#password", "wrong").await;
    click(browser, "#login-button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !text_of(browser, "message")
        .await
        .is_some_and(|m| m.contains("Wrong"))
    {
        assert!(Instant::now() < deadline, "no error for a wrong password");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Log in through the form; the page reloads itself.
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(browser, "#password", "test").await;
    click(browser, "#login-button").await;
    let after_login = wait_for_user(browser, "test").await;
    assert_eq!(after_login, first + 1, "login kept the counter");

    // Reload: same session, counter persists and moves on.
    browser.refresh().await.unwrap();
    let after_reload = wait_for_user(browser, "test").await;
    assert_eq!(after_reload, after_login + 1);

    // The session cookie exists, is HttpOnly, and page script cannot see it.
    let cookies = browser.get_all_cookies().await.unwrap();
    let sid: &Cookie<'_> = cookies
        .iter()
        .find(|c| c.name() == "sid")
        .unwrap_or_else(|| panic!("no sid cookie in {cookies:?}"));
    assert_eq!(sid.http_only(), Some(true), "{sid}");
    assert_eq!(
        sid.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax"),
        "{sid}"
    );
    let visible = browser
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert!(
        !visible.as_str().unwrap_or_default().contains("sid"),
        "document.cookie exposes the session cookie: {visible}"
    );

    // Log out; the page reloads as nobody, with a new session and counter.
    click(browser, "#logout").await;
    let after_logout = wait_for_user(browser, "nobody").await;
    assert_eq!(after_logout, 1, "logout destroyed the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_reload_and_log_out_in_headless_chromium() {
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
    let Some(store) = open("memory", "browser").await else {
        return;
    };
    let server = Server::demo(store, config(&[KEY_A])).await;
    // The cookie is set for the host the browser uses; keep it 127.0.0.1 throughout.
    let base = server.base.clone();

    let port = free_port();
    let mut driver_process = tokio::process::Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let profile = std::env::temp_dir().join(unique_name("demo_chromium"));
    let browser = start_browser(&format!("http://127.0.0.1:{port}"), &chromium, &profile).await;

    // Run the scenario in its own task so that the browser is closed even when it panics.
    let scenario = browser.clone();
    let outcome =
        tokio::spawn(async move { log_in_count_and_log_out(&scenario, &base).await }).await;
    let _ = browser.close().await;
    let _ = driver_process.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("browser test took {:.1?}", started.elapsed());
}
