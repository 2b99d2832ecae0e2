#!/usr/bin/env python3
"""Independent check of our Standard Webhooks verification against the PyPI `standardwebhooks` package.

Starts the release server on 127.0.0.1 (temporary SQLite database, two rotated `whsec_` secrets,
no rate limit), signs requests with `standardwebhooks.Webhook(secret).sign(...)`, sends them to
`POST /api/v1/webhooks/incoming/lead/create` and checks each answer; then checks that the headers
printed by `crm-webhooks sign` verify with `Webhook(secret).verify(...)`.

Usage (normally through scripts/standardwebhooks_interop.sh, which makes the virtualenv):
    python scripts/standardwebhooks_interop.py --bin target/release/crm-webhooks

Prints one PASS/FAIL line per check and a summary; exits 1 when any check fails.
Everything talks to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

from crm_server import Results, binary_argument, crm_server, http, new_secret, without_crm_settings
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

PATH = "/api/v1/webhooks/incoming/lead/create"
REQUEST_TIMEOUT = 10  # seconds, per HTTP request


def post(base: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    status, raw = http("POST", base + PATH, body, {"Content-Type": "application/json", **headers}, REQUEST_TIMEOUT)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"raw": raw.decode(errors="replace")}


def signed_headers(secret: str, msg_id: str, ts: int, body: bytes) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def lead_body(company: str) -> bytes:
    return json.dumps({"event": "new_lead", "data": {"company_name": company}}).encode()


def run_http_checks(base: str, secret_a: str, secret_b: str, r: Results) -> None:
    run = secrets.token_hex(4)
    now = int(time.time())

    def expect(name: str, body: bytes, headers: dict[str, str], status: int, detail: str | None = None) -> None:
        got_status, got = post(base, body, headers)
        ok = got_status == status
        if detail is not None:
            ok = ok and got.get("detail") == detail
        if status == 200:
            ok = ok and got.get("status") == "success"
        r.check(ok, name, f"HTTP {got_status} {json.dumps(got)[:200]}")

    body = lead_body("Interop Ltd")
    expect("current secret (1st in list) -> 200", body, signed_headers(secret_a, f"msg_{run}_a", now, body), 200)
    body = lead_body("Interop Rotated Ltd")
    expect("rotated secret (2nd in list) -> 200", body, signed_headers(secret_b, f"msg_{run}_b", now, body), 200)

    body = lead_body("Interop Tamper Ltd")
    headers = signed_headers(secret_a, f"msg_{run}_t", now, body)
    tampered = body.replace(b"Tamper", b"Tampex")
    expect("tampered body -> 401 Invalid signature", tampered, headers, 401, "Invalid signature")

    body = lead_body("Interop Old Ltd")
    old = now - 600
    expect(
        "timestamp 10 minutes old -> 401 Signature timestamp outside tolerance",
        body,
        signed_headers(secret_a, f"msg_{run}_o", old, body),
        401,
        "Signature timestamp outside tolerance",
    )

    body = lead_body("Interop Future Ltd")
    expect(
        "timestamp 10 minutes ahead -> 401 Signature timestamp outside tolerance",
        body,
        signed_headers(secret_a, f"msg_{run}_f", now + 600, body),
        401,
        "Signature timestamp outside tolerance",
    )

    body = lead_body("Interop Stranger Ltd")
    expect(
        "secret not configured -> 401 Invalid signature",
        body,
        signed_headers(new_secret(), f"msg_{run}_s", now, body),
        401,
        "Invalid signature",
    )

    # The spec lets a sender list several space-separated signatures (e.g. during its own rotation).
    body = lead_body("Interop Multi Ltd")
    headers = signed_headers(secret_b, f"msg_{run}_m", now, body)
    stranger = Webhook(new_secret()).sign(f"msg_{run}_m", datetime.fromtimestamp(now, tz=timezone.utc), body.decode())
    headers["webhook-signature"] = f"{stranger} {headers['webhook-signature']}"
    expect("several signatures, one valid -> 200", body, headers, 200)

    # A signature over another webhook-id must not verify (the id is part of the signed content).
    body = lead_body("Interop Id Ltd")
    headers = signed_headers(secret_a, f"msg_{run}_i", now, body)
    headers["webhook-id"] = f"msg_{run}_i2"
    expect("webhook-id changed after signing -> 401 Invalid signature", body, headers, 401, "Invalid signature")

    # Extreme timestamps must be refused as stale, not crash the handler or wrap around (i64 edges).
    body = lead_body("Interop Edge Ltd")
    for edge in ("-9223372036854775808", str(now - 2**63), "9223372036854775807"):
        headers = signed_headers(secret_a, f"msg_{run}_e", now, body)
        headers["webhook-timestamp"] = edge
        expect(f"timestamp {edge} -> 401 Signature timestamp outside tolerance", body, headers, 401,
               "Signature timestamp outside tolerance")

    # Non-ASCII body: the library signs the UTF-8 text; we verify the raw bytes.
    body = json.dumps({"event": "new_lead", "data": {"company_name": "Zürich Ünïcode GmbH ✓"}}, ensure_ascii=False).encode()
    expect("UTF-8 body signed by the library -> 200", body, signed_headers(secret_a, f"msg_{run}_u", now, body), 200)


def run_cli_checks(binary: str, secret_a: str, r: Results, workdir: str) -> None:
    body = lead_body("Interop CLI Ltd")
    body_file = os.path.join(workdir, "body.json")
    with open(body_file, "wb") as f:
        f.write(body)
    msg_id = "msg_cli_" + secrets.token_hex(4)
    ts = int(time.time())
    env = without_crm_settings()
    proc = subprocess.run(
        [binary, "sign", body_file, "--secret", secret_a, "--id", msg_id, "--timestamp", str(ts)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    if not r.check(proc.returncode == 0, "crm-webhooks sign exits 0", proc.stderr.strip()[:200]):
        return
    headers: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            headers[name.strip().lower()] = value.strip()
    r.check(
        headers.get("webhook-id") == msg_id and headers.get("webhook-timestamp") == str(ts),
        "crm-webhooks sign prints the given id and timestamp",
        json.dumps(headers),
    )
    try:
        Webhook(secret_a).verify(body, headers)
        r.check(True, "crm-webhooks sign output verifies with standardwebhooks Webhook.verify")
    except (WebhookVerificationError, ValueError) as err:
        r.check(False, "crm-webhooks sign output verifies with standardwebhooks Webhook.verify", repr(err))
    expected_hex = hmac.new(secret_a.encode(), body, hashlib.sha256).hexdigest()
    r.check(
        headers.get("x-webhook-signature") == expected_hex,
        "crm-webhooks sign X-Webhook-Signature = hex HMAC-SHA256(secret as written, body)",
    )
    # And the library-side signature for the same input is byte-identical.
    lib = Webhook(secret_a).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    r.check(headers.get("webhook-signature") == lib, "crm-webhooks sign webhook-signature equals the library's", lib)


def report_unpadded_secret(binary: str, workdir: str) -> None:
    """Informational, not a pass/fail check: the library accepts a `whsec_` secret whose base64 lacks
    its `=` padding (it appends `==` before decoding); does `crm-webhooks sign` accept one too?"""
    raw = secrets.token_bytes(32)  # 32 bytes: base64 ends with one '='
    unpadded = "whsec_" + base64.b64encode(raw).decode().rstrip("=")
    body_file = os.path.join(workdir, "note.json")
    with open(body_file, "wb") as f:
        f.write(b"{}")
    env = without_crm_settings()
    proc = subprocess.run([binary, "sign", body_file, "--secret", unpadded, "--id", "msg_note", "--timestamp", "1"],
                          capture_output=True, text=True, timeout=30, env=env)
    lib = Webhook(unpadded).sign("msg_note", datetime.fromtimestamp(1, tz=timezone.utc), "{}")
    if proc.returncode != 0:
        print(f"NOTE  unpadded whsec_ secret: standardwebhooks accepts it, crm-webhooks refuses it "
              f"(exit {proc.returncode}: {proc.stderr.strip()[:120]})")
    else:
        same = f"webhook-signature: {lib}" in proc.stdout
        print(f"NOTE  unpadded whsec_ secret: both accept it; signatures {'agree' if same else 'DIFFER'}")


def main() -> int:
    _, binary = binary_argument(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    secret_a, secret_b = new_secret(), new_secret()
    r = Results()
    with tempfile.TemporaryDirectory(prefix="crm-interop.") as workdir:
        with crm_server(binary, workdir, {"CRM_WEBHOOK_SECRET": f"{secret_a},{secret_b}"}) as server:
            if r.check(server.ready, f"server answers /healthz on {server.base}"):
                run_http_checks(server.base, secret_a, secret_b, r)
                run_cli_checks(binary, secret_a, r, workdir)
                report_unpadded_secret(binary, workdir)
        if r.failed():
            print("\nserver log (tail):\n" + server.log_tail(), file=sys.stderr)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
