//! End to end in a real headless browser: Debian's Chromium driven over the W3C WebDriver
//! protocol (the `fantoccini` client) by chromedriver, against the demo served in-process on an
//! ephemeral port (memory store). Logs in through the page, reloads and sees the counter
//! persist, checks that page script cannot read the HttpOnly session cookie, and logs out; and
//! with two browser profiles logged in as one user, ends one device's session from the other's
//! "Your sessions" panel.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`, or `source scripts/services.sh && install_chromium`); `CHROMIUM` and
//! `CHROMEDRIVER` override the paths. Without them the test skips loudly, or fails under
//! `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::time::{Duration, Instant};

use common::chromium::{self, click, text_of, type_into, wait_for_user};
use common::{KEY_A, Server, config, open};
use fantoccini::Client;
use fantoccini::Locator;
use fantoccini::cookies::Cookie;

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

/// Logs `browser` in as the demo user through the page's form.
async fn log_in(browser: &Client) {
    type_into(browser, "#username", "test").await;
    type_into(browser, "#password", "test").await;
    click(browser, "#login-button").await;
    wait_for_user(browser, "test").await;
}

/// The rows of the "Your sessions" panel: (handle, is this one).
async fn session_rows(browser: &Client) -> Vec<(String, bool)> {
    let rows = browser
        .execute(
            "return Array.from(document.querySelectorAll('#sessions tr.session'))\
             .map(r => [r.dataset.handle, r.dataset.current === 'true'])",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// Two browser profiles log in as the same user: A sees both sessions (its own marked), ends
/// B's from the panel; B's next request is logged out while A stays logged in. No session id
/// is on the page.
async fn end_another_device(browsers: Vec<Client>, base: String) {
    let (a, b) = (&browsers[0], &browsers[1]);
    for browser in [a, b] {
        browser.goto(&base).await.unwrap();
        wait_for_user(browser, "nobody").await;
        log_in(browser).await;
    }
    a.refresh().await.unwrap();
    wait_for_user(a, "test").await;
    let rows = session_rows(a).await;
    assert_eq!(rows.len(), 2, "A lists {rows:?}");
    assert_eq!(rows.iter().filter(|(_, current)| *current).count(), 1);
    let page = a.source().await.unwrap();
    for browser in [a, b] {
        let cookies = browser.get_all_cookies().await.unwrap();
        let sid = cookies.iter().find(|c| c.name() == "sid").unwrap();
        let id = sid.value().split('.').next().unwrap();
        assert!(!page.contains(id), "a session id is on the page");
    }
    // A logs B out from the panel.
    let (other, _) = rows.iter().find(|(_, current)| !*current).unwrap();
    click(
        a,
        &format!("#sessions tr[data-handle='{other}'] button.end"),
    )
    .await;
    wait_for_user(a, "test").await;
    b.refresh().await.unwrap();
    wait_for_user(b, "nobody").await;
    a.refresh().await.unwrap();
    wait_for_user(a, "test").await;
    let rows = session_rows(a).await;
    assert_eq!(rows.len(), 1, "after ending B, A lists {rows:?}");
    assert!(rows[0].1, "the remaining session is A's own");
}

/// Runs `scenario` with `profiles` browsers against the demo on the memory store.
async fn in_browsers<F, Fut>(profiles: usize, scenario: F)
where
    F: FnOnce(Vec<Client>, String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(store) = open("memory", "browser").await else {
        return;
    };
    let server = Server::demo(store, config(&[KEY_A])).await;
    // The cookie is set for the host the browser uses; keep it 127.0.0.1 throughout.
    let base = server.base.clone();
    chromium::in_browsers(profiles, move |browsers| scenario(browsers, base)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_reload_and_log_out_in_headless_chromium() {
    in_browsers(1, |browsers, base| async move {
        log_in_count_and_log_out(&browsers[0], &base).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_logs_out_another_from_the_sessions_panel() {
    in_browsers(2, end_another_device).await;
}
