//! Keeping passwords out of `Debug`, `Display` and errors.

use std::fmt;

/// A string holding credentials (a connection URL). `Debug` shows it with the password
/// replaced by `***`; [`Secret::expose`] gives the real value to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(s: String) -> Self {
        Secret(s)
    }

    /// The real value, password included. Hand it to a driver; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

/// `url` with its password (if any) replaced by `***`. Works on strings rather than parsed URLs
/// so that multi-host forms (`mongodb://u:p@h1,h2/`, cluster lists) are redacted too.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable url>".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{masked}@{hosts}{tail}")
        }
        None => url.to_owned(),
    }
}
