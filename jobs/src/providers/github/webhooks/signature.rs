//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under the webhook
//! secret. The comparison runs in constant time (`verify_slice`); decoding the header's hex is
//! not secret-dependent, so it may stop early.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header GitHub signs deliveries in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("the delivery has no X-Hub-Signature-256 header")]
    Missing,
    /// Not `sha256=` followed by 64 hex digits.
    #[error("X-Hub-Signature-256 is not sha256=<64 hex digits>")]
    Malformed,
    /// Well formed, but not the body's signature under our secret.
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex digits; `None` on an odd length or a non-hex character.
fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// Checks `header` (the raw `X-Hub-Signature-256` value, if any) against `body`.
pub fn verify(
    secret: &SecretString,
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let tag = decode_hex(hex)
        .filter(|tag| tag.len() == 32)
        .ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
}

/// The header value GitHub would send for `body`: the verifier's tests check against it (the
/// fake code host signs with a signer of its own, an independent check).
#[cfg(test)]
fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's own test vector ("Validating webhook deliveries").
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn githubs_documented_signature_verifies_and_signing_reproduces_it() {
        assert_eq!(verify(&secret(), Some(SIGNATURE.as_bytes()), BODY), Ok(()));
        assert_eq!(sign(&secret(), BODY), SIGNATURE);
        let upper = SIGNATURE.replace("757107ea", "757107EA");
        assert_eq!(verify(&secret(), Some(upper.as_bytes()), BODY), Ok(()));
    }

    #[test]
    fn a_changed_body_or_secret_does_not_verify() {
        let header = Some(SIGNATURE.as_bytes());
        assert_eq!(
            verify(&secret(), header, b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&SecretString::from("another secret"), header, BODY),
            Err(SignatureError::Mismatch)
        );
        let flipped = SIGNATURE.replace("e17", "e18");
        assert_eq!(
            verify(&secret(), Some(flipped.as_bytes()), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_refused_without_panicking() {
        assert_eq!(verify(&secret(), None, BODY), Err(SignatureError::Missing));
        let hex = SIGNATURE.trim_start_matches("sha256=");
        let cases = [
            format!("sha1={hex}"),
            format!("SHA256={hex}"),
            hex.to_owned(),
            format!("sha256={}", &hex[1..]),
            format!("sha256={}", &hex[2..]),
            format!("sha256={hex}00"),
            format!("sha256={}zz", &hex[2..]),
            "sha256=".to_owned(),
            "sha256=é".to_owned(),
            String::new(),
        ];
        for header in cases {
            assert_eq!(
                verify(&secret(), Some(header.as_bytes()), BODY),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            verify(&secret(), Some(&[0xff, 0xfe, 0x00]), BODY),
            Err(SignatureError::Malformed)
        );
    }
}
