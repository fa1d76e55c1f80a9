//! What each command does, against the store the URL names.

use std::sync::Arc;

use serde_json::json;
use session_config::{ConfigError, StoreConfig};
use session_core::{Owner, ScanCursor, SessionHandle, SessionKey, SessionStore};

use crate::Failure;
use crate::cli::{Cli, Command};
use crate::output::{self, Out, Progress};

pub(crate) async fn run(cli: &Cli) -> Result<(), Failure> {
    let store = connect(&cli.store).await?;
    let mut out = Out::new(cli.json);
    match &cli.command {
        Command::Count => {
            let mut count = 0_u64;
            each_key(&*store, cli.page_size, |_| {
                count += 1;
                true
            })
            .await?;
            out.result(&format!("{count}"), json!({ "count": count }));
        }
        Command::List { owner: Some(owner) } => {
            let owner = owner_arg(owner)?;
            let sessions = store.list_owned(&owner).await?;
            for session in &sessions {
                let (text, value) = output::owned(session);
                out.item(&text, value);
            }
            out.end_list(sessions.len() as u64);
        }
        Command::List { owner: None } => {
            let mut count = 0_u64;
            each_key(&*store, cli.page_size, |key| {
                let handle = SessionHandle::of(key);
                out.item(handle.as_str(), json!({ "handle": handle.as_str() }));
                count += 1;
                true
            })
            .await?;
            out.end_list(count);
        }
        Command::Inspect { handle } => inspect(&*store, cli.page_size, handle, &out).await?,
        Command::PurgeExpired { batch } => {
            let progress = Progress::start();
            let mut total = 0_u64;
            let result = loop {
                match store.purge_expired(*batch).await {
                    Ok(0) => break Ok(()),
                    Ok(removed) => {
                        total += removed;
                        progress.batch(removed, total);
                    }
                    Err(e) => break Err(e),
                }
            };
            progress.finish();
            result?;
            out.result(
                &format!("purged {total} expired sessions"),
                json!({ "purged": total }),
            );
        }
        Command::EndUser { owner } => {
            let owner = owner_arg(owner)?;
            let ended = store.destroy_owned(&owner, None).await?;
            out.result(
                &format!("ended {ended} sessions of {}", owner.as_str()),
                json!({ "owner": owner.as_str(), "ended": ended }),
            );
        }
    }
    Ok(())
}

/// The store `url` names, connected.
async fn connect(url: &str) -> Result<Arc<dyn SessionStore>, Failure> {
    let config = StoreConfig::from_url(url)
        .map_err(|e| Failure::new(Failure::CONFIG, format!("bad store URL: {e}")))?;
    match session_config::connect(&config).await {
        Ok(store) => Ok(store),
        Err(ConfigError::Store(e)) if e.is_transient() => Err(Failure::new(
            Failure::STORE,
            format!(
                "cannot reach the store at {config}: {}",
                session_core::error_chain(&e)
            ),
        )),
        Err(e) => Err(Failure::new(
            Failure::CONFIG,
            format!("cannot open the store at {config}: {}", chain(&e)),
        )),
    }
}

fn chain(e: &ConfigError) -> String {
    session_core::error_chain(e)
}

fn owner_arg(owner: &str) -> Result<Owner, Failure> {
    Owner::new(owner).map_err(|e| Failure::new(Failure::CONFIG, format!("bad owner: {e}")))
}

/// Calls `f` with the key of every session, a page at a time, until it answers `false`.
async fn each_key(
    store: &dyn SessionStore,
    page_size: u32,
    mut f: impl FnMut(&SessionKey) -> bool,
) -> Result<(), Failure> {
    let mut cursor = ScanCursor::start();
    loop {
        let page = store.scan(&cursor, page_size).await?;
        for key in &page.keys {
            if !f(key) {
                return Ok(());
            }
        }
        match page.next {
            Some(next) => cursor = next,
            None => return Ok(()),
        }
    }
}

/// Prints the data of the session named by `handle`, found by a scan.
async fn inspect(
    store: &dyn SessionStore,
    page_size: u32,
    handle: &str,
    out: &Out,
) -> Result<(), Failure> {
    let wanted = SessionHandle::parse(handle).map_err(|_| {
        Failure::new(
            Failure::NOT_FOUND,
            format!("not a session handle: {handle:?}"),
        )
    })?;
    let mut found = None;
    each_key(store, page_size, |key| {
        if SessionHandle::of(key) == wanted {
            found = Some(key.clone());
            return false;
        }
        true
    })
    .await?;
    let unknown = || {
        Failure::new(
            Failure::NOT_FOUND,
            format!("no session with handle {handle}"),
        )
    };
    let key = found.ok_or_else(unknown)?;
    // Not rolling: looking at a session must not keep it alive. The max age is only validated.
    let loaded = store
        .load(&key, session_core::Duration::minutes(1), false)
        .await?
        .ok_or_else(unknown)?;
    let data = serde_json::Value::Object(loaded.data.as_map().clone());
    let pretty = serde_json::to_string_pretty(&data).unwrap_or_default();
    out.result(
        &format!("session {handle} (id redacted)\n{pretty}"),
        json!({ "handle": handle, "id": "[redacted]", "data": data }),
    );
    Ok(())
}
