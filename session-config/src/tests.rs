use std::time::Duration;

use crate::{Backend, ConfigError, StoreConfig};

fn parse(s: &str) -> StoreConfig {
    StoreConfig::from_url(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn parse_err(s: &str) -> ConfigError {
    match StoreConfig::from_url(s) {
        Ok(c) => panic!("{s} parsed as {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn memory_with_capacity_and_common_options() {
    let c = parse("memory://?max_bytes=1048576&timeout_ms=250&max_record_bytes=4096");
    assert_eq!(
        c.backend(),
        &Backend::Memory {
            max_bytes: Some(1 << 20)
        }
    );
    assert_eq!(c.options().timeout, Some(Duration::from_millis(250)));
    assert_eq!(c.options().max_record_bytes, Some(4096));
    assert_eq!(
        parse("memory://").backend(),
        &Backend::Memory { max_bytes: None }
    );
}

#[test]
fn redis_takes_prefix_out_and_keeps_driver_options() {
    let c = parse("redis://:pw@127.0.0.1:6379/2?prefix=app:&protocol=resp3");
    let Backend::Redis { url, prefix } = c.backend() else {
        panic!("{c:?}")
    };
    assert_eq!(prefix.as_deref(), Some("app:"));
    assert_eq!(url.expose(), "redis://:pw@127.0.0.1:6379/2?protocol=resp3");
    assert!(matches!(
        parse("rediss://h:6380").backend(),
        Backend::Redis { .. }
    ));
}

#[test]
fn redis_cluster_lists_every_node_with_credentials() {
    let c = parse("redis+cluster://user:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002/?prefix=s:");
    let Backend::RedisCluster { nodes, prefix } = c.backend() else {
        panic!("{c:?}")
    };
    let nodes: Vec<&str> = nodes.iter().map(|n| n.expose()).collect();
    assert_eq!(
        nodes,
        [
            "redis://user:pw@10.0.0.1:7000",
            "redis://user:pw@10.0.0.2:7001",
            "redis://user:pw@10.0.0.3:7002"
        ]
    );
    assert_eq!(prefix.as_deref(), Some("s:"));
    let Backend::RedisCluster { nodes, .. } = parse("rediss+cluster://a:1,b:2").backend().clone()
    else {
        panic!()
    };
    assert!(nodes.iter().all(|n| n.expose().starts_with("rediss://")));
}

#[test]
fn mongo_database_from_path_or_option() {
    let c = parse("mongodb://u:p@h1:27017,h2:27017/appdb?replicaSet=rs0&collection=web");
    let Backend::Mongo {
        url,
        database,
        collection,
    } = c.backend()
    else {
        panic!("{c:?}")
    };
    assert_eq!(database, "appdb");
    assert_eq!(collection.as_deref(), Some("web"));
    assert!(url.expose().contains("replicaSet=rs0") && !url.expose().contains("collection"));
    let Backend::Mongo { database, .. } = parse("mongodb+srv://cluster.example.com/?database=x")
        .backend()
        .clone()
    else {
        panic!()
    };
    assert_eq!(database, "x");
    let Backend::Mongo { database, .. } = parse("mongodb://h").backend().clone() else {
        panic!()
    };
    assert_eq!(database, "sessions");
}

#[test]
fn mysql_options_and_mariadb_alias() {
    let c = parse(
        "mariadb://root:pw@127.0.0.1:3306/test?table=web&migrate=false&cleanup_interval_s=0&ssl-mode=disabled",
    );
    let Backend::MySql {
        url,
        table,
        migrate,
        cleanup_interval,
    } = c.backend()
    else {
        panic!("{c:?}")
    };
    assert_eq!(
        url.expose(),
        "mysql://root:pw@127.0.0.1:3306/test?ssl-mode=disabled"
    );
    assert_eq!(table.as_deref(), Some("web"));
    assert!(!migrate);
    assert_eq!(*cleanup_interval, None);
    let Backend::MySql {
        cleanup_interval,
        migrate,
        ..
    } = parse("mysql://h/db").backend().clone()
    else {
        panic!()
    };
    assert!(migrate);
    assert_eq!(cleanup_interval, Some(Duration::from_secs(900)));
}

#[test]
fn typos_and_bad_values_are_typed_errors() {
    assert!(
        matches!(parse_err("memcached://h"), ConfigError::UnknownScheme { scheme } if scheme == "memcached")
    );
    assert!(matches!(
        parse_err("not a url"),
        ConfigError::MalformedUrl { .. }
    ));
    assert!(matches!(
        parse_err("redis://"),
        ConfigError::MalformedUrl { .. }
    ));
    assert!(matches!(
        parse_err("redis+cluster://a:1,,b:2"),
        ConfigError::MalformedUrl { .. }
    ));
    assert!(matches!(
        parse_err("redis://h?prefx=a"),
        ConfigError::UnknownOption { backend: "redis", option } if option == "prefx"
    ));
    assert!(matches!(
        parse_err("mysql://h/db?tabel=x"),
        ConfigError::UnknownOption { .. }
    ));
    assert!(matches!(
        parse_err("memory://?max_bytes=lots"),
        ConfigError::InvalidOption { .. }
    ));
    assert!(matches!(
        parse_err("memory://?timeout_ms=0"),
        ConfigError::InvalidOption { .. }
    ));
    assert!(matches!(
        parse_err("mysql://h/db?migrate=maybe"),
        ConfigError::InvalidOption { .. }
    ));
    assert!(matches!(
        parse_err("redis://h?prefix=a&prefix=b"),
        ConfigError::InvalidOption { .. }
    ));
    assert!(matches!(
        parse_err("memory://somehost"),
        ConfigError::MalformedUrl { .. }
    ));
}

#[test]
fn passwords_never_appear_in_errors_debug_or_display() {
    for url in [
        "redis://:hunter2@h:6379/?prefix=a",
        "redis+cluster://u:hunter2@a:1,b:2",
        "mongodb://u:hunter2@h/db",
        "mysql://u:hunter2@h/db",
    ] {
        let c = parse(url);
        for shown in [format!("{c:?}"), c.to_string()] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
    for bad in [
        "redis://:hunter2@h:99999",
        "mysql://u:hunter2@h/db?bogus=1",
        "redis+cluster://u:hunter2@a:x",
    ] {
        let e = parse_err(bad);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    }
}

#[test]
fn deserializes_from_a_string_or_a_table() {
    let c: StoreConfig = serde_json::from_str(r#""memory://""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, StoreConfig::default());
    let c: StoreConfig =
        serde_json::from_str(r#"{"url": "redis://h", "timeout_ms": 75, "max_record_bytes": 9}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.options().timeout, Some(Duration::from_millis(75)));
    assert_eq!(c.options().max_record_bytes, Some(9));
    let e = serde_json::from_str::<StoreConfig>(r#""bogus://x""#)
        .err()
        .map(|e| e.to_string());
    assert!(e.is_some_and(|e| e.contains("unknown session store scheme")));
}

#[cfg(not(feature = "mongo"))]
#[tokio::test]
async fn a_backend_that_is_not_compiled_in_names_its_feature() {
    match crate::connect(&parse("mongodb://127.0.0.1:27017/x")).await {
        Err(ConfigError::FeatureDisabled { feature, .. }) => assert_eq!(feature, "mongo"),
        Err(e) => panic!("{e}"),
        Ok(s) => panic!("connected to {s:?}"),
    }
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn memory_url_opens_a_working_store() {
    use session_core::{Duration as Ttl, SessionData, SessionKey};
    let store = crate::connect(&parse("memory://?max_record_bytes=64"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let key = SessionKey::generate();
    let mut data = SessionData::new();
    data.insert("x", "y".repeat(100))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        store.set(&key, &data, Ttl::minutes(1), true).await,
        Err(session_core::Error::TooLarge { limit: 64, .. })
    ));
}

#[cfg(all(feature = "redis", not(feature = "redis-tls")))]
#[tokio::test]
async fn rediss_without_the_tls_feature_names_it() {
    match crate::connect(&parse("rediss://127.0.0.1:6380")).await {
        Err(ConfigError::FeatureDisabled { feature, .. }) => assert_eq!(feature, "redis-tls"),
        Err(e) => panic!("{e}"),
        Ok(s) => panic!("connected to {s:?}"),
    }
}
