"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document gives examples for the `Idempotency-Key`, `X-Webhook-Id` and `webhook-id`
headers, so schemathesis sends the same key with many different bodies, and the service rightly
answers 409 "Idempotency key … was already used with a different request" to most of them: those
requests never reach the event logic. This hook appends a per-request suffix to any of these
headers whose value is a valid key (1-255 visible ASCII characters), so each generated case is
new to the service. Invalid values are left alone, so the negative cases (400) still happen.

A `cursor` of the record, log and timeline lists is opaque: only a `next_cursor` the server handed
out is one, and any other string of its alphabet is refused with 400, as the document says. No
schema can describe the strings that are cursors, so a generated cursor of that alphabet (other
than the plain numbers the subscription and delivery lists take) is left out of the request and
the case exercises the list's filters instead. Malformed cursors (outside the alphabet) are kept,
and the refusal of forged ones is tested in the Rust suite.
"""

import itertools
import os
import re

import schemathesis

_HEADERS = {"idempotency-key", "x-webhook-id", "webhook-id"}
_OPAQUE_CURSOR = re.compile(r"^[A-Za-z0-9_-]+$")
_counter = itertools.count()
_run = os.urandom(4).hex()


def _valid_key(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200 and all(33 <= ord(c) <= 126 for c in value.strip())


def _forged_cursor(case) -> bool:
    value = case.query.get("cursor")
    if not isinstance(value, str) or not _OPAQUE_CURSOR.match(value):
        return False
    # The subscription and delivery lists page by plain ids: any positive number is a position.
    return not (value.isdigit() and case.operation.path.endswith(("/deliveries", "/subscriptions")))


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.query and _forged_cursor(case):
        del case.query["cursor"]
    if not case.headers:
        return None
    for name in list(case.headers):
        if name.lower() in _HEADERS and _valid_key(case.headers[name]):
            case.headers[name] = f"{case.headers[name].strip()}-{_run}-{next(_counter)}"
    return None
