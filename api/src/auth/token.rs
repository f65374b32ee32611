//! Bearer tokens: 256 random bits shown once, stored as a SHA-256 digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Prefix that makes Tether tokens recognisable to secret scanners.
pub const PREFIX: &str = "tth_";

/// A fresh token and the digest to store.
pub fn generate() -> (SecretString, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = SecretString::from(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
    let digest = digest(&token);
    (token, digest)
}

/// Hex SHA-256 of a token. Tokens are high-entropy, so a fast hash is the right tool.
pub fn digest(token: &SecretString) -> String {
    let hash = Sha256::digest(token.expose_secret().as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let (a, da) = generate();
        let (b, db) = generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_ne!(da, db);
        assert_eq!(digest(&a), da);
        assert!(a.expose_secret().starts_with(PREFIX));
        assert_eq!(da.len(), 64);
    }
}
