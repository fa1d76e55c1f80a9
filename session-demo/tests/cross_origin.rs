//! The demo's API on one origin and its front end on another (two loopback ports), with CORS
//! with credentials for that front end only (`DemoConfig::front_end_origin`, the binary's
//! `SESSION_CORS_ORIGIN`).
//!
//! In headless Chromium: the front-end page logs in, counts and logs out through credentialed
//! `fetch` calls to the API; a page on a third origin makes the browser send requests with the
//! session cookie but cannot read a single answer, its JSON `POST` is stopped at the preflight,
//! and its unpreflighted `POST` is refused by the API's `Origin` check, so the session
//! survives. Without a browser: the CORS headers the API answers each origin with.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`, or `source scripts/services.sh && install_chromium`); `CHROMIUM` and
//! `CHROMEDRIVER` override the paths. Without them the browser test skips loudly, or fails under
//! `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use common::chromium::{click, in_browsers, type_into, wait_for_user};
use common::{KEY_A, Server, config, open};
use fantoccini::Client;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_METHOD,
    ORIGIN,
};
use serde_json::{Value, json};
use session_demo::{DemoConfig, FrontEndOrigin, cors};

/// The three origins: the API (with CORS for the front end), the front end, and a stranger.
struct Origins {
    api: Server,
    front: Server,
    third: Server,
}

async fn serve_origins() -> Option<Origins> {
    let store = open("memory", "cors").await?;
    // The front end's port must be known before the API is configured with its origin.
    let front = Server::start(cors::front_end()).await;
    let third = Server::start(Router::new().route(
        "/",
        get(|| async { Html("<!doctype html><title>another origin</title><p>elsewhere</p>") }),
    ))
    .await;
    let origin: FrontEndOrigin = front.base.parse().unwrap();
    let api = Server::demo(
        store,
        DemoConfig {
            front_end_origin: Some(origin),
            ..config(&[KEY_A])
        },
    )
    .await;
    Some(Origins { api, front, third })
}

/// `fetch(url, init)` run by the page `browser` shows: `{"read": body, "status": n, "type": t}`
/// when the page could read the answer (an opaque `no-cors` answer reads as an empty body with
/// status 0), `{"blocked": error name}` when the browser refused it to the page.
async fn page_fetch(browser: &Client, url: &str, init: Value) -> Value {
    browser
        .execute_async(
            "const [url, init, done] = arguments;
             fetch(url, init)
               .then(r => r.text().then(t => done({ read: t, status: r.status, type: r.type })))
               .catch(e => done({ blocked: e.name }));",
            vec![json!(url), init],
        )
        .await
        .unwrap()
}

async fn cross_origin_scenario(browser: Client, api: String, front: String, third: String) {
    let page = format!("{front}/?api={api}");
    browser.goto(&page).await.unwrap();
    assert_eq!(wait_for_user(&browser, "nobody").await, 1);

    // Log in through the front end's form: a credentialed, preflighted JSON POST to the API.
    type_into(&browser, "#username", "test").await;
    type_into(&browser, "#password", "test").await;
    click(&browser, "#login-button").await;
    assert_eq!(
        wait_for_user(&browser, "test").await,
        2,
        "login kept the counter"
    );
    browser.refresh().await.unwrap();
    assert_eq!(
        wait_for_user(&browser, "test").await,
        3,
        "the counter moves on"
    );

    // The session cookie belongs to the API and the front end's script cannot read it.
    let visible = browser
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert!(
        !visible.as_str().unwrap_or_default().contains("sid"),
        "{visible}"
    );
    let me = page_fetch(
        &browser,
        &format!("{api}/users/me"),
        json!({"credentials": "include"}),
    )
    .await;
    assert_eq!(me["read"], r#"{"username":"test"}"#, "front end: {me}");

    // A third origin's page. The browser sends its requests with the cookie (same site), but
    // without the API's permission the page reads nothing.
    browser.goto(&third).await.unwrap();
    let include = json!({"credentials": "include"});
    for path in ["/users/me", "/count"] {
        let answer = page_fetch(&browser, &format!("{api}{path}"), include.clone()).await;
        assert_eq!(answer, json!({"blocked": "TypeError"}), "{path}: {answer}");
    }
    // A JSON POST needs a preflight, which names no allowed origin: never sent.
    let logout = json!({
        "method": "POST",
        "credentials": "include",
        "headers": {"Content-Type": "application/json"},
        "body": "{}",
    });
    let answer = page_fetch(&browser, &format!("{api}/users/logout"), logout).await;
    assert_eq!(answer, json!({"blocked": "TypeError"}), "{answer}");
    // A POST without preflight is sent (an opaque answer) and refused by the Origin check.
    let simple = json!({"method": "POST", "credentials": "include", "mode": "no-cors"});
    let answer = page_fetch(&browser, &format!("{api}/users/logout"), simple).await;
    assert_eq!(answer["type"], "opaque", "{answer}");

    // Back on the front end: still logged in. The third origin's GET /count did run (CORS hides
    // answers, it does not stop requests), so the counter is one further than otherwise.
    browser.goto(&page).await.unwrap();
    assert_eq!(wait_for_user(&browser, "test").await, 5);

    // Log out from the front end; the next page load starts a fresh session.
    click(&browser, "#logout").await;
    assert_eq!(
        wait_for_user(&browser, "nobody").await,
        1,
        "logout ended the session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_end_on_another_origin_logs_in_counts_and_logs_out_and_a_third_reads_nothing() {
    let Some(origins) = serve_origins().await else {
        return;
    };
    let (api, front, third) = (
        origins.api.base.clone(),
        origins.front.base.clone(),
        origins.third.base.clone(),
    );
    in_browsers(1, move |browsers| {
        cross_origin_scenario(browsers[0].clone(), api, front, third)
    })
    .await;
}

/// A request to the API from `origin` (and its answer's CORS headers).
async fn cors_headers(
    request: reqwest::RequestBuilder,
    origin: &str,
) -> (u16, Option<String>, Option<String>) {
    let response = request.header(ORIGIN, origin).send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    (
        response.status().as_u16(),
        header(ACCESS_CONTROL_ALLOW_ORIGIN),
        header(ACCESS_CONTROL_ALLOW_CREDENTIALS),
    )
}

#[tokio::test]
async fn the_api_allows_credentials_to_the_front_end_origin_only() {
    let Some(origins) = serve_origins().await else {
        return;
    };
    let client = reqwest::Client::new();
    let (api, front, third) = (&origins.api.base, &origins.front.base, &origins.third.base);
    let preflight = || {
        client
            .request(reqwest::Method::OPTIONS, format!("{api}/users/login"))
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header("access-control-request-headers", "content-type")
    };

    let (status, allow, credentials) = cors_headers(preflight(), front).await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(allow.as_deref(), Some(front.as_str()));
    assert_eq!(credentials.as_deref(), Some("true"));
    let (_, allow, _) = cors_headers(preflight(), third).await;
    assert_eq!(allow, None, "a stranger's preflight is not allowed");

    let me = || client.get(format!("{api}/users/me"));
    let (_, allow, credentials) = cors_headers(me(), front).await;
    assert_eq!(allow.as_deref(), Some(front.as_str()));
    assert_eq!(credentials.as_deref(), Some("true"));
    for stranger in [third.as_str(), "null", "http://evil.example"] {
        let (_, allow, _) = cors_headers(me(), stranger).await;
        assert_eq!(allow, None, "{stranger} got an Access-Control-Allow-Origin");
    }

    // State-changing requests: from the front end, the API's own page or a non-browser client
    // they run; from another origin they are refused before any handler.
    let logout = || client.post(format!("{api}/users/logout"));
    assert_eq!(cors_headers(logout(), front).await.0, 204);
    assert_eq!(cors_headers(logout(), api).await.0, 204);
    assert_eq!(logout().send().await.unwrap().status().as_u16(), 204);
    for stranger in [third.as_str(), "null"] {
        assert_eq!(cors_headers(logout(), stranger).await.0, 403, "{stranger}");
    }
}
