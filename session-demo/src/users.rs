//! Demo users with argon2-hashed passwords.

use std::collections::HashMap;
use std::fmt;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The user every demo starts with; its password is `test` too.
pub const DEFAULT_USER: &str = "test";

/// Usernames and argon2id password hashes (PHC strings). Plain passwords are never kept.
pub struct Users {
    hashes: HashMap<String, String>,
    // Verified against when the username is unknown, so that an unknown user takes as long to
    // reject as a wrong password and response times do not reveal which usernames exist.
    dummy: String,
}

impl Users {
    /// No users.
    ///
    /// # Errors
    /// When the operating system's randomness (for the salt) is unavailable.
    pub fn new() -> Result<Self, argon2::password_hash::Error> {
        Ok(Users {
            hashes: HashMap::new(),
            dummy: hash("not a password")?,
        })
    }

    /// The demo's users: [`DEFAULT_USER`] with password `test`.
    ///
    /// # Errors
    /// As [`Users::new`].
    pub fn demo() -> Result<Self, argon2::password_hash::Error> {
        let mut users = Users::new()?;
        users.add(DEFAULT_USER, "test")?;
        Ok(users)
    }

    /// Adds (or replaces) a user, hashing `password` with argon2id and a random salt.
    ///
    /// # Errors
    /// As [`Users::new`].
    pub fn add(
        &mut self,
        username: impl Into<String>,
        password: &str,
    ) -> Result<(), argon2::password_hash::Error> {
        self.hashes.insert(username.into(), hash(password)?);
        Ok(())
    }

    /// `true` when `username` exists and `password` is its password. CPU-heavy by design: call
    /// it off the async executor (`spawn_blocking`).
    pub fn verify(&self, username: &str, password: &str) -> bool {
        let (phc, known) = match self.hashes.get(username) {
            Some(phc) => (phc, true),
            None => (&self.dummy, false),
        };
        let ok = PasswordHash::new(phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    }
}

fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.hashes.keys().collect();
        names.sort();
        f.debug_struct("Users").field("names", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_user_logs_in_with_its_password_only() -> Result<(), argon2::password_hash::Error> {
        let users = Users::demo()?;
        assert!(users.verify("test", "test"));
        assert!(!users.verify("test", "Test"));
        assert!(!users.verify("nobody", "not a password"));
        assert!(!format!("{users:?}").contains("argon2"));
        Ok(())
    }
}
