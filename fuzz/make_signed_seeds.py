#!/usr/bin/env python3
"""Writes fuzz/seeds/signed_*.bin: each docs example body with headers that verify in the fuzz target.

Same secrets and "now" as fuzz_targets/webhook_input.rs. Standard library only. Re-run after
changing either, or after adding examples:  python3 fuzz/make_signed_seeds.py
"""
import base64
import hashlib
import hmac
import pathlib

NOW = 1_700_000_000
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLAIN_SECRET = "fuzz-plain-secret"

here = pathlib.Path(__file__).resolve().parent
examples = sorted((here.parent / "docs" / "examples").glob("*.request.json"))
key = base64.b64decode(STANDARD_SECRET[len("whsec_"):])
for n, path in enumerate(examples):
    body = path.read_bytes()
    name = path.name[: -len(".request.json")]
    msg_id = f"msg_seed{n:02d}"
    signed = f"{msg_id}.{NOW}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    hexsig = hmac.new(PLAIN_SECRET.encode(), body, hashlib.sha256).hexdigest()
    if n % 2 == 0:  # Standard Webhooks headers plus an idempotency key
        head = f"webhook-id: {msg_id}\nwebhook-timestamp: {NOW}\nwebhook-signature: v1,{standard}\nidempotency-key: key-{n}"
    else:  # the hex form, with the sha256= prefix
        head = f"x-webhook-signature: sha256={hexsig}"
    (here / "seeds" / f"signed_{name}.bin").write_bytes(head.encode() + b"\n\n" + body)
print(f"wrote {len(examples)} signed seeds")
