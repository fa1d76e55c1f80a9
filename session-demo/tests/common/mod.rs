//! Shared by the demo's integration tests: stores built from URLs only, the demo served on an
//! ephemeral port, and a client that keeps one session cookie by hand.

#![allow(dead_code, unreachable_pub)]

pub mod chromium;

use std::sync::{Arc, OnceLock};

use reqwest::StatusCode;
use serde_json::Value;
use session_config::{ConfigError, StoreConfig};
use session_core::{Duration, SessionData, SessionKey, SessionStore};
use session_demo::{DemoConfig, Users};
use session_testkit::{reachable, store_url, unique_name};
use session_tower::KeyRing;

pub const KEY_A: &[u8] = b"demo-test-key-A-demo-test-key-A-";
pub const KEY_B: &[u8] = b"demo-test-key-B-demo-test-key-B-";

/// The demo users, hashed once per test binary (argon2 is slow in debug builds on purpose).
pub fn users() -> Arc<Users> {
    static USERS: OnceLock<Arc<Users>> = OnceLock::new();
    Arc::clone(USERS.get_or_init(|| Arc::new(Users::demo().unwrap())))
}

pub fn keys(keys: &[&[u8]]) -> KeyRing {
    KeyRing::new(keys).unwrap()
}

pub fn config(keys_: &[&[u8]]) -> DemoConfig {
    DemoConfig::new(keys(keys_), users())
}

/// The URL of a fresh namespace (`t_demo_<tag>_<8 hex>`) on `backend`, from the environment's
/// server URLs.
pub fn url(backend: &str, tag: &str) -> String {
    store_url(backend, &unique_name(&format!("demo_{tag}")), &[])
}

/// Opens a store in a fresh namespace on `backend`, chosen by URL only. `None` (after a loud
/// message) when the server is unreachable and skipping is allowed; panics under `CI=true`.
pub async fn open(backend: &str, tag: &str) -> Option<Arc<dyn SessionStore>> {
    let url = url(backend, tag);
    let config = StoreConfig::from_url(&url).unwrap();
    match session_config::connect(&config).await {
        Err(ConfigError::Store(e)) => reachable(backend, tag, Err(e)),
        connected => Some(connected.unwrap()),
    }
}

/// The demo (or any router) served on 127.0.0.1 on an ephemeral port until the test ends.
pub struct Server {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(router: axum::Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("demo server stopped: {e}");
            }
        });
        Server {
            base: format!("http://{addr}"),
            task,
        }
    }

    pub async fn demo(store: Arc<dyn SessionStore>, config: DemoConfig) -> Server {
        Server::start(session_demo::app(store, config).unwrap()).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP client holding at most one session cookie, managed by hand so tests can inspect,
/// copy and tamper with it.
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// `sid=<value>`, as the last `Set-Cookie` left it.
    pub cookie: Option<String>,
}

/// One response, reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub set_cookie: Option<String>,
    pub json: Value,
}

impl Reply {
    /// The `Max-Age` of the `Set-Cookie`, if any.
    pub fn max_age(&self) -> Option<i64> {
        let set = self.set_cookie.as_deref()?;
        set.split(';')
            .filter_map(|p| p.trim().strip_prefix("Max-Age="))
            .find_map(|v| v.parse().ok())
    }
}

impl Client {
    pub fn new(server: &Server) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: server.base.clone(),
            cookie: None,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        let body = serde_json::json!({ "username": username, "password": password });
        self.post("/users/login", Some(body)).await
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Reply {
        if let Some(cookie) = &self.cookie {
            req = req.header(reqwest::header::COOKIE, cookie);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let mut set_cookies = res.headers().get_all(reqwest::header::SET_COOKIE).iter();
        let set_cookie = set_cookies
            .next()
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        assert!(set_cookies.next().is_none(), "more than one Set-Cookie");
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap_or_default().trim().to_owned();
            let expired = set.contains("Max-Age=0");
            self.cookie = if expired || pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        let bytes = res.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            set_cookie,
            json,
        }
    }

    /// The session key inside the current cookie.
    pub fn session_key(&self) -> SessionKey {
        key_of(self.cookie.as_deref().expect("no session cookie"))
    }
}

/// The session key inside `sid=<key>.<expiry>.<mac>`.
pub fn key_of(cookie: &str) -> SessionKey {
    let value = cookie.split_once('=').map(|(_, v)| v).unwrap_or_default();
    let key = value.split('.').next().unwrap_or_default();
    SessionKey::parse(key).unwrap()
}

/// The record of the session with id `key`, read straight from the store (not rolling): the
/// store keeps it under the id's digest.
pub async fn record(store: &dyn SessionStore, key: &SessionKey) -> Option<SessionData> {
    store
        .get(&key.digest(), Duration::hours(1), false)
        .await
        .unwrap()
}
