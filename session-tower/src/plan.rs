//! The end-of-request decision: [`plan`] turns what the handler did into a [`Plan`] without any
//! I/O, and [`apply`] is the one async step that carries it out against the store. Each row of the
//! crate docs' "after the handler" table is a unit test of [`plan`] below.

use http::StatusCode;
use http::header::HeaderValue;
use session_core::{SessionData, SessionKey, SessionStore};

use crate::config::Config;
use crate::cookie::{self, Incoming};
use crate::state::State;

/// What to do after the handler.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan<'a> {
    /// Records to destroy first: the id a `destroy` or `regenerate` abandoned.
    pub(crate) destroy: &'a [SessionKey],
    /// Then, for the session's current id:
    pub(crate) store: StoreStep<'a>,
    /// The `Set-Cookie` to send once the store step succeeded, unless a touch found no record
    /// (see [`Plan::cookie`]).
    pub(crate) cookie: CookieStep<'a>,
}

/// The store operation for the session's current id.
#[derive(Debug, PartialEq)]
pub(crate) enum StoreStep<'a> {
    /// No store I/O.
    Nothing,
    /// `touch`: move the expiry of the existing record, which answers whether it still exists.
    Touch(&'a SessionKey),
    /// `set(changed = true)`: create or replace the record.
    Write(&'a SessionKey, &'a SessionData),
}

/// The session cookie to send.
#[derive(Debug, PartialEq)]
pub(crate) enum CookieStep<'a> {
    /// No `Set-Cookie`.
    None,
    /// The cookie for `key`, saying the record expires at `expires_at` (epoch ms).
    Set {
        key: &'a SessionKey,
        expires_at: i64,
    },
    /// A cookie that makes the browser drop the session cookie.
    Expire,
}

impl<'a> Plan<'a> {
    fn nothing(destroy: &'a [SessionKey]) -> Self {
        Plan {
            destroy,
            store: StoreStep::Nothing,
            cookie: CookieStep::None,
        }
    }

    /// The cookie to send once the store step ran; `found` is a touch's answer (`true` after any
    /// other step). A touch that finds no record (destroyed elsewhere, expired, evicted) clears
    /// the cookie instead of refreshing it: refreshing would keep a dead cookie alive forever and
    /// cost a touch on each of its requests, while without a cookie the next request costs none.
    pub(crate) fn cookie(&self, found: bool) -> &CookieStep<'a> {
        if found {
            &self.cookie
        } else {
            &CookieStep::Expire
        }
    }
}

/// Decides, from the handler's effect on the session alone, what the store and the browser get.
///
/// `Err(status)`: loading the session failed (already logged where it failed); the response
/// becomes `status` and nothing is saved.
pub(crate) fn plan<'a>(
    state: &'a State,
    config: &Config,
    now: i64,
) -> Result<Plan<'a>, StatusCode> {
    if let Some(status) = state.failed {
        return Err(status);
    }
    let destroy = state.obsolete.as_slice();
    let nothing = Plan::nothing(destroy);

    let Some(data) = &state.data else {
        // The handler never touched the session: no load happened (and so nothing is obsolete).
        // Only a cookie the browser sent can need work, and none of it needs the data.
        return Ok(match &state.incoming {
            Incoming::Valid {
                key,
                expires_at,
                resign,
            } => Plan {
                destroy,
                ..keep(key, *expires_at, *resign, config.rolling, config, now)
            },
            Incoming::Absent | Incoming::Invalid => nothing,
        });
    };
    // Every path that sets the data also sets a key.
    let Some(key) = &state.key else {
        return Ok(nothing);
    };
    let fresh = CookieStep::Set {
        key,
        expires_at: now.saturating_add(config.max_age_ms()),
    };

    if state.original.is_none() && data.is_empty() {
        // A new session that stayed empty is not worth a record. A browser still holding a
        // cookie (destroyed, regenerated, forged, or pointing at an expired record) drops it.
        let cookie = match state.incoming {
            Incoming::Absent => CookieStep::None,
            _ => CookieStep::Expire,
        };
        return Ok(Plan { cookie, ..nothing });
    }
    if state.force_write || state.original.as_ref() != Some(data) {
        return Ok(Plan {
            store: StoreStep::Write(key, data),
            cookie: fresh,
            ..nothing
        });
    }
    // An existing session, unchanged: the record the cookie names.
    if state.rolled {
        // The rolling load already moved the record's expiry.
        return Ok(Plan {
            cookie: fresh,
            ..nothing
        });
    }
    Ok(match &state.incoming {
        // Not rolling, or the load would have been a rolling one.
        Incoming::Valid {
            expires_at, resign, ..
        } => Plan {
            destroy,
            ..keep(key, *expires_at, *resign, false, config, now)
        },
        Incoming::Absent | Incoming::Invalid => nothing,
    })
}

/// The plan for the cookie's record when the handler left it as it was (never looked at it, or
/// read it and changed nothing): a touch and a fresh cookie when `rolling` or a due `renew` asks
/// for one, the same expiry re-signed when an older key signed the cookie, otherwise nothing.
fn keep<'a>(
    key: &'a SessionKey,
    expires_at: i64,
    resign: bool,
    rolling: bool,
    config: &Config,
    now: i64,
) -> Plan<'a> {
    let lifetime = config.max_age_ms();
    // koa-session's renew: less than half of the lifetime left on the cookie's expiry.
    let renew_due = config.renew && expires_at.saturating_sub(now) < lifetime / 2;
    if rolling || renew_due {
        Plan {
            destroy: &[],
            store: StoreStep::Touch(key),
            cookie: CookieStep::Set {
                key,
                expires_at: now.saturating_add(lifetime),
            },
        }
    } else if resign && expires_at > now {
        Plan {
            destroy: &[],
            store: StoreStep::Nothing,
            cookie: CookieStep::Set { key, expires_at },
        }
    } else {
        Plan::nothing(&[])
    }
}

/// Carries out `plan` against `store` and returns the `Set-Cookie` to send, if any. `now` must be
/// the instant the plan was made with.
pub(crate) async fn apply(
    plan: &Plan<'_>,
    store: &dyn SessionStore,
    config: &Config,
    now: i64,
) -> Result<Option<HeaderValue>, session_core::Error> {
    for old in plan.destroy {
        store.destroy(old).await?;
    }
    let found = match plan.store {
        StoreStep::Nothing => true,
        StoreStep::Touch(key) => store.touch(key, config.max_age).await?,
        StoreStep::Write(key, data) => {
            store.set(key, data, config.max_age, true).await?;
            true
        }
    };
    if !found {
        tracing::debug!("session record gone; expiring its cookie instead of refreshing it");
    }
    Ok(match plan.cookie(found) {
        CookieStep::None => None,
        CookieStep::Set { key, expires_at } => {
            Some(cookie::set_cookie(config, key, *expires_at, now))
        }
        CookieStep::Expire => Some(cookie::expire_cookie(config)),
    })
}

#[cfg(test)]
mod tests;
