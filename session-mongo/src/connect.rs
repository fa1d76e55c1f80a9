//! Building a client from a URL without leaking the password into errors.

use std::future::IntoFuture;
use std::time::Duration;

use mongodb::Client;
use mongodb::error::ErrorKind;
use mongodb::options::ClientOptions;
use session_core::{Error, Result};

use crate::error::{self, BACKEND};

/// Server selection timeout [`connect`] sets when the URL does not set `serverSelectionTimeoutMS`:
/// the driver's default of 30 s would make every request wait half a minute while the server is
/// down. Shorter than [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT), so an unreachable server is
/// reported as [`Error::Unavailable`] with the driver's explanation rather than as a bare timeout.
pub(crate) const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// Parses `url` and builds a client; no I/O except the DNS lookups of a `mongodb+srv://` URL.
pub(crate) async fn client(url: &str, timeout: Duration) -> Result<Client> {
    let parsed = tokio::time::timeout(timeout, ClientOptions::parse(url).into_future())
        .await
        .map_err(|_| Error::timeout(BACKEND, timeout))?;
    let mut options = parsed.map_err(|e| parse_error(url, e))?;
    if options.server_selection_timeout.is_none() {
        options.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
    }
    if options.connect_timeout.is_none() {
        options.connect_timeout = Some(SERVER_SELECTION_TIMEOUT);
    }
    if options.app_name.is_none() {
        options.app_name = Some("session-mongo".to_owned());
    }
    Client::with_options(options).map_err(|e| parse_error(url, e))
}

/// A URL the driver rejected: [`Error::Config`], unless it was a DNS failure of a
/// `mongodb+srv://` URL (transient). The driver's message is kept only when it does not contain
/// the URL's credentials.
fn parse_error(url: &str, e: mongodb::error::Error) -> Error {
    if matches!(e.kind.as_ref(), ErrorKind::DnsResolve { .. }) {
        return error::map(e);
    }
    let shown = format!("{e} {e:?}");
    let leaks = userinfo(url).is_some_and(|secret| shown.contains(secret));
    if leaks {
        Error::config(
            BACKEND,
            "invalid MongoDB URL (details withheld: they contain the credentials)",
        )
    } else {
        Error::config_with_source(BACKEND, "invalid MongoDB URL", e)
    }
}

/// The password of `url` (or the whole user-info part when it has no `:`), if any.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // The user info ends at the last `@` before the path; a password may itself contain `@`, `/`
    // or `?` when the user forgot to percent-encode it, so search up to the last `@` overall.
    let (info, _) = rest.rsplit_once('@')?;
    let secret = info.split_once(':').map_or(info, |(_, password)| password);
    (!secret.is_empty()).then_some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_secret_part_of_a_url() {
        assert_eq!(userinfo("mongodb://u:p%40ss@h:1/db"), Some("p%40ss"));
        assert_eq!(userinfo("mongodb://u:p@ss@h/x"), Some("p@ss"));
        assert_eq!(userinfo("mongodb://token@h"), Some("token"));
        assert_eq!(userinfo("mongodb://h:27017"), None);
    }

    #[tokio::test]
    async fn a_malformed_url_is_a_config_error_without_the_password() {
        for url in [
            "mongodb://user:s3cr3t-pw@host:notaport/db",
            "mongodb://user:s3cr3t-pw@/db",
            "postgres://user:s3cr3t-pw@host/db",
            "mongodb://user:s3cr3t-pw@host/db?readPreference=s3cr3t-pw",
        ] {
            match client(url, Duration::from_secs(5)).await {
                Err(e @ Error::Config { .. }) => {
                    let chain = chain(&e);
                    assert!(!chain.contains("s3cr3t"), "{url}: {chain}");
                }
                other => panic!("{url}: expected a configuration error, got {other:?}"),
            }
        }
    }

    fn chain(e: &dyn std::error::Error) -> String {
        let mut out = format!("{e} {e:?}");
        let mut source = e.source();
        while let Some(s) = source {
            out.push_str(&format!(" {s} {s:?}"));
            source = s.source();
        }
        out
    }
}
