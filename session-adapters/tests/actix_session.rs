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

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::{Session, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, time::Duration};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::SET_COOKIE;
use actix_web::{App, test, web};
use common::{Client, CookieChange, cookie_change, open};
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
            .route("/cycle", web::get().to(renew))
            .route("/logout", web::get().to(logout)),
    )
    .await
}

/// The app, driven in-process.
struct Actix<S>(S);

impl<S, B> Client for Actix<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&self, path: &str, cookie: Option<&str>) -> (String, CookieChange) {
        let mut request = test::TestRequest::get().uri(path);
        if let Some(cookie) = cookie {
            request = request.insert_header(("cookie", cookie));
        }
        let response = test::call_service(&self.0, request.to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let set_cookies = response.headers().get_all(SET_COOKIE);
        let change = cookie_change(COOKIE, set_cookies.map(|v| v.to_str().unwrap()));
        let body = test::read_body(response).await;
        (String::from_utf8(body.to_vec()).unwrap(), change)
    }
}

/// A whole visit: anonymous, log in, count, `renew`, a forged cookie, log out.
async fn a_visit_logs_in_counts_renews_and_logs_out(backend: &str) {
    let Some(store) = open(backend, "actix_visit").await else {
        return;
    };
    let policy = TtlExtensionPolicy::OnStateChanges;
    let app = Actix(app(store.clone(), Duration::minutes(5), policy).await);
    common::a_visit(&app, &*store).await;
}

/// With a 1 s TTL moved on every request (`update_ttl`, a touch), 1.4 s without a request end
/// the session.
async fn inactivity_ends_the_session(backend: &str) {
    let Some(store) = open(backend, "actix_inactivity").await else {
        return;
    };
    let policy = TtlExtensionPolicy::OnEveryRequest;
    let app = Actix(app(store.clone(), Duration::seconds(1), policy).await);
    common::inactivity_ends_the_session(&app, &*store).await;
}

on_every_backend!(
    #[actix_web::test]
    a_visit_logs_in_counts_renews_and_logs_out,
    inactivity_ends_the_session,
);
