//! Subscription secrets and the Standard Webhooks signature of outgoing deliveries: a secret is
//! `whsec_` followed by the base64 of 24 to 64 random bytes, and a delivery is signed
//! `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with every secret still valid (two during the
//! 24 hours after a rotation), space-separated.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
pub const MIN_SECRET_BYTES: usize = 24;
pub const MAX_SECRET_BYTES: usize = 64;
/// Generated secrets carry this many random bytes.
const GENERATED_BYTES: usize = 32;

/// A fresh `whsec_…` secret.
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a subscription secret, or why it is not one.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let refused = || {
        format!(
            "secret must be {SECRET_PREFIX} followed by the base64 of {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
        )
    };
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(refused)?;
    let key = STANDARD.decode(encoded).or_else(|_| STANDARD_NO_PAD.decode(encoded)).map_err(|_| refused())?;
    if (MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        Ok(key)
    } else {
        Err(refused())
    }
}

/// `v1,<base64>` for one key.
fn sign_one(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: one signature per secret, space-separated. A secret that
/// does not decode (never stored: the routes refuse it) signs nothing.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| secret_key(secret).ok())
        .map(|key| sign_one(&key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification.
    #[test]
    fn matches_the_standard_webhooks_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_secrets_sign_twice() {
        let a = generate_secret();
        let b = generate_secret();
        let header = signature_header(&[&a, &b], "msg_1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes() {
        let generated = generate_secret();
        assert_eq!(secret_key(&generated).unwrap().len(), 32);
        assert!(secret_key(&format!("whsec_{}", STANDARD.encode([7u8; 24]))).is_ok());
        assert!(secret_key(&format!("whsec_{}", STANDARD_NO_PAD.encode([7u8; 64]))).is_ok());
        for bad in [
            "plain-secret".to_string(),
            "whsec_".to_string(),
            "whsec_!!!notbase64".to_string(),
            format!("whsec_{}", STANDARD.encode([7u8; 23])),
            format!("whsec_{}", STANDARD.encode([7u8; 65])),
        ] {
            assert!(secret_key(&bad).is_err(), "{bad}");
        }
    }
}
