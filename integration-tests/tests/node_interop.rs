//! Issue 16: sessions shared with running Koa and Express apps. For each pair (koa-session 7 +
//! koa-redis 4; express-session 1.19 with connect-redis 10, connect-mongo 6 and
//! express-mysql-session 3), the real Node app
//! (`integration-tests/node/app.js`, installed by `npm ci` in scripts/test.sh) and a Rust app
//! (session-tower in the matching cookie style over the matching Node-format store) run side by
//! side against the same server; each logs in, changes, logs out what the other sees.
//! Under CI=true a missing node, npm package or server fails the test.
#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::routing::{get, post};
use serde_json::Value;
use session_core::SessionStore;
use session_core::node::NodeFormat;
use session_redis::{NodeRedisStore, RedisStore};
use session_testkit::{require_all, unique_name};
use session_tower::{CookieStyle, NodeKeys, Session, SessionError, SessionLayer};
use tokio::io::{AsyncBufReadExt, BufReader};

const K1: &str = "interop-key-1";
const K2: &str = "interop-key-2";

/// Skips (prints why) or, under CI=true, fails.
fn missing(what: &str) -> Option<std::convert::Infallible> {
    if require_all() {
        panic!("node interop: {what}; CI=true forbids skipping");
    }
    eprintln!("\n!!!!!!!! SKIPPED node interop: {what}\n");
    None
}

/// A Node app started on a free port, killed when dropped.
struct NodeApp {
    _child: tokio::process::Child,
    base: String,
}

async fn node_app(env: &[(&str, &str)]) -> Option<NodeApp> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node");
    if !dir.join("node_modules").is_dir() {
        missing("integration-tests/node/node_modules is missing (run `npm ci` there)")?;
    }
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("app.js")
        .current_dir(&dir)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            missing(&format!("cannot run node: {e}"))?;
            unreachable!()
        }
    };
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the Node app did not start within 20 s")
        .unwrap()
        .unwrap_or_else(|| panic!("the Node app exited ({env:?})"));
    let port = line.strip_prefix("listening ").expect(&line);
    let base = format!("http://127.0.0.1:{port}");
    // Keep draining stdout so that the app never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(NodeApp {
        _child: child,
        base,
    })
}

/// The Rust side of the pair: the same four routes as app.js.
async fn rust_app(style: CookieStyle, store: Arc<dyn SessionStore>, keys: &str) -> String {
    fn visible(data: session_core::SessionData) -> Value {
        let mut map = data.into_map();
        map.remove("cookie");
        Value::Object(map)
    }
    async fn me(session: Session) -> Result<String, SessionError> {
        Ok(visible(session.data().await?).to_string())
    }
    async fn login(
        session: Session,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> Result<String, SessionError> {
        session.insert("user", &q["user"]).await?;
        Ok(visible(session.data().await?).to_string())
    }
    async fn set(
        session: Session,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> Result<String, SessionError> {
        let value: Value = serde_json::from_str(&q["value"]).unwrap();
        session.insert(&q["key"], value).await?;
        Ok(visible(session.data().await?).to_string())
    }
    async fn logout(session: Session) -> String {
        session.destroy().await;
        "{}".to_owned()
    }
    let keys = NodeKeys::from_list(keys).unwrap();
    let layer = match style {
        CookieStyle::Koa => SessionLayer::koa(store, keys),
        CookieStyle::Express => SessionLayer::express(store, keys),
    };
    let app = Router::new()
        .route("/me", get(me))
        .route("/login", post(login))
        .route("/set", get(set))
        .route("/logout", post(logout))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A browser's cookies, by name.
#[derive(Debug, Clone, Default)]
struct Jar(BTreeMap<String, String>);

struct Answer {
    status: u16,
    body: Value,
    set_cookies: Vec<String>,
}

impl Jar {
    async fn call(&mut self, method: &str, url: &str) -> Answer {
        let client = reqwest::Client::new();
        let mut request = match method {
            "POST" => client.post(url),
            _ => client.get(url),
        };
        if !self.0.is_empty() {
            let header: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", header.join("; "));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|h| h.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || c.to_ascii_lowercase().contains("expires=thu, 01 jan 1970") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            set_cookies,
        }
    }

    async fn me(&mut self, base: &str) -> Value {
        let answer = self.call("GET", &format!("{base}/me")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

fn user(body: &Value) -> Option<&str> {
    body.get("user").and_then(Value::as_str)
}

/// The store-side view of one pair: the raw record of a session id and how to expire it.
struct Backend {
    style: CookieStyle,
    kind: Kind,
}

enum Kind {
    Redis {
        conn: redis::aio::MultiplexedConnection,
        prefix: String,
    },
    MySql {
        pool: sqlx::MySqlPool,
        table: String,
    },
    Mongo {
        coll: mongodb::Collection<mongodb::bson::Document>,
    },
}

async fn mongo_doc(
    coll: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
) -> Option<mongodb::bson::Document> {
    coll.find_one(mongodb::bson::doc! { "_id": id })
        .await
        .unwrap()
}

impl Backend {
    /// The session id the cookies in `jar` carry.
    fn id(&self, jar: &Jar) -> String {
        match self.style {
            CookieStyle::Koa => jar.0["koa.sess"].clone(),
            CookieStyle::Express => {
                let v = jar.0["connect.sid"].replace("%3A", ":");
                let v = v.strip_prefix("s:").unwrap();
                v.rsplit_once('.').unwrap().0.to_owned()
            }
        }
    }

    async fn raw(&mut self, id: &str) -> Option<String> {
        match &mut self.kind {
            Kind::Redis { conn, prefix } => redis::cmd("GET")
                .arg(format!("{prefix}{id}"))
                .query_async(conn)
                .await
                .unwrap(),
            Kind::MySql { pool, table } => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT data FROM `{table}` WHERE session_id = ?"
            )))
            .bind(id)
            .fetch_optional(&*pool)
            .await
            .unwrap(),
            Kind::Mongo { coll } => mongo_doc(coll, id)
                .await
                .map(|d| d.get_str("session").unwrap().to_owned()),
        }
    }

    /// Seconds the store keeps the record.
    async fn ttl(&mut self, id: &str) -> i64 {
        match &mut self.kind {
            Kind::Redis { conn, prefix } => redis::cmd("TTL")
                .arg(format!("{prefix}{id}"))
                .query_async(conn)
                .await
                .unwrap(),
            Kind::MySql { pool, table } => {
                let expires: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(expires AS SIGNED) FROM `{table}` WHERE session_id = ?"
                )))
                .bind(id)
                .fetch_one(&*pool)
                .await
                .unwrap();
                expires - session_core::now_ms() / 1000
            }
            Kind::Mongo { coll } => {
                let d = mongo_doc(coll, id).await.unwrap();
                let expires = d.get_datetime("expires").unwrap().timestamp_millis();
                (expires - session_core::now_ms()) / 1000
            }
        }
    }

    /// Makes the record dead the way its Node store judges it: koa's `_expire` in the past (the
    /// key stays), connect-redis's TTL run out, express-mysql-session's `expires` in the past
    /// (the row stays), connect-mongo's `expires` in the past (the document stays until the TTL
    /// monitor runs).
    async fn expire(&mut self, id: &str) {
        let koa = self.style == CookieStyle::Koa;
        match &mut self.kind {
            Kind::Redis { conn, prefix } if koa => {
                let key = format!("{prefix}{id}");
                let raw: String = redis::cmd("GET").arg(&key).query_async(conn).await.unwrap();
                let mut v: Value = serde_json::from_str(&raw).unwrap();
                v["_expire"] = Value::from(1000);
                let _: () = redis::cmd("SET")
                    .arg(key)
                    .arg(v.to_string())
                    .arg("KEEPTTL")
                    .query_async(conn)
                    .await
                    .unwrap();
            }
            Kind::Redis { conn, prefix } => {
                let _: i64 = redis::cmd("PEXPIRE")
                    .arg(format!("{prefix}{id}"))
                    .arg(1)
                    .query_async(conn)
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Kind::MySql { pool, table } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE `{table}` SET expires = ? WHERE session_id = ?"
                )))
                .bind(session_core::now_ms() / 1000 - 5)
                .bind(id)
                .execute(&*pool)
                .await
                .unwrap();
            }
            Kind::Mongo { coll } => {
                let past = mongodb::bson::DateTime::from_millis(session_core::now_ms() - 5000);
                coll.update_one(
                    mongodb::bson::doc! { "_id": id },
                    mongodb::bson::doc! { "$set": { "expires": past } },
                )
                .await
                .unwrap();
            }
        }
    }

    /// Replaces the stored record with `bytes`.
    async fn put(&mut self, id: &str, bytes: &str) {
        match &mut self.kind {
            Kind::Redis { conn, prefix } => {
                let _: () = redis::cmd("SET")
                    .arg(format!("{prefix}{id}"))
                    .arg(bytes)
                    .arg("EX")
                    .arg(600)
                    .query_async(conn)
                    .await
                    .unwrap();
            }
            Kind::MySql { pool, table } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE `{table}` SET data = ? WHERE session_id = ?"
                )))
                .bind(bytes)
                .bind(id)
                .execute(&*pool)
                .await
                .unwrap();
            }
            Kind::Mongo { coll } => {
                coll.update_one(
                    mongodb::bson::doc! { "_id": id },
                    mongodb::bson::doc! { "$set": { "session": bytes } },
                )
                .await
                .unwrap();
            }
        }
    }
}

/// A record with its clock-dependent values (koa's `_expire`, express's `cookie.expires`)
/// blanked, byte for byte otherwise.
fn normalized(raw: &str) -> String {
    let mut out = raw.to_owned();
    for (marker, end) in [("\"_expire\":", ','), ("\"expires\":\"", '"')] {
        if let Some(start) = out.find(marker) {
            let from = start + marker.len();
            let len = out[from..].find(end).unwrap();
            out.replace_range(from..from + len, "T");
        }
    }
    // express-session derives `originalMaxAge` from `expires - Date.now()` when it first builds
    // the cookie, so Node itself writes 86399999 or 86400000 depending on whether a millisecond
    // ticked in between: compare it to the second.
    let marker = "\"originalMaxAge\":";
    if let Some(start) = out.find(marker) {
        let from = start + marker.len();
        let len = out[from..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(out.len() - from);
        if let Ok(ms) = out[from..from + len].parse::<u64>() {
            out.replace_range(from..from + len, &((ms + 500) / 1000 * 1000).to_string());
        }
    }
    out
}

struct Pair {
    style: CookieStyle,
    node_env: Vec<(&'static str, String)>,
    backend: Backend,
    store: Arc<dyn SessionStore>,
}

impl Pair {
    async fn node(&self, keys: &str) -> Option<NodeApp> {
        let mut env: Vec<(&str, &str)> = self
            .node_env
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        env.push(("KEYS", keys));
        node_app(&env).await
    }

    async fn rust(&self, keys: &str) -> String {
        rust_app(self.style, Arc::clone(&self.store), keys).await
    }
}

async fn run(mut pair: Pair) {
    let Some(node) = pair.node(K1).await else {
        return;
    };
    let rust = pair.rust(K1).await;
    let (node, rust) = (node.base.clone(), rust);

    // Log in on Node → Rust sees the user; change in Rust → Node sees it; log out in Rust.
    let mut jar = Jar::default();
    let a = jar.call("POST", &format!("{node}/login?user=alice")).await;
    assert_eq!(a.status, 200);
    assert_eq!(user(&jar.me(&rust).await), Some("alice"));
    let a = jar
        .call("GET", &format!("{rust}/set?key=count&value=5"))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(jar.me(&node).await["count"], 5);
    let id = pair.backend.id(&jar);
    let a = jar.call("POST", &format!("{rust}/logout")).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        pair.backend.raw(&id).await,
        None,
        "Rust's logout left the record"
    );
    assert_eq!(user(&jar.me(&node).await), None);

    // The same starting from Rust.
    let mut jar = Jar::default();
    jar.call("POST", &format!("{rust}/login?user=bob")).await;
    assert_eq!(user(&jar.me(&node).await), Some("bob"));
    jar.call("GET", &format!("{node}/set?key=count&value=7"))
        .await;
    assert_eq!(jar.me(&rust).await["count"], 7);
    let id = pair.backend.id(&jar);
    jar.call("POST", &format!("{node}/logout")).await;
    assert_eq!(pair.backend.raw(&id).await, None);
    assert_eq!(user(&jar.me(&rust).await), None);

    // A tampered cookie: both see no session.
    let mut good = Jar::default();
    good.call("POST", &format!("{node}/login?user=carol")).await;
    let mut tampered = good.clone();
    match pair.style {
        CookieStyle::Koa => {
            let sig = tampered.0.get_mut("koa.sess.sig").unwrap();
            *sig = format!("A{}", &sig[1..]);
            if sig.starts_with("AA") {
                *sig = format!("B{}", &sig[1..]);
            }
        }
        CookieStyle::Express => {
            let v = tampered.0.get_mut("connect.sid").unwrap();
            v.insert(6, if v.as_bytes()[6] == b'x' { 'y' } else { 'x' });
            v.remove(7);
        }
    }
    assert_eq!(user(&tampered.clone().me(&node).await), None);
    assert_eq!(user(&tampered.clone().me(&rust).await), None);
    assert_eq!(user(&good.clone().me(&rust).await), Some("carol"));

    // A cookie signed with a retired key: both see no session.
    let Some(retired) = pair.node("interop-retired-key").await else {
        return;
    };
    let mut old = Jar::default();
    old.call("POST", &format!("{}/login?user=mallory", retired.base))
        .await;
    assert_eq!(user(&old.clone().me(&retired.base).await), Some("mallory"));
    assert_eq!(user(&old.clone().me(&node).await), None);
    assert_eq!(user(&old.clone().me(&rust).await), None);
    drop(retired);

    // An expired record: both see no session.
    let mut jar = good.clone();
    let id = pair.backend.id(&jar);
    pair.backend.expire(&id).await;
    assert_eq!(user(&jar.clone().me(&node).await), None);
    assert_eq!(user(&jar.me(&rust).await), None);

    // A record the format cannot read (a native record under the key): no session, not a 500.
    let mut jar = Jar::default();
    jar.call("POST", &format!("{node}/login?user=erin")).await;
    let id = pair.backend.id(&jar);
    pair.backend
        .put(&id, "ss1:1999999999999.{\"user\":\"erin\"}")
        .await;
    assert_eq!(user(&jar.me(&rust).await), None);

    // Key rotation on the Node side (new key first, old kept): old cookies accepted, re-signed
    // like Node does.
    let mut jar = Jar::default();
    jar.call("POST", &format!("{node}/login?user=frank")).await;
    let rotated = format!("{K2},{K1}");
    let Some(node2) = pair.node(&rotated).await else {
        return;
    };
    let rust2 = pair.rust(&rotated).await;
    let (mut on_node, mut on_rust) = (jar.clone(), jar.clone());
    match pair.style {
        CookieStyle::Koa => {
            // koa re-issues only the .sig on a read.
            let n = on_node.call("GET", &format!("{}/me", node2.base)).await;
            let r = on_rust.call("GET", &format!("{rust2}/me")).await;
            assert_eq!(user(&n.body), Some("frank"));
            assert_eq!(user(&r.body), Some("frank"));
            assert_eq!(n.set_cookies.len(), 1, "{:?}", n.set_cookies);
            assert_eq!(r.set_cookies, n.set_cookies);
        }
        CookieStyle::Express => {
            // express re-signs when it next sets the cookie (a change).
            let n = on_node.call("GET", &format!("{}/me", node2.base)).await;
            let r = on_rust.call("GET", &format!("{rust2}/me")).await;
            assert_eq!(user(&n.body), Some("frank"));
            assert_eq!(user(&r.body), Some("frank"));
            assert_eq!((n.set_cookies.len(), r.set_cookies.len()), (0, 0));
            let n = on_node
                .call("GET", &format!("{}/set?key=n&value=1", node2.base))
                .await;
            let r = on_rust
                .call("GET", &format!("{rust2}/set?key=n&value=2"))
                .await;
            let value = |c: &[String]| c[0].split(';').next().unwrap().to_owned();
            assert_eq!(value(&r.set_cookies), value(&n.set_cookies));
        }
    }
    assert_ne!(on_rust.0, jar.0, "not re-signed");
    assert_eq!(on_rust.0, on_node.0);
    // The re-signed cookie works on both sides, the old key no longer needed.
    assert_eq!(user(&on_rust.clone().me(&node2.base).await), Some("frank"));
    drop(node2);

    // The record each side writes for the same data, byte for byte (clock values blanked).
    let mut records = Vec::new();
    for base in [&node, &rust] {
        let mut jar = Jar::default();
        jar.call("POST", &format!("{base}/login?user=dana")).await;
        jar.call("GET", &format!("{base}/set?key=count&value=2"))
            .await;
        let id = pair.backend.id(&jar);
        let raw = pair.backend.raw(&id).await.unwrap();
        records.push((normalized(&raw), pair.backend.ttl(&id).await));
    }
    assert_eq!(records[0].0, records[1].0);
    assert!((records[0].1 - records[1].1).abs() <= 2, "{records:?}");
}

async fn redis_backend(style: CookieStyle, prefix: &str) -> Option<(Backend, RedisStore)> {
    let url = session_testkit::redis_url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(e) => {
            session_testkit::unreachable("redis", &url, &e);
            return None;
        }
    };
    let store = RedisStore::connect(&url).await.unwrap();
    Some((
        Backend {
            style,
            kind: Kind::Redis {
                conn,
                prefix: prefix.to_owned(),
            },
        },
        store,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn koa_and_koa_redis() {
    let Some((backend, store)) = redis_backend(CookieStyle::Koa, "").await else {
        return;
    };
    let store = NodeRedisStore::new(&store, NodeFormat::Koa);
    run(Pair {
        style: CookieStyle::Koa,
        node_env: vec![
            ("STYLE", "koa".into()),
            ("STORE", "redis".into()),
            ("STORE_URL", session_testkit::redis_url()),
        ],
        backend,
        store: Arc::new(store),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_and_connect_redis() {
    let prefix = format!("{}:", unique_name("node_express"));
    let Some((backend, store)) = redis_backend(CookieStyle::Express, &prefix).await else {
        return;
    };
    let store = NodeRedisStore::new(&store, NodeFormat::Express).with_prefix(&prefix);
    run(Pair {
        style: CookieStyle::Express,
        node_env: vec![
            ("STYLE", "express".into()),
            ("STORE", "redis".into()),
            ("STORE_URL", session_testkit::redis_url()),
            ("PREFIX", prefix.clone()),
        ],
        backend,
        store: Arc::new(store),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_and_express_mysql_session() {
    let url = session_testkit::mysql_url();
    let table = unique_name("node_express");
    let store = match session_mysql::MySqlStore::connect(&url).await {
        Ok(store) => store,
        Err(e) => {
            session_testkit::unreachable("mysql", &url, &e);
            return;
        }
    };
    let store = session_mysql::ExpressMySqlStore::new(&store)
        .with_table_name(&table)
        .unwrap();
    // The Node store creates the table; so does ours (the same statement twice is harmless).
    store.migrate().await.unwrap();
    let pool = sqlx::MySqlPool::connect(&url).await.unwrap();
    run(Pair {
        style: CookieStyle::Express,
        node_env: vec![
            ("STYLE", "express".into()),
            ("STORE", "mysql".into()),
            ("STORE_URL", url.clone()),
            ("TABLE", table.clone()),
        ],
        backend: Backend {
            style: CookieStyle::Express,
            kind: Kind::MySql {
                pool: pool.clone(),
                table: table.clone(),
            },
        },
        store: Arc::new(store),
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE `{table}`")))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_and_connect_mongo() {
    let url = session_testkit::mongodb_url();
    let collection = unique_name("node_express");
    let client = match mongodb::Client::with_uri_str(&url).await {
        Ok(client) => client,
        Err(e) => {
            session_testkit::unreachable("mongo", &url, &e);
            return;
        }
    };
    let database = client.database("test");
    let store = match session_mongo::ConnectMongoStore::new(&database, &collection).await {
        Ok(store) => store,
        Err(e) => {
            session_testkit::unreachable("mongo", &url, &e);
            return;
        }
    };
    let coll = database.collection::<mongodb::bson::Document>(&collection);
    run(Pair {
        style: CookieStyle::Express,
        node_env: vec![
            ("STYLE", "express".into()),
            ("STORE", "mongo".into()),
            ("STORE_URL", url.clone()),
            ("DB", "test".into()),
            ("COLLECTION", collection.clone()),
        ],
        backend: Backend {
            style: CookieStyle::Express,
            kind: Kind::Mongo { coll: coll.clone() },
        },
        store: Arc::new(store),
    })
    .await;
    let indexes = coll.list_index_names().await.unwrap();
    assert!(indexes.iter().any(|i| i == "expires_1"), "{indexes:?}");
    coll.drop().await.unwrap();
}
