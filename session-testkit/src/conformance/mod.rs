//! The conformance suite: one check per clause of the [`SessionStore`](session_core::SessionStore)
//! contract.
//!
//! Each check takes the [`Harness`] of one backend and panics with a message naming the clause
//! when the store breaks it. Expiry checks use short real TTLs (about a second), because on
//! Redis, MongoDB and MySQL the server's clock or TTL machinery is part of what is tested.
//!
//! Several checks are regressions for bugs that reached users of other session libraries: a save
//! after expiry doing nothing (tower-sessions-stores #19), memory stores returning expired
//! sessions (tower-sessions #82), a touch resurrecting a logged-out session
//! (session-file-store #55).
//!
//! The checks are listed once, in [`conformance_suite!`](crate::conformance_suite); [`CHECKS`]
//! is built from that list, and a backend runs them all with the macro. Each check's contract
//! clause is in its documentation in `checks.rs`.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use crate::Harness;

mod checks;
mod lifetime;
mod owners;

/// The record size limit a conformance factory must configure: 200 000 bytes.
pub const MAX_RECORD_BYTES: usize = 200_000;

/// The future a check returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// One conformance check: its name (the test's name) and how to run it.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The check's function name, as in the test names `<backend>::<name>`.
    pub name: &'static str,
    /// Runs the check against a backend; panics when the store breaks the clause.
    pub run: for<'a> fn(&'a Harness) -> CheckFuture<'a>,
}

crate::conformance_suite!(@checks @table);

/// Runs the check called `name` against `harness`.
///
/// # Panics
/// When the store breaks the check's clause, or no check has that name.
pub async fn run(name: &str, harness: &Harness) {
    let check = CHECKS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no conformance check is called {name}"));
    (check.run)(harness).await;
}

/// The name of the test [`conformance_suite!`](crate::conformance_suite) adds to each backend's
/// module to call [`assert_every_check_stamped`].
pub const SELF_CHECK: &str = "every_conformance_check_has_a_test";

/// Asserts that the running test binary holds one test `<backend>::<check>` for every check in
/// [`CHECKS`] and no other stamped test: it asks the binary itself for its list of tests
/// (`--list`), so it sees what was really compiled, whatever the macro does.
///
/// # Panics
/// When a check has no test, or the module holds a test that is no check.
pub fn assert_every_check_stamped(backend: &str) {
    let exe = std::env::current_exe().unwrap();
    let listed = std::process::Command::new(&exe)
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{} --list failed", exe.display());
    let listed = String::from_utf8(listed.stdout).unwrap();
    let prefix = format!("{backend}::");
    let stamped: BTreeSet<&str> = listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test")?.strip_prefix(prefix.as_str()))
        .filter(|name| *name != SELF_CHECK)
        .collect();
    let checks: BTreeSet<&str> = CHECKS.iter().map(|c| c.name).collect();
    assert_eq!(
        stamped, checks,
        "{backend}: the stamped tests and the conformance checks differ"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::CHECKS;

    /// The names of the checks defined in `checks.rs`: its functions that take only a harness.
    fn defined_checks() -> BTreeSet<String> {
        [
            include_str!("checks.rs"),
            include_str!("owners.rs"),
            include_str!("lifetime.rs"),
        ]
        .iter()
        .flat_map(|file| file.lines())
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("pub(super) async fn ")?;
            let (name, params) = rest.split_once('(')?;
            params.starts_with("h: &Harness)").then(|| name.to_owned())
        })
        .collect()
    }

    #[test]
    fn every_check_function_is_in_the_list_exactly_once() {
        let listed: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        let unique: BTreeSet<String> = listed.iter().map(|n| (*n).to_owned()).collect();
        assert_eq!(unique.len(), listed.len(), "a check is listed twice");
        let defined = defined_checks();
        assert!(defined.len() >= 30, "found only {defined:?} in checks.rs");
        assert_eq!(
            unique, defined,
            "the list in conformance_suite! and the checks in checks.rs, owners.rs and lifetime.rs differ"
        );
    }
}
