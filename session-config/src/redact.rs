//! Keeping secrets out of `Debug`, `Display`, errors and logs: one rule, [`redact_url`], for
//! every URL this crate shows.

use std::fmt;

/// What a hidden value is replaced with.
const MASK: &str = "***";

/// A query option is a secret when its name, lower-cased and without `-` and `_`, contains one
/// of these (`password`, `tlsCertificateKeyFilePassword`, `ssl-key-password`, `sessionToken`, …).
const SECRET_NAME_PARTS: [&str; 8] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "credential",
    "apikey",
    "accesskey",
];

/// Options whose value may carry a secret although their name does not say so, compared the same
/// way. MongoDB's `authMechanismProperties` holds e.g. `AWS_SESSION_TOKEN:…`.
const SECRET_NAMES: [&str; 1] = ["authmechanismproperties"];

/// A string holding credentials (a connection URL). `Debug` shows it through [`redact_url`];
/// [`Secret::expose`] gives the real value to the driver.
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

/// `url` as it may be shown: the userinfo password and the value of every secret query option
/// replaced by `***`, everything else as written.
///
/// Secret options are those whose name (case-insensitive, `-` and `_` ignored, percent-decoded)
/// contains `password`, `passwd`, `pwd`, `secret`, `token`, `credential`, `apikey` or
/// `accesskey`, and MongoDB's `authMechanismProperties`. Works on the text rather than a parsed
/// URL so that multi-host forms (`mongodb://u:p@h1,h2/`) are redacted too; a string without
/// `scheme://` is not shown at all.
///
/// ```
/// use session_config::redact_url;
/// assert_eq!(
///     redact_url("mongodb://app:pw@h1,h2/db?tlsCertificateKeyFilePassword=pw2&replicaSet=rs0"),
///     "mongodb://app:***@h1,h2/db?tlsCertificateKeyFilePassword=***&replicaSet=rs0",
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => out.push_str(&format!("{user}:{MASK}")),
                None => out.push_str(userinfo),
            }
            out.push('@');
            out.push_str(hosts);
        }
        None => out.push_str(authority),
    }
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            out.push_str(&redact_query(query));
        }
        None => out.push_str(tail),
    }
    out
}

/// The secrets `url` holds: its userinfo password and the values of its secret options, each as
/// written and percent-decoded. Empty values are left out.
pub(crate) fn secrets_in(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some((_, rest)) = url.split_once("://") else {
        return found;
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if let Some((_, password)) = authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
    {
        found.push(password.to_owned());
    }
    if let Some((_, query)) = tail.split_once('?') {
        for pair in query.split(['&', ';']) {
            if let Some((name, value)) = pair.split_once('=') {
                if is_secret_option(name) {
                    found.push(value.to_owned());
                }
            }
        }
    }
    let decoded: Vec<String> = found
        .iter()
        .map(|s| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty());
    found
}

/// `e`, or when its text (with its sources, or its `Debug` form) contains a secret of `urls`, an
/// error of the same kind whose details are withheld. Drivers sometimes quote a URL's options in
/// their errors (the MongoDB driver quotes a malformed `authMechanismProperties`).
pub(crate) fn withhold_secrets<'a>(
    e: session_core::Error,
    backend: &'static str,
    urls: impl IntoIterator<Item = &'a Secret>,
) -> session_core::Error {
    use session_core::Error;
    let shown = format!("{} {e:?}", session_core::error_chain(&e));
    let leaks = urls
        .into_iter()
        .flat_map(|url| secrets_in(url.expose()))
        .any(|secret| shown.contains(&secret));
    if !leaks {
        return e;
    }
    const WITHHELD: &str = "details withheld: they contain a secret from the store URL";
    match e {
        Error::Unavailable { backend, .. } => Error::unavailable(backend, WITHHELD),
        Error::Backend { backend, .. } => Error::backend(backend, WITHHELD),
        Error::Config { backend, .. } => Error::config(backend, WITHHELD),
        _ => Error::config(backend, WITHHELD),
    }
}

/// The query with the value of every secret option masked. Splits on `;` as well as `&`
/// (MongoDB accepts both), so a mis-separated secret is masked rather than shown.
fn redact_query(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    loop {
        let end = rest.find(['&', ';']).unwrap_or(rest.len());
        let (pair, after) = rest.split_at(end);
        match pair.split_once('=') {
            Some((name, _value)) if is_secret_option(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(pair),
        }
        let mut chars = after.chars();
        match chars.next() {
            Some(separator) => {
                out.push(separator);
                rest = chars.as_str();
            }
            None => return out,
        }
    }
}

/// Whether a query option named `name` (as written, possibly percent-encoded) holds a secret.
fn is_secret_option(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(name.as_bytes())
        .map(|(k, _)| k.into_owned())
        .collect();
    let normalized: String = decoded
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.contains(&normalized.as_str())
        || SECRET_NAME_PARTS
            .iter()
            .any(|part| normalized.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_password_is_masked_and_the_user_kept() {
        assert_eq!(
            redact_url("redis://user:hunter2@h:6379/2"),
            "redis://user:***@h:6379/2"
        );
        assert_eq!(redact_url("redis://:hunter2@h"), "redis://:***@h");
        assert_eq!(redact_url("mysql://user@h/db"), "mysql://user@h/db");
    }

    #[test]
    fn a_password_containing_at_signs_is_masked_whole() {
        assert_eq!(
            redact_url("mongodb://u:a@b@h1,h2/db"),
            "mongodb://u:***@h1,h2/db"
        );
    }

    #[test]
    fn secret_query_options_are_masked_and_others_kept() {
        assert_eq!(
            redact_url(
                "mongodb://h/db?authMechanism=MONGODB-AWS\
                 &authMechanismProperties=AWS_SESSION_TOKEN:tok3n\
                 &tlsCertificateKeyFilePassword=hunter2&replicaSet=rs0"
            ),
            "mongodb://h/db?authMechanism=MONGODB-AWS&authMechanismProperties=***\
             &tlsCertificateKeyFilePassword=***&replicaSet=rs0"
        );
        assert_eq!(
            redact_url("mysql://h/db?ssl-key-password=x&ssl-mode=required&PASSWORD=y"),
            "mysql://h/db?ssl-key-password=***&ssl-mode=required&PASSWORD=***"
        );
        assert_eq!(
            redact_url("redis://h/?sessionToken=x;clientSecret=y;protocol=resp3"),
            "redis://h/?sessionToken=***;clientSecret=***;protocol=resp3"
        );
    }

    #[test]
    fn percent_encoded_option_names_are_still_recognised() {
        assert_eq!(
            redact_url("mongodb://h/?auth%4DechanismProperties=AWS_SESSION_TOKEN:x&pass%77ord=y"),
            "mongodb://h/?auth%4DechanismProperties=***&pass%77ord=***"
        );
    }

    #[test]
    fn secrets_are_found_as_written_and_decoded() {
        let mut found = secrets_in("mongodb://u:p%40ss@h/?authMechanismProperties=A:b%2Bc&x=y");
        found.sort();
        assert_eq!(found, ["A:b%2Bc", "A:b+c", "p%40ss", "p@ss"]);
        assert!(secrets_in("redis://u@h/?password=").is_empty());
    }

    #[test]
    fn an_error_quoting_a_secret_is_withheld_with_its_kind_kept() {
        let url = Secret::new("mongodb://h/?authMechanismProperties=hunter2".to_owned());
        let quoting = session_core::Error::unavailable("mongo", "got hunter2");
        let withheld = withhold_secrets(quoting, "mongo", [&url]);
        assert!(withheld.is_transient());
        assert!(
            !format!("{} {withheld:?}", session_core::error_chain(&withheld)).contains("hunter2")
        );
        let harmless = session_core::Error::config("mongo", "bad replicaSet");
        let kept = withhold_secrets(harmless, "mongo", [&url]);
        assert_eq!(
            kept.to_string(),
            "mongo configuration error: bad replicaSet"
        );
    }

    #[test]
    fn a_string_without_a_scheme_is_not_shown() {
        assert_eq!(redact_url("user:hunter2@h"), "<not a URL>");
    }

    #[test]
    fn secret_debug_is_redacted_and_expose_is_not() {
        let s = Secret::new("redis://u:hunter2@h/?password=x".to_owned());
        assert_eq!(format!("{s:?}"), r#""redis://u:***@h/?password=***""#);
        assert_eq!(s.expose(), "redis://u:hunter2@h/?password=x");
    }
}
