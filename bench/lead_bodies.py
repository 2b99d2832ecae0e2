#!/usr/bin/env python3
"""Writes N signed copies of the API document's full new_lead example for the bench scripts.

    bench/lead_bodies.py EXAMPLE SECRET N DIR PATH [FIRST] >> MANIFEST

Each copy is the example byte for byte (docs/examples/new_lead.request.json: every field, as
documented, pretty-printed), except that the e-mail and the phone carry the copy's number, so
that N copies are N different people: the same person sent again is matched as a possible
duplicate of every earlier copy (design §8), a cost that grows with each repetition and would
measure the repetition rather than the ingest. Copies are numbered from FIRST (default 1), so
that two runs on one database can send different people. The signature is the
`X-Webhook-Signature` form (hex HMAC-SHA256 of the body, keyed with the secret as written), what
`crm-webhooks sign` prints; run.sh checks the first copy against it. Prints one bench/wrk.lua manifest line per copy.
"""
import hashlib
import hmac
import os
import sys

example_path, secret, count, out_dir, path = sys.argv[1:6]
first = int(sys.argv[6]) if len(sys.argv) > 6 else 1
example = open(example_path, "rb").read()
email = b'"robert@example.com"'
phone = b'"+1234567893"'
assert example.count(email) == 1 and example.count(phone) == 1, "the example changed: update lead_bodies.py"
key = secret.encode()
os.makedirs(out_dir, exist_ok=True)
lines = []
for n in range(first, first + int(count)):
    body = example.replace(email, b'"robert.%d@example.com"' % n).replace(phone, b'"+1%010d"' % n)
    file = os.path.join(out_dir, "lead_%d.json" % n)
    with open(file, "wb") as f:
        f.write(body)
    signature = hmac.new(key, body, hashlib.sha256).hexdigest()
    lines.append("POST\t%s\t%s\t%s\n" % (path, signature, file))
sys.stdout.write("".join(lines))
