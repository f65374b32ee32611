//! Credentials at rest: XChaCha20-Poly1305 under a rotatable keyring.
//!
//! A sealed value is `tv1.<key id>.<base64url(nonce || ciphertext)>`. The key id lets any key of
//! the ring open it; the associated data binds it to its table, row and column, so a ciphertext
//! copied into another row (or column) does not open.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sea_orm::DeriveValueType;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use uuid::Uuid;

const PREFIX: &str = "tv1";
const NONCE_LEN: usize = 24;

/// A ciphertext column value. It can only be produced and opened by a [`Keyring`].
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct SealedSecret(String);

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret(key={})", self.key_id().unwrap_or("?"))
    }
}

impl SealedSecret {
    /// The id of the key that sealed it.
    pub fn key_id(&self) -> Option<&str> {
        let mut parts = self.0.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some(PREFIX), Some(id)) => Some(id),
            _ => None,
        }
    }

    /// The stored text, for moving ciphertexts around verbatim (key rotation, tests).
    pub fn as_stored(&self) -> &str {
        &self.0
    }

    /// Wraps stored text read outside the ORM; it still only opens with the right key and row.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }
}

/// What a ciphertext is bound to: its table, its row's id and its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealContext {
    table: &'static str,
    row: Uuid,
    column: &'static str,
}

impl SealContext {
    /// Binds to `table`.`column` of the row `row`.
    pub fn new(table: &'static str, row: Uuid, column: &'static str) -> Self {
        Self { table, row, column }
    }

    /// Binds the format version and key id too, so neither can be swapped on a stored value.
    fn associated_data(&self, key_id: &str) -> Vec<u8> {
        format!(
            "{PREFIX}/{key_id}/{}/{}/{}",
            self.table, self.row, self.column
        )
        .into_bytes()
    }
}

/// A key id: 1–32 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a key id.
    pub fn parse(raw: &str) -> Result<Self, KeyringError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(KeyringError::BadKeyId(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a keyring could not be built or a secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The key list is empty.
    #[error("no encryption key configured")]
    Empty,
    /// A key id has characters outside `[A-Za-z0-9_-]` or is too long.
    #[error("invalid key id {0:?}: use 1-32 letters, digits, '-' or '_'")]
    BadKeyId(String),
    /// A key is not 32 bytes of standard base64.
    #[error("key {0:?} is not 32 bytes of base64")]
    BadKey(String),
    /// An entry is not `id:base64key`.
    #[error("key entry {0:?} is not of the form id:base64key")]
    BadEntry(String),
    /// Two keys share an id.
    #[error("key id {0:?} appears twice")]
    DuplicateId(String),
    /// No key of the ring has the ciphertext's key id.
    #[error("no key with id {0:?} in the keyring")]
    UnknownKey(String),
    /// The stored value is not a sealed secret.
    #[error("stored value is not a sealed secret")]
    Malformed,
    /// Authentication failed: wrong key, wrong row, or tampered ciphertext.
    #[error("sealed secret does not open for this row")]
    Tampered,
    /// Encryption failed (only for inputs beyond the cipher's limits).
    #[error("the secret could not be sealed")]
    Seal,
}

/// The encryption keys: the first seals, every one opens.
pub struct Keyring {
    keys: Vec<(KeyId, XChaCha20Poly1305)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Builds a keyring from `(id, 32-byte key)` pairs; the first one seals.
    pub fn new(keys: Vec<(KeyId, [u8; 32])>) -> Result<Self, KeyringError> {
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let mut ring: Vec<(KeyId, XChaCha20Poly1305)> = Vec::with_capacity(keys.len());
        for (id, bytes) in keys {
            if ring.iter().any(|(existing, _)| *existing == id) {
                return Err(KeyringError::DuplicateId(id.0));
            }
            ring.push((id, XChaCha20Poly1305::new(&bytes.into())));
        }
        Ok(Self { keys: ring })
    }

    /// Parses `id:base64key[,id:base64key…]` (the `TETHER_ENCRYPTION_KEYS` format).
    pub fn parse(spec: &SecretString) -> Result<Self, KeyringError> {
        let mut keys = Vec::new();
        for entry in spec
            .expose_secret()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| KeyringError::BadEntry(redact_entry(entry)))?;
            let id = KeyId::parse(id.trim())?;
            let bytes = STANDARD
                .decode(key.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| KeyringError::BadKey(id.0.clone()))?;
            keys.push((id, bytes));
        }
        Self::new(keys)
    }

    /// A fresh random key entry `id:base64key`, for key files and `tether keys rotate`.
    pub fn generate_entry(id: &KeyId) -> SecretString {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        SecretString::from(format!("{}:{}", id.as_str(), STANDARD.encode(key)))
    }

    /// The id of the key that seals.
    pub fn primary_id(&self) -> &KeyId {
        &self.keys[0].0
    }

    /// Ids of every key, newest (sealing) first.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|(id, _)| id)
    }

    /// Seals `secret` to `context` under the primary key.
    pub fn seal(
        &self,
        secret: &SecretString,
        context: SealContext,
    ) -> Result<SealedSecret, KeyringError> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = context.associated_data(id.as_str());
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: &aad,
        };
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| KeyringError::Seal)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(SealedSecret(format!(
            "{PREFIX}.{}.{}",
            id.as_str(),
            URL_SAFE_NO_PAD.encode(blob)
        )))
    }

    /// Opens `sealed`, which must have been sealed to exactly `context`.
    pub fn open(
        &self,
        sealed: &SealedSecret,
        context: SealContext,
    ) -> Result<SecretString, KeyringError> {
        let mut parts = sealed.0.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyringError::Malformed);
        };
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(key_id, _)| key_id.as_str() == id)
            .ok_or_else(|| KeyringError::UnknownKey(id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KeyringError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(KeyringError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let aad = context.associated_data(id);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyringError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| KeyringError::Malformed)
    }

    /// Whether `sealed` is already under the primary key (rotation skips those).
    pub fn is_current(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id() == Some(self.primary_id().as_str())
    }
}

fn redact_entry(entry: &str) -> String {
    // Never echo key material into an error message, not even a prefix of it.
    format!("<{} characters>", entry.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&SecretString::from(spec.to_owned())).unwrap()
    }

    fn key(id: &str) -> String {
        Keyring::generate_entry(&KeyId::parse(id).unwrap())
            .expose_secret()
            .to_owned()
    }

    #[test]
    fn a_sealed_secret_opens_for_its_own_row_only() {
        let ring = ring(&key("k1"));
        let row = Uuid::now_v7();
        let sealed = ring
            .seal(
                &SecretString::from("glpat-secret"),
                SealContext::new("connections", row, "credential"),
            )
            .unwrap();
        assert!(!sealed.as_stored().contains("glpat-secret"));
        let opened = ring
            .open(&sealed, SealContext::new("connections", row, "credential"))
            .unwrap();
        assert_eq!(opened.expose_secret(), "glpat-secret");
        let other = SealContext::new("connections", Uuid::now_v7(), "credential");
        assert!(matches!(
            ring.open(&sealed, other),
            Err(KeyringError::Tampered)
        ));
        let other_column = SealContext::new("connections", row, "other");
        assert!(matches!(
            ring.open(&sealed, other_column),
            Err(KeyringError::Tampered)
        ));
    }

    #[test]
    fn older_keys_open_and_the_first_key_seals() {
        let (old, new) = (key("old"), key("new"));
        let before = ring(&old);
        let ctx = SealContext::new("t", Uuid::now_v7(), "c");
        let sealed = before.seal(&SecretString::from("s"), ctx).unwrap();
        let after = ring(&format!("{new},{old}"));
        assert_eq!(after.open(&sealed, ctx).unwrap().expose_secret(), "s");
        assert!(!after.is_current(&sealed));
        assert!(after.is_current(&after.seal(&SecretString::from("s"), ctx).unwrap()));
        let without_old = ring(&new);
        assert!(matches!(
            without_old.open(&sealed, ctx),
            Err(KeyringError::UnknownKey(_))
        ));
    }

    #[test]
    fn relabelling_the_key_id_does_not_open() {
        let entry = key("a");
        let material = entry.split_once(':').unwrap().1;
        let ring = ring(&format!("a:{material},b:{material}"));
        let ctx = SealContext::new("t", Uuid::now_v7(), "c");
        let sealed = ring.seal(&SecretString::from("s"), ctx).unwrap();
        let relabelled =
            SealedSecret::from_stored(sealed.as_stored().replacen("tv1.a.", "tv1.b.", 1));
        assert!(matches!(
            ring.open(&relabelled, ctx),
            Err(KeyringError::Tampered)
        ));
    }

    #[test]
    fn bad_key_specs_are_rejected_without_echoing_key_material() {
        for spec in ["", "k1", "k1:notbase64!", "k 1:AAAA", "k1:AAAA"] {
            let err = Keyring::parse(&SecretString::from(spec.to_owned())).unwrap_err();
            assert!(!err.to_string().contains("AAAA"), "{err}");
        }
        let entry = key("dup");
        assert!(matches!(
            Keyring::parse(&SecretString::from(format!("{entry},{entry}"))),
            Err(KeyringError::DuplicateId(_))
        ));
    }

    #[test]
    fn debug_output_never_shows_key_bytes_or_ciphertext() {
        let entry = key("k1");
        let ring = ring(&entry);
        let sealed = ring
            .seal(
                &SecretString::from("s"),
                SealContext::new("t", Uuid::nil(), "c"),
            )
            .unwrap();
        let printed = format!("{ring:?} {sealed:?}");
        let key_b64 = entry.split_once(':').unwrap().1;
        assert!(!printed.contains(key_b64));
        assert!(!printed.contains(sealed.as_stored()));
    }
}
