//! `mongodb://` and `mongodb+srv://`. Parsed by hand: seed lists (`h1:27017,h2:27017`) are not
//! URLs the `url` crate accepts, and the driver validates its own (many) options, so only ours
//! are taken out.

use crate::redact::Secret;
use crate::scheme::query::{Query, parse_query};
use crate::{Backend, ConfigError, StoreConfig};

/// A seed list.
pub(crate) const SCHEME: &str = "mongodb";
/// A DNS seed list.
pub(crate) const SRV_SCHEME: &str = "mongodb+srv";
/// The backend's name, as [`Backend::name`] gives it, and the cargo feature that compiles it in.
pub(crate) const BACKEND: &str = "mongo";
/// Collection (`collection=`).
pub(crate) const COLLECTION: &str = "collection";
/// Database (`database=`), when the URL's path does not name it.
pub(crate) const DATABASE: &str = "database";
/// The database when neither the path nor `database=` names one.
pub(crate) const DEFAULT_DATABASE: &str = "sessions";

/// Parses `mongodb[+srv]://[user:pass@]host1[:port1][,host2…][/database][?options]`. `scheme` is
/// the URL's scheme, lower-cased.
pub(crate) fn parse(s: &str, scheme: &str) -> Result<StoreConfig, ConfigError> {
    let rest = &s[scheme.len() + "://".len()..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // MongoDB's URI rules require `@`, `/`, `?` and `:` in a user name or password to be
    // percent-encoded. Unencoded, the password's tail would land in the database name or the
    // driver's options and be shown, so refuse rather than guess.
    if tail.contains('@') {
        return Err(ConfigError::malformed(
            "`@` after the host list: percent-encode `@`, `/`, `?` and `:` in the user name \
             and password (and `@` in option values)",
        ));
    }
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let path_db = path.trim_start_matches('/');
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hosts.is_empty() || hosts.split(',').any(|h| h.trim().is_empty()) {
        return Err(ConfigError::malformed(
            "a mongodb URL needs at least one host, and no empty ones",
        ));
    }
    let mut q = Query::split(&parse_query(query)?, &[COLLECTION, DATABASE]);
    let options = q.common()?;
    let collection = q.take(COLLECTION)?;
    let database = match q.take(DATABASE)? {
        Some(db) => db,
        None if !path_db.is_empty() => path_db.to_owned(),
        None => DEFAULT_DATABASE.to_owned(),
    };
    let mut url = format!("{scheme}://{authority}/");
    let driver_query = q.driver_query();
    if !driver_query.is_empty() {
        url.push('?');
        url.push_str(&driver_query);
    }
    let backend = Backend::Mongo {
        url: Secret::new(url),
        database,
        collection,
    };
    Ok(StoreConfig::new(backend, options))
}

/// Opens the store, ensuring its TTL index.
#[cfg(feature = "mongo")]
pub(crate) async fn connect(
    url: &Secret,
    database: &str,
    collection: Option<&str>,
    options: &crate::CommonOptions,
) -> Result<std::sync::Arc<dyn session_core::SessionStore>, ConfigError> {
    if options.format == crate::StoreFormat::Express {
        let collection = collection.unwrap_or(session_mongo::CONNECT_MONGO_COLLECTION);
        let client = session_mongo::mongodb::Client::with_uri_str(url.expose())
            .await
            .map_err(|e| {
                session_core::Error::config_with_source("mongo", "invalid MongoDB URL", e)
            })?;
        let store =
            session_mongo::ConnectMongoStore::new(&client.database(database), collection).await?;
        return Ok(std::sync::Arc::new(store));
    }
    let collection = collection.unwrap_or(session_mongo::DEFAULT_COLLECTION);
    let mut store = session_mongo::MongoStore::connect(url.expose(), database, collection).await?;
    if let Some(t) = options.timeout {
        store = store.with_timeout(t);
    }
    if let Some(max) = options.max_record_bytes {
        store = store.with_max_record_bytes(max);
    }
    if let Some(r) = options.expiry_resolution {
        store = store.with_expiry_resolution(r);
    }
    Ok(std::sync::Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::*;

    fn mongo(url: &str) -> (String, String, Option<String>) {
        let c = StoreConfig::from_url(url).unwrap();
        let Backend::Mongo {
            url,
            database,
            collection,
        } = c.backend()
        else {
            panic!("{c:?}")
        };
        (
            url.expose().to_owned(),
            database.clone(),
            collection.clone(),
        )
    }

    #[test]
    fn collection_is_taken_out_and_driver_options_kept() {
        let (url, database, collection) =
            mongo("mongodb://u:p@h1:27017,h2:27017/appdb?replicaSet=rs0&collection=web");
        assert_eq!(url, "mongodb://u:p@h1:27017,h2:27017/?replicaSet=rs0");
        assert_eq!(database, "appdb");
        assert_eq!(collection.as_deref(), Some("web"));
    }

    #[test]
    fn the_database_comes_from_the_option_then_the_path_then_the_default() {
        assert_eq!(mongo("mongodb+srv://c.example.com/p?database=x").1, "x");
        assert_eq!(mongo("mongodb://h/p").1, "p");
        assert_eq!(mongo("mongodb://h").1, "sessions");
        assert_eq!(mongo("mongodb://h?replicaSet=rs0").1, "sessions");
    }

    #[test]
    fn empty_hosts_and_unencoded_credentials_are_rejected() {
        assert_each_refused(
            &[
                "mongodb://",
                "mongodb://h1,,h2/db",
                "mongodb://u:p@/db",
                "mongodb://u:pa/ss@h/db",
                "mongodb://u:pa?ss@h/db",
            ],
            malformed,
        );
    }

    #[cfg(not(feature = "mongo"))]
    #[tokio::test]
    async fn connect_without_the_mongo_feature_names_it() {
        assert_needs_feature(&["mongodb://127.0.0.1:27017/x"], "mongo").await;
    }
}
