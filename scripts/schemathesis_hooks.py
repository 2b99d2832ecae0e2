"""Schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document gives examples for the `Idempotency-Key`, `X-Webhook-Id` and `webhook-id`
headers, so schemathesis sends the same key with many different bodies, and the service rightly
answers 409 "Idempotency key … was already used with a different request" to most of them: those
requests never reach the event logic. This hook appends a per-request suffix to any of these
headers whose value is a valid key (1-255 visible ASCII characters), so each generated case is
new to the service. Invalid values are left alone, so the negative cases (400) still happen.
"""

import itertools
import os

import schemathesis

_HEADERS = {"idempotency-key", "x-webhook-id", "webhook-id"}
_counter = itertools.count()
_run = os.urandom(4).hex()


def _valid_key(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 200 and all(33 <= ord(c) <= 126 for c in value.strip())


@schemathesis.hook
def before_call(context, case, **kwargs):
    if not case.headers:
        return None
    for name in list(case.headers):
        if name.lower() in _HEADERS and _valid_key(case.headers[name]):
            case.headers[name] = f"{case.headers[name].strip()}-{_run}-{next(_counter)}"
    return None
