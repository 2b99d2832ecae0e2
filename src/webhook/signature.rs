//! Signature verification over the exact bytes received, before any parsing.
//!
//! Two forms are accepted (design §4):
//! 1. `X-Webhook-Signature: <hex HMAC-SHA256(body)>` keyed with the secret's bytes as written
//!    (the spec's Python snippet); a `sha256=` prefix and upper-case hex are accepted.
//! 2. Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
//!    `id.timestamp.body`, keyed with the base64-decoded part of a `whsec_…` secret (any other
//!    secret as written); the timestamp must be within five minutes of now, either way.
//!
//! Every configured secret is tried (rotation). Comparisons are constant-time (`verify_slice`).

use axum::http::HeaderMap;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as BASE64};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::http::error::AppError;

type HmacSha256 = Hmac<Sha256>;

pub const TOLERANCE_SECONDS: i64 = 5 * 60;
pub const HEX_HEADER: &str = "x-webhook-signature";
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

const MISSING: AppError = AppError::Unauthorized("Missing signature");
const INVALID: AppError = AppError::Unauthorized("Invalid signature");

#[derive(Clone)]
struct Key {
    /// For the hex form: the secret's bytes as written.
    raw: Vec<u8>,
    /// For Standard Webhooks: decoded `whsec_` secrets, otherwise the bytes as written.
    standard: Vec<u8>,
}

/// The configured secrets, ready to verify. Empty: verification is off.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: Vec<Key>,
}

/// Secrets are often copied without their `=` padding; both forms are the same key.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key a Standard Webhooks secret stands for; `None` when a `whsec_` secret is not base64.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => SECRET_BASE64.decode(encoded).ok(),
        None => Some(secret.as_bytes().to_vec()),
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length")
}

impl Verifier {
    /// Fails with the reason when a `whsec_` secret is not valid base64.
    pub fn new(secrets: &[Secret]) -> Result<Verifier, String> {
        let keys = secrets
            .iter()
            .map(|secret| {
                let standard = standard_key(secret.expose())
                    .ok_or_else(|| "a whsec_ secret must be followed by base64".to_string())?;
                Ok(Key { raw: secret.expose().as_bytes().to_vec(), standard })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Verifier { keys })
    }

    pub fn is_enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// `now` is Unix seconds. Standard Webhooks headers win when present; otherwise the hex header.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), AppError> {
        if !self.is_enabled() {
            return Ok(());
        }
        if let Some(signatures) = header(headers, SIGNATURE_HEADER) {
            return self.verify_standard(headers, signatures, body, now);
        }
        match header(headers, HEX_HEADER) {
            Some(signature) => self.verify_hex(signature, body),
            None => Err(MISSING),
        }
    }

    fn verify_hex(&self, signature: &str, body: &[u8]) -> Result<(), AppError> {
        let trimmed = signature.trim();
        let hex_text = match trimmed.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &trimmed[7..],
            _ => trimmed,
        };
        let expected = hex::decode(hex_text.to_ascii_lowercase()).map_err(|_| INVALID)?;
        let matches = self.keys.iter().any(|key| {
            let mut mac = mac(&key.raw);
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        });
        if matches {
            Ok(())
        } else {
            Err(INVALID)
        }
    }

    fn verify_standard(&self, headers: &HeaderMap, signatures: &str, body: &[u8], now: i64) -> Result<(), AppError> {
        let id = header(headers, ID_HEADER).ok_or(MISSING)?;
        let timestamp = header(headers, TIMESTAMP_HEADER).ok_or(MISSING)?;
        let seconds: i64 = timestamp.trim().parse().map_err(|_| INVALID)?;
        if now.abs_diff(seconds) > TOLERANCE_SECONDS.unsigned_abs() {
            return Err(AppError::Unauthorized("Signature timestamp outside tolerance"));
        }
        let candidates: Vec<Vec<u8>> = signatures
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|encoded| BASE64.decode(encoded).ok())
            .collect();
        let matches = self.keys.iter().any(|key| {
            let mut mac = mac(&key.standard);
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            candidates.iter().any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        });
        if matches {
            Ok(())
        } else {
            Err(INVALID)
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The headers an integrator sends for `body` (both forms), as `crm-webhooks sign` prints them.
pub fn sign_headers(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut hex_mac = mac(secret.as_bytes());
    hex_mac.update(body);
    let hex_signature = hex::encode(hex_mac.finalize().into_bytes());
    let key = standard_key(secret).unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut standard = mac(&key);
    standard.update(format!("{id}.{timestamp}.").as_bytes());
    standard.update(body);
    let standard_signature = BASE64.encode(standard.finalize().into_bytes());
    vec![
        ("X-Webhook-Signature", hex_signature),
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", format!("v1,{standard_signature}")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const VECTOR_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const VECTOR_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const VECTOR_TIMESTAMP: i64 = 1649367553;
    const VECTOR_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const VECTOR_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn verifier(secrets: &[&str]) -> Verifier {
        Verifier::new(&secrets.iter().map(|s| Secret::new(*s)).collect::<Vec<_>>()).unwrap()
    }

    fn standard_headers(signature: &str, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID_HEADER, HeaderValue::from_static(VECTOR_ID));
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(&timestamp.to_string()).unwrap());
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        headers
    }

    #[test]
    fn standard_webhooks_test_vector_verifies() {
        let headers = standard_headers(VECTOR_SIGNATURE, VECTOR_TIMESTAMP);
        verifier(&[VECTOR_SECRET]).verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP).unwrap();
    }

    #[test]
    fn any_rotated_secret_verifies_the_standard_form() {
        let headers = standard_headers(VECTOR_SIGNATURE, VECTOR_TIMESTAMP);
        let rotated = verifier(&["whsec_bmV3LXNlY3JldA==", VECTOR_SECRET]);
        rotated.verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP).unwrap();
        let without = verifier(&["whsec_bmV3LXNlY3JldA=="]);
        assert!(without.verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP).is_err());
    }

    #[test]
    fn signing_reproduces_the_test_vector() {
        let headers = sign_headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY.as_bytes());
        assert_eq!(headers[3], ("webhook-signature", VECTOR_SIGNATURE.to_string()));
    }

    #[test]
    fn several_signatures_and_unknown_versions_any_match_passes() {
        let list = format!("v2,abc v1,AAAA {VECTOR_SIGNATURE}");
        let headers = standard_headers(&list, VECTOR_TIMESTAMP);
        verifier(&[VECTOR_SECRET]).verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP).unwrap();
    }

    #[test]
    fn timestamp_outside_tolerance_is_refused_both_ways() {
        let headers = standard_headers(VECTOR_SIGNATURE, VECTOR_TIMESTAMP);
        let v = verifier(&[VECTOR_SECRET]);
        for now in [VECTOR_TIMESTAMP + 301, VECTOR_TIMESTAMP - 301] {
            let err = v.verify(&headers, VECTOR_BODY.as_bytes(), now).unwrap_err();
            assert_eq!(err.to_string(), "Signature timestamp outside tolerance");
        }
        v.verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP + 300).unwrap();
    }

    #[test]
    fn extreme_timestamps_are_outside_tolerance_not_a_panic() {
        let v = verifier(&[VECTOR_SECRET]);
        for timestamp in [i64::MIN, i64::MAX] {
            let headers = standard_headers(VECTOR_SIGNATURE, timestamp);
            let err = v.verify(&headers, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP).unwrap_err();
            assert_eq!(err.to_string(), "Signature timestamp outside tolerance");
        }
    }

    #[test]
    fn a_changed_body_fails() {
        let headers = standard_headers(VECTOR_SIGNATURE, VECTOR_TIMESTAMP);
        let err = verifier(&[VECTOR_SECRET]).verify(&headers, b"{}", VECTOR_TIMESTAMP).unwrap_err();
        assert_eq!(err.to_string(), "Invalid signature");
    }

    #[test]
    fn hex_form_accepts_prefix_and_upper_case_and_rotation() {
        let body = br#"{"event":"new_lead"}"#;
        let signature = sign_headers("second", "id", 0, body)[0].1.clone();
        let v = verifier(&["first", "second"]);
        for form in
            [signature.clone(), format!("sha256={signature}"), signature.to_uppercase(), format!("SHA256={signature}")]
        {
            let mut headers = HeaderMap::new();
            headers.insert(HEX_HEADER, HeaderValue::from_str(&form).unwrap());
            v.verify(&headers, body, 0).unwrap();
        }
    }

    #[test]
    fn missing_and_invalid_are_told_apart() {
        let v = verifier(&["secret"]);
        assert_eq!(v.verify(&HeaderMap::new(), b"{}", 0).unwrap_err().to_string(), "Missing signature");
        let mut headers = HeaderMap::new();
        headers.insert(HEX_HEADER, HeaderValue::from_static("not-hex"));
        assert_eq!(v.verify(&headers, b"{}", 0).unwrap_err().to_string(), "Invalid signature");
    }

    #[test]
    fn no_secret_means_no_verification() {
        Verifier::default().verify(&HeaderMap::new(), b"{}", 0).unwrap();
    }

    #[test]
    fn a_whsec_secret_without_its_padding_is_the_same_key() {
        assert_eq!(standard_key("whsec_bmV3LXNlY3JldA"), standard_key("whsec_bmV3LXNlY3JldA=="));
    }

    #[test]
    fn a_whsec_secret_that_is_not_base64_is_refused() {
        assert!(Verifier::new(&[Secret::new("whsec_!!!")]).is_err());
    }
}
