//! Operators' passwords: argon2id hashes in PHC strings, verified in constant time, and
//! the same work done for a name nobody has (so a login's timing does not tell which
//! names exist).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

/// The shortest password taken.
pub const MIN_LENGTH: usize = 12;

/// Why a password cannot be set.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordError {
    /// Shorter than [`MIN_LENGTH`].
    TooShort,
    /// The hash could not be made.
    Hashing(String),
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordError::TooShort => write!(f, "a password needs at least {MIN_LENGTH} characters"),
            PasswordError::Hashing(e) => write!(f, "hashing the password: {e}"),
        }
    }
}

/// The argon2id hash of `password` with a new random salt, as a PHC string.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether `password` is the one `stored` is the hash of (`None`: no such operator, for
/// whom a hash is verified all the same).
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    // A hash of a password nobody knows: the work of a real check, for a name not found.
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9v6xFzCjwWQmkH6G9uSeKX8vbBUP4Wo6RHH8w5bWY";
    let found = stored.is_some();
    let parsed = PasswordHash::new(stored.unwrap_or(DUMMY));
    let matches = parsed.is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
    found && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_nothing_else_does() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("correct horse batter", Some(&stored)));
        assert!(!verify("correct horse battery", None), "no operator of that name");
        assert!(!verify("x", Some("not a hash")));
        assert_ne!(hash("correct horse battery").unwrap(), stored, "a new salt each time");
    }

    #[test]
    fn a_short_password_is_refused_with_the_length_it_needs() {
        assert_eq!(hash("short"), Err(PasswordError::TooShort));
        assert!(PasswordError::TooShort.to_string().contains("12 characters"));
    }
}
