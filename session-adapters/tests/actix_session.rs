//! An actix-web app with actix-session's `SessionMiddleware` over `ActixSessionStore`, on every
//! backend through its session-config URL: log in, a counter, `renew`, a tampered cookie,
//! logout, expiry by inactivity.
//!
//! Needs `REDIS_URL`, `REDIS_CLUSTER_URLS`, `MONGODB_URL` and `MYSQL_URL` (defaults on
//! 127.0.0.1; `bash scripts/test.sh` starts the servers). Without a server a test is skipped
//! with a loud message, or fails under `CI=true`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::{Session, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, time::Duration};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{App, test, web};
use common::{CookieChange, cookie_change, live_cookie, open, stored, tampered};
use session_adapters::ActixSessionStore;
use session_core::SessionStore;

/// actix-session's default cookie name.
const COOKIE: &str = "id";

async fn login(session: Session) -> &'static str {
    // Against session fixation: a new key before the session holds a user.
    session.renew();
    session.insert("user", "alice").unwrap();
    "ok"
}

async fn incr(session: Session) -> String {
    let n = session.get::<u64>("n").unwrap().unwrap_or(0) + 1;
    session.insert("n", n).unwrap();
    n.to_string()
}

async fn whoami(session: Session) -> String {
    let user = session.get::<String>("user").unwrap();
    user.unwrap_or_else(|| "anonymous".to_owned())
}

async fn renew(session: Session) -> &'static str {
    session.renew();
    "ok"
}

async fn logout(session: Session) -> &'static str {
    session.purge();
    "ok"
}

/// The app over `store`: signed cookies, a persistent session of `ttl`, and `policy` for when
/// the TTL moves.
async fn app(
    store: Arc<dyn SessionStore>,
    ttl: Duration,
    policy: TtlExtensionPolicy,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    let lifecycle = PersistentSession::default()
        .session_ttl(ttl)
        .session_ttl_extension_policy(policy);
    let middleware = SessionMiddleware::builder(ActixSessionStore::new(store), Key::from(&[7; 64]))
        .cookie_secure(false)
        // Signed rather than the default encrypted cookie, so that the test can read the key in
        // it and check the store.
        .cookie_content_security(CookieContentSecurity::Signed)
        .session_lifecycle(lifecycle)
        .build();
    test::init_service(
        App::new()
            .wrap(middleware)
            .route("/login", web::get().to(login))
            .route("/incr", web::get().to(incr))
            .route("/whoami", web::get().to(whoami))
            .route("/renew", web::get().to(renew))
            .route("/logout", web::get().to(logout)),
    )
    .await
}

/// `GET path` with `cookie`: the body and what happened to the session cookie.
async fn send<S, B>(app: &S, path: &str, cookie: Option<&str>) -> (String, CookieChange)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = test::TestRequest::get().uri(path);
    if let Some(cookie) = cookie {
        request = request.insert_header(("cookie", cookie));
    }
    let response = test::call_service(app, request.to_request()).await;
    assert_eq!(
        response.status(),
        actix_web::http::StatusCode::OK,
        "GET {path}"
    );
    let change = cookie_change(
        COOKIE,
        response
            .headers()
            .get_all(actix_web::http::header::SET_COOKIE)
            .map(|v| v.to_str().unwrap()),
    );
    let body = test::read_body(response).await;
    (String::from_utf8(body.to_vec()).unwrap(), change)
}

async fn body<S, B>(app: &S, path: &str, cookie: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, path, Some(cookie)).await.0
}

/// A whole visit: anonymous, log in, count, renew the key, a forged cookie, log out.
async fn a_visit_logs_in_counts_renews_and_logs_out(backend: &str) {
    let Some(store) = open(backend, "actix_visit").await else {
        return;
    };
    let app = app(
        store.clone(),
        Duration::minutes(5),
        TtlExtensionPolicy::OnStateChanges,
    )
    .await;

    let (who, change) = send(&app, "/whoami", None).await;
    assert_eq!((who.as_str(), change), ("anonymous", CookieChange::None));

    let first = live_cookie(send(&app, "/login", None).await.1, "login");
    assert!(stored(&*store, &first).await);
    assert_eq!(body(&app, "/whoami", &first).await, "alice");
    let mut cookie = first.clone();
    for expected in 1..=3 {
        let (n, change) = send(&app, "/incr", Some(&cookie)).await;
        assert_eq!(n, expected.to_string());
        // An update keeps the key.
        cookie = live_cookie(change, "incr");
        assert_eq!(cookie, first);
    }

    // Renewing keeps the state under a new key and removes the old record.
    let second = live_cookie(send(&app, "/renew", Some(&first)).await.1, "renew");
    assert_ne!(second, first);
    assert!(
        !stored(&*store, &first).await,
        "the old key still has a record"
    );
    assert_eq!(body(&app, "/whoami", &first).await, "anonymous");
    assert_eq!(body(&app, "/incr", &second).await, "4");

    // A forged cookie opens nothing and leaves the real session alone.
    let forged = tampered(&second);
    assert_eq!(body(&app, "/whoami", &forged).await, "anonymous");
    assert_eq!(body(&app, "/incr", &forged).await, "1");
    assert_eq!(body(&app, "/incr", &second).await, "5");
    assert_eq!(body(&app, "/whoami", &second).await, "alice");

    // Logging out removes the cookie and the record, for good.
    let (_, change) = send(&app, "/logout", Some(&second)).await;
    assert_eq!(change, CookieChange::Removed);
    assert!(
        !stored(&*store, &second).await,
        "the record survived logout"
    );
    assert_eq!(body(&app, "/whoami", &second).await, "anonymous");
}

/// With a 1 s TTL moved on every request (`update_ttl`, a touch), requests 400 ms apart keep
/// the session for longer than 1 s; 1.4 s without a request end it.
async fn inactivity_ends_the_session(backend: &str) {
    let Some(store) = open(backend, "actix_inactivity").await else {
        return;
    };
    let app = app(
        store.clone(),
        Duration::seconds(1),
        TtlExtensionPolicy::OnEveryRequest,
    )
    .await;
    let cookie = live_cookie(send(&app, "/login", None).await.1, "login");
    for _ in 0..4 {
        tokio::time::sleep(StdDuration::from_millis(400)).await;
        assert_eq!(body(&app, "/whoami", &cookie).await, "alice");
    }
    tokio::time::sleep(StdDuration::from_millis(1400)).await;
    assert!(
        !stored(&*store, &cookie).await,
        "the store returned an expired session"
    );
    assert_eq!(body(&app, "/whoami", &cookie).await, "anonymous");
}

on_every_backend!(
    #[actix_web::test]
    a_visit_logs_in_counts_renews_and_logs_out,
    inactivity_ends_the_session,
);
