//! Argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), always off the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Argon2 runs take 19 MiB each: bound how many run at once so a burst of logins or sign-ups
/// cannot exhaust memory (the blocking pool would otherwise grow to hundreds of threads).
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Semaphore::new(cores * 2)
    })
}

/// A password that failed hashing (only on OS randomness failure).
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

/// Hashes `password` into a PHC string.
pub async fn hash(password: SecretString) -> Result<String, HashError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

fn hash_blocking(password: &SecretString) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// A hash of nothing anyone knows, so an unknown email costs the same as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&SecretString::from("tether-dummy-password-never-matches"))
            .unwrap_or_default()
    })
}

/// Verifies `password` against `stored`, or against a dummy hash when there is no user.
pub async fn verify(stored: Option<String>, password: SecretString) -> bool {
    let Ok(_slot) = hashing_slots().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = argon2()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// Warms the dummy hash so the first unknown-email login is not measurably slower.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash(SecretString::from("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(Some(phc.clone()), SecretString::from("correct horse")).await);
        assert!(!verify(Some(phc), SecretString::from("wrong horse")).await);
        assert!(
            !verify(
                None,
                SecretString::from("tether-dummy-password-never-matches")
            )
            .await
        );
    }
}
