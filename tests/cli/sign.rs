//! `sign` prints exactly the signature headers.

use crm_webhooks::webhook::signature::sign_headers;

use crate::{crm, hmac_hex, run, VECTOR_BODY, VECTOR_ID, VECTOR_SECRET, VECTOR_SIGNATURE, VECTOR_TIMESTAMP};

// ---------------------------------------------------------------------------------------------
// sign

/// The four header lines, as (name, value), in order; fails on anything else in stdout.
pub(crate) fn header_lines(stdout: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "exactly four lines: {stdout:?}");
    let names = ["X-Webhook-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"];
    lines
        .iter()
        .zip(names)
        .map(|(line, name)| {
            let value = line.strip_prefix(&format!("{name}: ")).unwrap_or_else(|| panic!("{line:?} should be {name}"));
            (name.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn sign_prints_exactly_the_signature_headers_for_the_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Bytes are signed as they are: a trailing newline, CRLF and non-UTF-8 included.
    let body: &[u8] = b"{\"event\":\"new_lead\",\"data\":{\"first_name\":\"Ada\"}}\r\n\xff\n";
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let secret = "s3cret-for-signing";
    let ran = run(crm(dir.path()).args(["sign", "body.json", "--secret", secret]), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(ran.stderr, "", "nothing on stderr");
    let headers = header_lines(&ran.stdout);
    let hex_signature = &headers[0].1;
    assert_eq!(hex_signature.len(), 64, "{hex_signature}");
    assert!(hex_signature.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{hex_signature}");
    assert_eq!(hex_signature, &hmac_hex(secret.as_bytes(), body), "HMAC-SHA256(secret, file bytes)");
    let id = &headers[1].1;
    assert!(id.starts_with("msg_") && id.len() > 4, "a fresh msg_ id: {id}");
    let timestamp: i64 = headers[2].1.parse().expect("unix seconds");
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 120, "timestamp defaults to now: {timestamp}");
    let expected = sign_headers(secret, id, timestamp, body);
    assert_eq!(headers[3].1, expected[3].1, "webhook-signature over id.timestamp.body");
    assert_eq!(headers[0].1, expected[0].1);
    assert!(!ran.stdout.contains(secret), "the secret never appears in the output");
    // A fresh id every time.
    let again = run(crm(dir.path()).args(["sign", "body.json", "--secret", secret]), None);
    assert_ne!(header_lines(&again.stdout)[1].1, *id, "a fresh webhook-id per run");
}

#[test]
fn sign_reproduces_the_standard_webhooks_test_vector() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), VECTOR_BODY).unwrap();
    let args = ["sign", "body.json", "--secret", VECTOR_SECRET, "--id", VECTOR_ID, "--timestamp", VECTOR_TIMESTAMP];
    let ran = run(crm(dir.path()).args(args), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(ran.stderr, "");
    let expected = format!(
        "X-Webhook-Signature: {}\nwebhook-id: {VECTOR_ID}\n\
         webhook-timestamp: {VECTOR_TIMESTAMP}\nwebhook-signature: {VECTOR_SIGNATURE}\n",
        hmac_hex(VECTOR_SECRET.as_bytes(), VECTOR_BODY.as_bytes())
    );
    assert_eq!(ran.stdout, expected);
    let encoded_key = VECTOR_SECRET.strip_prefix("whsec_").unwrap();
    assert!(!ran.stdout.contains(VECTOR_SECRET) && !ran.stdout.contains(encoded_key), "secret leaked: {}", ran.stdout);
}

#[test]
fn sign_reads_standard_input_for_dash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["sign", "-", "--secret", VECTOR_SECRET, "--id", VECTOR_ID, "--timestamp", VECTOR_TIMESTAMP];
    let ran = run(crm(dir.path()).args(args), Some(VECTOR_BODY.as_bytes()));
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    let headers = header_lines(&ran.stdout);
    assert_eq!(headers[0].1, hmac_hex(VECTOR_SECRET.as_bytes(), VECTOR_BODY.as_bytes()));
    assert_eq!(headers[1].1, VECTOR_ID);
    assert_eq!(headers[2].1, VECTOR_TIMESTAMP);
    assert_eq!(headers[3].1, VECTOR_SIGNATURE);
}

#[test]
fn sign_takes_the_secret_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), "{}").unwrap();
    // The first of a rotation list.
    let ran = run(crm(dir.path()).args(["sign", "body.json"]).env("CRM_WEBHOOK_SECRET", "first,second"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(header_lines(&ran.stdout)[0].1, hmac_hex(b"first", b"{}"));
    assert!(!ran.stdout.contains("first") && !ran.stdout.contains("second"), "{}", ran.stdout);
    let ran = run(crm(dir.path()).args(["sign", "body.json"]).env("CRM_SIGN_SECRET", "signing-key"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(header_lines(&ran.stdout)[0].1, hmac_hex(b"signing-key", b"{}"));
}

#[test]
fn sign_without_a_secret_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), "{}").unwrap();
    let ran = run(crm(dir.path()).args(["sign", "body.json"]), None);
    assert_eq!(ran.code, Some(2), "stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr_lines().len(), 1, "one line: {:?}", ran.stderr);
    assert!(ran.stderr.contains("secret"), "{}", ran.stderr);
    let ran = run(crm(dir.path()).args(["sign", "body.json", "--secret", ""]), None);
    assert_eq!(ran.code, Some(2), "empty --secret; stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr_lines().len(), 1, "one line: {:?}", ran.stderr);
}

#[test]
fn sign_of_a_missing_file_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).args(["sign", "no-such-file.json", "--secret", "k"]), None);
    assert_eq!(ran.code, Some(2), "stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    let lines = ran.stderr_lines();
    assert_eq!(lines.len(), 1, "one line: {:?}", ran.stderr);
    assert!(lines[0].contains("no-such-file.json"), "{}", lines[0]);
}
