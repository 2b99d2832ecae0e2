//! Arbitrary bytes through everything a webhook request meets before the database:
//! signature verification, the idempotency key, the envelope and every event's command parser.
//!
//! Input layout (see fuzz/README.md): `HEADER LINES` `\n\n` `BODY`. Without a blank line the
//! whole input is the body and no header is sent. Each header line is either `name: value` for
//! one of the five headers below (name case-insensitive), or any other line, whose first byte
//! (mod 5) picks the header and whose remaining bytes are the value. Values that are not valid
//! HTTP header values are skipped.
#![no_main]

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use crm_webhooks::config::Secret;
use crm_webhooks::webhook::command::Command;
use crm_webhooks::webhook::envelope;
use crm_webhooks::webhook::events::EventKind;
use crm_webhooks::webhook::idempotency;
use crm_webhooks::webhook::signature::{sign_headers, Verifier};
use libfuzzer_sys::fuzz_target;

/// "Now" for verification; the signed seeds use this timestamp.
const NOW: i64 = 1_700_000_000;
/// A Standard Webhooks secret (base64 of 24 bytes) and a plain one, as a rotation list.
const SECRETS: [&str; 2] = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "fuzz-plain-secret"];
const HEADERS: [&str; 5] =
    ["x-webhook-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "idempotency-key"];
const PATH: &str = "/api/v1/webhooks/incoming/lead/create";

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (&[], data),
    }
}

fn header_map(head: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let named = HEADERS.iter().find_map(|name| {
            let prefix = line.get(..name.len() + 1)?;
            (prefix[..name.len()].eq_ignore_ascii_case(name.as_bytes()) && prefix[name.len()] == b':')
                .then(|| (*name, &line[name.len() + 1..]))
        });
        let (name, value) = match named {
            Some((name, value)) => (name, value.strip_prefix(b" ").unwrap_or(value)),
            None => (HEADERS[usize::from(line[0]) % HEADERS.len()], &line[1..]),
        };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    headers
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new(&SECRETS.map(Secret::new)).expect("the fixed secrets are valid"))
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = split(data);
    let headers = header_map(head);
    let verifier = verifier();

    // 1. Verification must answer (Ok or 401), never panic, whatever the headers hold.
    if let Err(err) = verifier.verify(&headers, body, NOW) {
        assert_eq!(err.status(), 401, "verification failed with a non-401: {err}");
        let _ = err.body();
    }

    // 2. Oracle: what `sign_headers` produces for this body verifies, for every secret.
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        for secret in SECRETS {
            let mut signed = HeaderMap::new();
            let mut representable = true;
            for (name, value) in sign_headers(secret, id, NOW, body) {
                let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).expect("a valid header name");
                match HeaderValue::from_str(&value) {
                    Ok(value) => {
                        signed.insert(name, value);
                    }
                    Err(_) => representable = false,
                }
            }
            if representable {
                if let Err(err) = verifier.verify(&signed, body, NOW) {
                    panic!("sign_headers output does not verify (secret {secret:?}, id {id:?}): {err}");
                }
                signed.remove("webhook-signature");
                if let Err(err) = verifier.verify(&signed, body, NOW) {
                    panic!("sign_headers hex signature does not verify (secret {secret:?}): {err}");
                }
            }
        }
    }

    // 3. The idempotency key: None, a key, or a 400.
    if let Err(err) = idempotency::from_headers(&headers, PATH, body) {
        assert_eq!(err.status(), 400, "idempotency key failed with a non-400: {err}");
    }

    // 4. The envelope, then `data` for every event (a targeted event gets an id, as the router does).
    match envelope::parse(body) {
        Err(err) => {
            assert_eq!(err.status(), 400, "envelope failed with a non-400: {err}");
            let _ = err.body();
        }
        Ok(env) => {
            if let Some(event) = env.event.as_deref() {
                let _ = EventKind::parse(event);
            }
            if let Some(data @ serde_json::Value::Object(_)) = env.data {
                for kind in EventKind::ALL {
                    let id = kind.target().map(|_| 1);
                    if let Err(err) = Command::parse(kind, id, data.clone()) {
                        assert_eq!(err.status(), 400, "{} failed with a non-400: {err}", kind.name());
                        let _ = err.body();
                    }
                }
            }
        }
    }
});
