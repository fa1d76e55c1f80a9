//! Building the subjects of each backend, namespaced by a run tag, with their cleanup.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use session_core::{DEFAULT_MAX_RECORD_BYTES, SessionData, SessionStore, encode, now_ms};
use session_memory::MemoryStore;
use session_mongo::MongoStore;
use session_mysql::MySqlStore;
use session_postgres::PgStore;
use session_redis::RedisStore;
use session_sqlite::SqliteStore;
use sqlx::AssertSqlSafe;
use tower_sessions_redis_store::fred::prelude::{
    Builder as FredBuilder, ClientLike, Config as FredConfig,
};

use crate::measure::BoxError;
use crate::raw::{RawMoka, RawMongo, RawMySql, RawRedis, RawSql, RedisConn};
use crate::subject::{
    MAX_AGE, Ours, Subject, TowerSessions, TowerSessions011, payload, tower_payload,
};

/// Removes what a subject wrote.
pub(crate) type Cleanup =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// Where the servers are: the variables the integration tests read, with the same defaults.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub(crate) redis: String,
    pub(crate) cluster: Vec<String>,
    pub(crate) mongo: String,
    pub(crate) mysql: String,
    pub(crate) postgres: String,
    /// `redis+sentinel://host:port,…/master`, as session-config takes it.
    pub(crate) sentinel: String,
}

impl Urls {
    pub(crate) fn from_env() -> Self {
        let var = |name: &str, default: &str| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v,
            _ => default.to_owned(),
        };
        Urls {
            redis: var("REDIS_URL", "redis://127.0.0.1:6379"),
            cluster: var(
                "REDIS_CLUSTER_URLS",
                "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103",
            )
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect(),
            mongo: var("MONGODB_URL", "mongodb://127.0.0.1:27017"),
            mysql: var("MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
            postgres: var("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
            sentinel: var(
                "REDIS_SENTINEL_URL",
                "redis+sentinel://127.0.0.1:26380,127.0.0.1:26381,127.0.0.1:26382/sessions",
            ),
        }
    }

    /// The sentinels' URLs and the master name of [`Urls::sentinel`].
    pub(crate) fn sentinels(&self) -> Result<(Vec<String>, String), BoxError> {
        let rest = self
            .sentinel
            .strip_prefix("redis+sentinel://")
            .ok_or("REDIS_SENTINEL_URL must start with redis+sentinel://")?;
        let (hosts, master) = rest
            .split_once('/')
            .ok_or("REDIS_SENTINEL_URL names no master")?;
        let hosts = hosts.split(',').map(|h| format!("redis://{h}")).collect();
        Ok((hosts, master.trim_end_matches('/').to_owned()))
    }

    /// The database named in the MySQL URL.
    pub(crate) fn mysql_database(&self) -> String {
        let path = self.mysql.rsplit('/').next().unwrap_or("test");
        path.split('?').next().unwrap_or("test").to_owned()
    }
}

/// The store-level backends, named on the command line as [`Backend::name`] gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    Memory,
    Redis,
    RedisCluster,
    /// A primary and a replica behind three sentinels: our store through Sentinel, with and
    /// without `with_replica_ack`; the raw driver and tower-sessions on the primary directly.
    RedisSentinel,
    Mongo,
    #[value(name = "mariadb")]
    MySql,
    Postgres,
    Sqlite,
}

impl Backend {
    pub(crate) const ALL: [Backend; 8] = [
        Backend::Memory,
        Backend::Redis,
        Backend::RedisCluster,
        Backend::RedisSentinel,
        Backend::Mongo,
        Backend::MySql,
        Backend::Postgres,
        Backend::Sqlite,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Redis => "redis",
            Backend::RedisCluster => "redis-cluster",
            Backend::RedisSentinel => "redis-sentinel",
            Backend::Mongo => "mongo",
            Backend::MySql => "mariadb",
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }

    /// How many distinct sessions the destroy workload may consume per run.
    pub(crate) fn destroy_budget(self, quick: bool) -> usize {
        let full = match self {
            Backend::Memory => 400_000,
            Backend::Redis | Backend::RedisCluster | Backend::RedisSentinel => 60_000,
            Backend::Mongo | Backend::MySql | Backend::Postgres | Backend::Sqlite => 8_000,
        };
        if quick { full / 4 } else { full }
    }
}

/// The subjects measured for one backend: ours first, then the peers.
pub(crate) struct Subjects {
    pub(crate) list: Vec<(&'static str, Arc<dyn Subject>)>,
    /// Our store, for the benchmarks that call it directly (ending a user's sessions).
    pub(crate) store: Arc<dyn SessionStore>,
}

/// Labels, in report order.
pub(crate) const OURS: &str = "ours";
pub(crate) const RAW: &str = "raw driver";
pub(crate) const TOWER: &str = "tower-sessions";
/// Our store saving the request mix's writes conditionally (`write_if` at the loaded version),
/// as the middleware does since versioned records: measured on the request mix only, beside
/// [`OURS`], for the cost of versioning.
pub(crate) const OURS_VERSIONED: &str = "ours, versioned saves";
/// [`OURS_VERSIONED`] on sessions that have an owner (issue 15), all of one user
/// ([`BENCH_OWNER`]): measured on the request mix only, for the cost of the owner index.
pub(crate) const OURS_OWNED: &str = "ours, owned sessions";
/// [`OURS`] through session-tower's `Instrumented` wrapper (spans and metrics, issue 19) with no
/// `metrics` recorder and no `tracing` subscriber installed, as every layer wraps its store:
/// measured on `get` and the request mix, beside [`OURS`], for the cost of instrumentation.
pub(crate) const OURS_INSTRUMENTED: &str = "ours, instrumented, no recorder";
/// The user owning [`OURS_OWNED`]'s sessions.
pub(crate) const BENCH_OWNER: &str = "bench-user";
/// Our Sentinel store with `with_replica_ack(1, REPLICA_ACK_TIMEOUT)`: every write waits
/// for the replica (`WAIT 1`), measured on every workload beside [`OURS`] for its cost.
pub(crate) const OURS_REPLICA_ACK: &str = "ours, WAIT 1";
/// The `WAIT` timeout of [`OURS_REPLICA_ACK`], the one the failover tests use.
pub(crate) const REPLICA_ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// [`payload`] owned by [`BENCH_OWNER`].
pub(crate) fn owned_payload(bytes: usize) -> SessionData {
    let mut data = payload(bytes);
    let owner = session_core::Owner::new(BENCH_OWNER).unwrap();
    session_core::OwnerInfo::new(owner, now_ms(), MAX_AGE.whole_milliseconds() as i64, [])
        .unwrap()
        .put_into(&mut data);
    data
}

fn encoded(bytes: usize) -> Result<Vec<u8>, BoxError> {
    Ok(encode(
        &payload(bytes),
        session_core::Version::generate(),
        now_ms() + 86_400_000,
        DEFAULT_MAX_RECORD_BYTES,
    )?)
}

fn ours(
    store: Arc<dyn SessionStore>,
    tag: &str,
    n: usize,
    bytes: usize,
    cleanup: Option<Cleanup>,
) -> Arc<dyn Subject> {
    Arc::new(Ours {
        store,
        keys: Ours::keys(&format!("bench-{tag}"), n),
        data: payload(bytes),
        cleanup,
        versioned: false,
    })
}

/// [`ours`] with versioned saves, on its own sessions of the same store (cleaned up with
/// [`ours`]'s, which remove the whole namespace).
fn ours_versioned(
    store: Arc<dyn SessionStore>,
    tag: &str,
    n: usize,
    bytes: usize,
) -> Arc<dyn Subject> {
    Arc::new(Ours {
        store,
        keys: Ours::keys(&format!("benchv-{tag}"), n),
        data: payload(bytes),
        cleanup: None,
        versioned: true,
    })
}

/// [`ours`] through `Instrumented`, on its own keys (cleaned up with [`ours`]'s).
fn ours_instrumented(
    store: Arc<dyn SessionStore>,
    tag: &str,
    n: usize,
    bytes: usize,
) -> Arc<dyn Subject> {
    Arc::new(Ours {
        store: Arc::new(session_tower::Instrumented::new(store)),
        keys: Ours::keys(&format!("benchi-{tag}"), n),
        data: payload(bytes),
        cleanup: None,
        versioned: false,
    })
}

/// [`ours_versioned`] on owned sessions, on its own keys.
fn ours_owned(store: Arc<dyn SessionStore>, tag: &str, n: usize, bytes: usize) -> Arc<dyn Subject> {
    Arc::new(Ours {
        store,
        keys: Ours::keys(&format!("bencho-{tag}"), n),
        data: owned_payload(bytes),
        cleanup: None,
        versioned: true,
    })
}

fn id_base(tag: &str) -> i128 {
    // Distinct per run tag, far from small ids.
    let h = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    i128::from(h) << 40
}

/// One backend's subjects before they are listed: our store with its cleanup, the raw driver,
/// and tower-sessions.
type Peers = (
    Arc<dyn SessionStore>,
    Option<Cleanup>,
    Arc<dyn Subject>,
    Arc<dyn Subject>,
);

/// Builds the subjects of `backend` for sessions of `bytes` bytes, with `n` session keys each.
pub(crate) async fn build(
    backend: Backend,
    urls: &Urls,
    tag: &str,
    n: usize,
    bytes: usize,
) -> Result<Subjects, BoxError> {
    let record = Arc::new(encoded(bytes)?);
    let (store, ours_cleanup, raw, tower): Peers = match backend {
        Backend::Memory => {
            let store = MemoryStore::builder()
                .max_bytes(16 * 1024 * 1024 * 1024)
                .build();
            let raw = RawMoka {
                cache: RawMoka::cache(),
                keys: (0..n).map(|i| format!("raw-{tag}-{i}")).collect(),
                record,
            };
            let tower = TowerSessions {
                store: Arc::new(tower_sessions_moka_store::MokaStore::new(None)),
                ids: TowerSessions::ids(id_base(tag), n),
                data: tower_payload(bytes),
                cleanup: None,
            };
            (Arc::new(store), None, Arc::new(raw), Arc::new(tower))
        }
        Backend::Redis | Backend::RedisCluster | Backend::RedisSentinel => {
            let cluster = backend == Backend::RedisCluster;
            // The node the raw driver and tower-sessions talk to directly.
            let single = if backend == Backend::RedisSentinel {
                sentinel_primary(urls).await?
            } else {
                urls.redis.clone()
            };
            let (store, conn) = if cluster {
                let store = RedisStore::connect_cluster(&urls.cluster).await?;
                let client = redis::cluster::ClusterClient::new(urls.cluster.clone())?;
                (
                    store,
                    RedisConn::Cluster(client.get_async_connection().await?),
                )
            } else {
                let store = if backend == Backend::RedisSentinel {
                    let (sentinels, master) = urls.sentinels()?;
                    RedisStore::connect_sentinel(
                        &sentinels,
                        &master,
                        redis::sentinel::SentinelNodeConnectionInfo::default(),
                    )
                    .await?
                } else {
                    RedisStore::connect(&single).await?
                };
                let client = redis::Client::open(single.as_str())?;
                let config = redis::aio::ConnectionManagerConfig::new().set_response_timeout(None);
                let conn = redis::aio::ConnectionManager::new_with_config(client, config).await?;
                (store, RedisConn::Single(conn))
            };
            let prefix = format!("bench:{tag}:ours:");
            let store = store.with_prefix(prefix.clone());
            // All of our subjects' sessions (`ours`, `ours_versioned`, `ours_owned`) and the
            // owner's index.
            let mut our_keys: Vec<String> = [
                format!("bench-{tag}"),
                format!("benchv-{tag}"),
                format!("bencho-{tag}"),
                format!("bench-a-{tag}"),
                format!("benchi-{tag}"),
            ]
            .iter()
            .flat_map(|t| Ours::keys(t, n))
            .map(|k| format!("{prefix}{}", k.as_str()))
            .collect();
            let owner = session_core::Owner::new(BENCH_OWNER)?;
            our_keys.push(format!("{prefix}~owner:{}", owner.index().as_str()));
            let ours_cleanup = redis_cleanup(conn.clone(), our_keys);
            let raw = RawRedis {
                conn: conn.clone(),
                keys: (0..n).map(|i| format!("bench:{tag}:raw:{i}")).collect(),
                record,
            };
            let fred_config = if cluster {
                let first = urls.cluster[0].trim_start_matches("redis://");
                let others: Vec<String> = urls.cluster[1..]
                    .iter()
                    .map(|u| format!("node={}", u.trim_start_matches("redis://")))
                    .collect();
                FredConfig::from_url_clustered(&format!(
                    "redis-cluster://{first}?{}",
                    others.join("&")
                ))?
            } else {
                FredConfig::from_url(&single)?
            };
            // The pool size of the store's documentation example.
            let pool = FredBuilder::from_config(fred_config).build_pool(6)?;
            pool.init().await?;
            let ids = TowerSessions::ids(id_base(tag), n);
            let tower_keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
            let tower = TowerSessions {
                store: Arc::new(tower_sessions_redis_store::RedisStore::new(pool)),
                ids,
                data: tower_payload(bytes),
                cleanup: Some(redis_cleanup(conn, tower_keys)),
            };
            if backend == Backend::RedisSentinel {
                let acked = store.clone().with_replica_ack(1, REPLICA_ACK_TIMEOUT);
                let list = vec![
                    (
                        OURS,
                        ours(Arc::new(store.clone()), tag, n, bytes, Some(ours_cleanup)),
                    ),
                    (
                        OURS_REPLICA_ACK,
                        ours(Arc::new(acked), &format!("a-{tag}"), n, bytes, None),
                    ),
                    (RAW, Arc::new(raw) as Arc<dyn Subject>),
                    (TOWER, Arc::new(tower) as Arc<dyn Subject>),
                ];
                return Ok(Subjects {
                    list,
                    store: Arc::new(store),
                });
            }
            (
                Arc::new(store),
                Some(ours_cleanup),
                Arc::new(raw),
                Arc::new(tower),
            )
        }
        Backend::Mongo => {
            let db = "session_bench";
            let ours_coll = format!("ours_{tag}");
            let store = MongoStore::connect(&urls.mongo, db, &ours_coll).await?;
            let client = mongodb::Client::with_uri_str(&urls.mongo).await?;
            let database = client.database(db);
            let raw_coll = database.collection::<mongodb::bson::Document>(&format!("raw_{tag}"));
            // The same TTL index session-mongo keeps, so writes maintain the same indexes.
            let index = mongodb::IndexModel::builder()
                .keys(mongodb::bson::doc! { "expiresAt": 1 })
                .options(
                    mongodb::options::IndexOptions::builder()
                        .expire_after(std::time::Duration::ZERO)
                        .build(),
                )
                .build();
            raw_coll.create_index(index).await?;
            let ours_drop = database.collection::<mongodb::bson::Document>(&ours_coll);
            let ours_cleanup: Cleanup = Box::new(move || {
                let c = ours_drop.clone();
                Box::pin(async move { c.drop().await.map_err(BoxError::from) })
            });
            let raw = RawMongo {
                collection: raw_coll,
                keys: (0..n).map(|i| format!("raw-{tag}-{i}")).collect(),
                record: String::from_utf8(record.to_vec())?,
            };
            let ts_db = format!("session_bench_ts_{tag}");
            let client2 =
                tower_sessions_mongodb_store::mongodb::Client::with_uri_str(&urls.mongo).await?;
            let drop_db = client2.database(&ts_db);
            let tower = TowerSessions011 {
                store: Arc::new(tower_sessions_mongodb_store::MongoDBStore::new(
                    client2, ts_db,
                )),
                ids: TowerSessions011::ids(id_base(tag), n),
                data: tower_payload(bytes),
                cleanup: Some(Box::new(move || {
                    let d = drop_db.clone();
                    Box::pin(async move { d.drop(None).await.map_err(BoxError::from) })
                })),
            };
            (
                Arc::new(store),
                Some(ours_cleanup),
                Arc::new(raw),
                Arc::new(tower),
            )
        }
        Backend::MySql => {
            let ours_table = format!("bench_ours_{tag}");
            let raw_table = format!("bench_raw_{tag}");
            let ts_table = format!("bench_ts_{tag}");
            let store = MySqlStore::connect(&urls.mysql)
                .await?
                .with_table_name(&ours_table)?;
            store.migrate().await?;
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .connect(&urls.mysql)
                .await?;
            MySqlStore::new(pool.clone())
                .with_table_name(&raw_table)?
                .migrate()
                .await?;
            let ours_cleanup = mysql_drop(pool.clone(), ours_table);
            let raw = RawMySql {
                pool: pool.clone(),
                table: raw_table.clone(),
                keys: Ours::keys(&format!("raw-{tag}"), n)
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
                record,
                sql: RawSql::new(&raw_table),
            };
            let ts_pool = tower_sessions_sqlx_store::sqlx::MySqlPool::connect(&urls.mysql).await?;
            let ts_store = tower_sessions_sqlx_store::MySqlStore::new(ts_pool)
                .with_schema_name(urls.mysql_database())?
                .with_table_name(&ts_table)?;
            ts_store.migrate().await?;
            let tower = TowerSessions {
                store: Arc::new(ts_store),
                ids: TowerSessions::ids(id_base(tag), n),
                data: tower_payload(bytes),
                cleanup: Some(mysql_drop(pool, ts_table)),
            };
            (
                Arc::new(store),
                Some(ours_cleanup),
                Arc::new(raw),
                Arc::new(tower),
            )
        }
        Backend::Postgres => return postgres_subjects(urls, tag, n, bytes).await,
        Backend::Sqlite => return sqlite_subjects(tag, n, bytes).await,
    };
    let _ = MAX_AGE;
    let mut list = our_subjects(&store, tag, n, bytes, ours_cleanup);
    list.extend([(RAW, raw), (TOWER, tower)]);
    Ok(Subjects { list, store })
}

/// Our subjects on `store`, each on its own keys: versioned saves, owned sessions, through
/// `Instrumented`, and plain (whose `cleanup` removes all of them).
fn our_subjects(
    store: &Arc<dyn SessionStore>,
    tag: &str,
    n: usize,
    bytes: usize,
    cleanup: Option<Cleanup>,
) -> Vec<(&'static str, Arc<dyn Subject>)> {
    vec![
        (
            OURS_VERSIONED,
            ours_versioned(Arc::clone(store), tag, n, bytes),
        ),
        (OURS_OWNED, ours_owned(Arc::clone(store), tag, n, bytes)),
        (
            OURS_INSTRUMENTED,
            ours_instrumented(Arc::clone(store), tag, n, bytes),
        ),
        (OURS, ours(Arc::clone(store), tag, n, bytes, cleanup)),
    ]
}

/// `redis://host:port` of the primary the sentinels of [`Urls::sentinel`] name now.
async fn sentinel_primary(urls: &Urls) -> Result<String, BoxError> {
    let (sentinels, master) = urls.sentinels()?;
    let mut last = None;
    for sentinel in &sentinels {
        let asked = async {
            let client = redis::Client::open(sentinel.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&master)
                .query_async::<(String, u16)>(&mut conn)
                .await
        };
        match asked.await {
            Ok((host, port)) => return Ok(format!("redis://{host}:{port}")),
            Err(e) => last = Some(e),
        }
    }
    Err(format!("no sentinel named the primary of {master}: {last:?}").into())
}

fn redis_cleanup(conn: RedisConn, keys: Vec<String>) -> Cleanup {
    let keys = Arc::new(keys);
    Box::new(move || {
        let conn = conn.clone();
        let keys = Arc::clone(&keys);
        Box::pin(async move {
            for k in keys.iter() {
                let _: i64 = conn.query(redis::cmd("DEL").arg(k)).await?;
            }
            Ok(())
        })
    })
}

fn mysql_drop(pool: sqlx::MySqlPool, table: String) -> Cleanup {
    Box::new(move || {
        let pool = pool.clone();
        let sql = format!("DROP TABLE IF EXISTS `{table}`");
        Box::pin(async move {
            sqlx::query(AssertSqlSafe(sql)).execute(&pool).await?;
            Ok(())
        })
    })
}

/// The subject list of a backend measured without a raw-driver subject: ours (with and without
/// versioned saves, and on owned sessions) and tower-sessions.
fn without_raw(
    store: Arc<dyn SessionStore>,
    tag: &str,
    n: usize,
    bytes: usize,
    ours_cleanup: Cleanup,
    tower: Arc<dyn Subject>,
) -> Subjects {
    let mut list = our_subjects(&store, tag, n, bytes, Some(ours_cleanup));
    list.push((TOWER, tower));
    Subjects { list, store }
}

/// session-postgres beside tower-sessions-sqlx-store's `PostgresStore`, each in a table of its
/// own, on the server at `POSTGRES_URL`.
async fn postgres_subjects(
    urls: &Urls,
    tag: &str,
    n: usize,
    bytes: usize,
) -> Result<Subjects, BoxError> {
    let ours_table = format!("bench_ours_{tag}");
    let ts_table = format!("bench_ts_{tag}");
    let store = PgStore::connect(&urls.postgres)
        .await?
        .with_table_name(&ours_table)?;
    store.migrate().await?;
    let pool = store.pool().clone();
    let ours_cleanup = sql_drop(
        move |sql| {
            let pool = pool.clone();
            Box::pin(async move {
                session_postgres::sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&pool)
                    .await?;
                Ok(())
            })
        },
        format!("DROP TABLE IF EXISTS \"{ours_table}\""),
    );
    let ts_pool = tower_sessions_sqlx_store::sqlx::PgPool::connect(&urls.postgres).await?;
    let ts_store = tower_sessions_sqlx_store::PostgresStore::new(ts_pool.clone())
        .with_schema_name("public")?
        .with_table_name(&ts_table)?;
    ts_store.migrate().await?;
    let tower = TowerSessions {
        store: Arc::new(ts_store),
        ids: TowerSessions::ids(id_base(tag), n),
        data: tower_payload(bytes),
        cleanup: Some(sql_drop(
            move |sql| {
                let pool = ts_pool.clone();
                Box::pin(async move {
                    tower_sessions_sqlx_store::sqlx::query(&sql)
                        .execute(&pool)
                        .await?;
                    Ok(())
                })
            },
            format!("DROP TABLE IF EXISTS \"public\".\"{ts_table}\""),
        )),
    };
    Ok(without_raw(
        Arc::new(store),
        tag,
        n,
        bytes,
        ours_cleanup,
        Arc::new(tower),
    ))
}

/// session-sqlite beside tower-sessions-sqlx-store's `SqliteStore`, each in a database file of
/// its own (WAL mode for both, as session-sqlite sets it) in the temporary directory.
async fn sqlite_subjects(tag: &str, n: usize, bytes: usize) -> Result<Subjects, BoxError> {
    let dir = std::env::temp_dir();
    let ours_file = dir.join(format!("bench_ours_{tag}.db"));
    let ts_file = dir.join(format!("bench_ts_{tag}.db"));
    let store = SqliteStore::open(&ours_file).await?;
    store.migrate().await?;
    let ours_cleanup = remove_files(ours_file);
    let ts_options = tower_sessions_sqlx_store::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&ts_file)
        .create_if_missing(true)
        .journal_mode(tower_sessions_sqlx_store::sqlx::sqlite::SqliteJournalMode::Wal);
    let ts_pool = tower_sessions_sqlx_store::sqlx::SqlitePool::connect_with(ts_options).await?;
    let ts_store =
        tower_sessions_sqlx_store::SqliteStore::new(ts_pool).with_table_name("tower_sessions")?;
    ts_store.migrate().await?;
    let tower = TowerSessions {
        store: Arc::new(ts_store),
        ids: TowerSessions::ids(id_base(tag), n),
        data: tower_payload(bytes),
        cleanup: Some(remove_files(ts_file)),
    };
    Ok(without_raw(
        Arc::new(store),
        tag,
        n,
        bytes,
        ours_cleanup,
        Arc::new(tower),
    ))
}

/// A cleanup running `sql` through `run`.
fn sql_drop(
    run: impl Fn(String) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>
    + Send
    + Sync
    + 'static,
    sql: String,
) -> Cleanup {
    Box::new(move || run(sql.clone()))
}

/// A cleanup removing an SQLite database and its `-wal` and `-shm` files.
fn remove_files(db: std::path::PathBuf) -> Cleanup {
    Box::new(move || {
        let db = db.clone();
        Box::pin(async move {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
            Ok(())
        })
    })
}
