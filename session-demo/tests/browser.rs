//! End to end in a real headless browser: Debian's Chromium driven over the W3C WebDriver
//! protocol by chromedriver, against the demo served in-process on an ephemeral port (memory
//! store). Logs in through the page, reloads and sees the counter persist, checks that page
//! script cannot read the HttpOnly session cookie, and logs out.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`, or `source scripts/services.sh && install_chromium`); `CHROMIUM` and
//! `CHROMEDRIVER` override the paths. Without them the test skips loudly, or fails under
//! `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{KEY_A, Server, config, open};
use serde_json::{Value, json};

/// The W3C WebDriver key for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A minimal W3C WebDriver client: the handful of commands this test needs.
struct WebDriver {
    http: reqwest::Client,
    session: String,
}

impl WebDriver {
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_command(method, path, body).await {
            Ok(value) => value,
            Err(e) => panic!("WebDriver {path}: {e}"),
        }
    }

    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", body["value"]));
        }
        Ok(body["value"].clone())
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn refresh(&self) {
        self.command(reqwest::Method::POST, "/refresh", Some(json!({})))
            .await;
    }

    async fn script(&self, script: &str) -> Result<Value, String> {
        self.try_command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn cookies(&self) -> Value {
        self.command(reqwest::Method::GET, "/cookie", None).await
    }

    /// Waits until the page has loaded its state from the API and shows `user`, then returns
    /// the page's visit counter.
    async fn wait_for_user(&self, user: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            // Errors are expected while the page navigates; keep polling.
            if let Ok(state) = self
                .script(
                    "return document.body && document.body.dataset.ready === 'true' \
                     ? [document.getElementById('user').textContent, \
                        document.getElementById('count').textContent] : null",
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
}

fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    path.is_file().then_some(path)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port()
}

async fn start_browser(
    http: &reqwest::Client,
    driver_url: &str,
    chromium: &Path,
    profile: &Path,
) -> WebDriver {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = match http.get(format!("{driver_url}/status")).send().await {
            Ok(res) => res
                .json::<Value>()
                .await
                .map(|v| v["value"]["ready"] == true)
                .unwrap_or(false),
            Err(_) => false,
        };
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = json!({
        "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }},
    });
    let res = http
        .post(format!("{driver_url}/session"))
        .json(&capabilities)
        .send()
        .await
        .unwrap_or_else(|e| panic!("new session: {e}"));
    let body: Value = res
        .json()
        .await
        .unwrap_or_else(|e| panic!("new session: {e}"));
    let id = body["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("chromedriver refused a session: {body}"));
    WebDriver {
        http: http.clone(),
        session: format!("{driver_url}/session/{id}"),
    }
}

/// The scenario itself, in the browser `driver` controls.
async fn log_in_count_and_log_out(driver: &WebDriver, base: &str) {
    driver.goto(base).await;
    let first = driver.wait_for_user("nobody").await;
    assert_eq!(first, 1, "a fresh browser starts a fresh session");

    // A wrong password shows an error and logs nobody in.
    driver.type_into("#username", "test").await;
    driver.type_into("#password", "wrong").await;
    driver.click("#login-button").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let message = driver
            .script("return document.getElementById('message').textContent")
            .await
            .unwrap_or_default();
        if message.as_str().is_some_and(|m| m.contains("Wrong")) {
            break;
        }
        assert!(Instant::now() < deadline, "no error for a wrong password");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Log in through the form; the page reloads itself.
    driver
        .script("document.getElementById('password').value = ''")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    driver.type_into("#password", "test").await;
    driver.click("#login-button").await;
    let after_login = driver.wait_for_user("test").await;
    assert_eq!(after_login, first + 1, "login kept the counter");

    // Reload: same session, counter persists and moves on.
    driver.refresh().await;
    let after_reload = driver.wait_for_user("test").await;
    assert_eq!(after_reload, after_login + 1);

    // The session cookie exists, is HttpOnly, and page script cannot see it.
    let cookies = driver.cookies().await;
    let sid = cookies
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "sid"))
        .unwrap_or_else(|| panic!("no sid cookie in {cookies}"));
    assert_eq!(sid["httpOnly"], true, "{sid}");
    assert_eq!(sid["sameSite"], "Lax", "{sid}");
    let visible = driver
        .script("return document.cookie")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !visible.as_str().unwrap_or_default().contains("sid"),
        "document.cookie exposes the session cookie: {visible}"
    );

    // Log out; the page reloads as nobody, with a new session and counter.
    driver.click("#logout").await;
    let after_logout = driver.wait_for_user("nobody").await;
    assert_eq!(after_logout, 1, "logout destroyed the session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_reload_and_log_out_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (
        tool("CHROMIUM", "/usr/bin/chromium"),
        tool("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        integration_tests::unreachable(
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
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
    let profile = std::env::temp_dir().join(format!(
        "session-demo-chromium-{}-{port}",
        std::process::id()
    ));
    let http = reqwest::Client::new();
    let driver_url = format!("http://127.0.0.1:{port}");
    let driver = start_browser(&http, &driver_url, &chromium, &profile).await;

    // Run the scenario in its own task so that the browser is closed even when it panics.
    let session_url = driver.session.clone();
    let outcome = tokio::spawn(async move { log_in_count_and_log_out(&driver, &base).await }).await;
    let _ = http.delete(&session_url).send().await;
    let _ = driver_process.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("browser test took {:.1?}", started.elapsed());
}
