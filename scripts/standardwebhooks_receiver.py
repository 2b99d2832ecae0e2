#!/usr/bin/env python3
"""A Standard Webhooks receiver, verifying every outgoing delivery with the PyPI `standardwebhooks` package.

Starts the release server on 127.0.0.1 (temporary SQLite database, a `whsec_` secret for incoming
calls, an admin token, CRM_DELIVERY_ALLOW_PRIVATE=true, a fast retry schedule) and a receiver on
127.0.0.1 that checks every delivery attempt with `standardwebhooks.Webhook(secret).verify(...)`.
It subscribes the receiver, sends a stream of signed incoming events (lead creates and status
updates), waits until each one's outgoing event arrived, rotates the subscription's secret, sends
a second stream and waits again. After the rotation every attempt must verify with the new secret
and, during the 24 h overlap, with the old one too. The receiver answers 503 to the first attempt
of every tenth event, so retried attempts (re-signed, same `webhook-id`) are verified as well.

Passes when every expected event arrived exactly once by `webhook-id` (retries aside), every
attempt verified, each lead's events arrived in the order of its changes, and the delivery list
of the subscription shows every delivery `delivered` with the ids received.

Usage (normally through scripts/standardwebhooks_receiver.sh, which makes the virtualenv):
    python scripts/standardwebhooks_receiver.py --bin target/release/crm-webhooks [--leads 100]

Prints one PASS/FAIL line per check and a summary; exits 1 when any check fails.
Everything talks to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crm_server import Results, binary_argument, crm_server, http, new_secret
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

API = "/api/v1/webhooks"
REQUEST_TIMEOUT = 10  # seconds, per HTTP request
ARRIVAL_TIMEOUT = 120  # seconds for a stream's deliveries to arrive


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
        return True
    except (WebhookVerificationError, ValueError):
        return False


class Ledger:
    """What the receiver saw, by `webhook-id`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Every attempt must verify with each of these secrets (set per phase).
        self.must_verify: list[tuple[str, str]] = []
        self.attempts: dict[str, int] = {}
        self.events: dict[str, dict] = {}  # first verified body per webhook-id
        self.arrival: list[str] = []  # webhook-ids in the order of their first successful answer
        self.failures: list[str] = []  # one sentence per attempt that did not verify
        self.verified_attempts = 0
        self.sample: tuple[bytes, dict[str, str]] | None = None

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        msg_id = headers.get("webhook-id", "")
        with self.lock:
            must = list(self.must_verify)
        refused = [label for label, secret in must if not verifies(secret, body, headers)]
        with self.lock:
            if refused or not must:
                self.failures.append(f"{msg_id}: does not verify with {', '.join(refused) or 'no secret'}")
                return 400
            self.verified_attempts += 1
            self.sample = (body, dict(headers))
            n = self.attempts.get(msg_id, 0)
            self.attempts[msg_id] = n + 1
            # Every tenth new event is refused once: its retry is a new attempt, re-signed.
            if n == 0 and len(self.attempts) % 10 == 0:
                return 503
            if msg_id not in self.events:
                self.events[msg_id] = json.loads(body)
                self.arrival.append(msg_id)
            return 204

    def delivered(self) -> int:
        with self.lock:
            return len(self.events)


def receiver(ledger: Ledger) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = ledger.receive(body, headers)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Crm:
    def __init__(self, base: str, admin_token: str, incoming_secret: str) -> None:
        self.base, self.admin_token, self.incoming = base, admin_token, Webhook(incoming_secret)

    def call(self, method: str, path: str, body: dict | None = None, headers: dict[str, str] | None = None):
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if data is not None else {}
        status, raw = http(method, self.base + API + path, data, {**sent, **(headers or {})}, REQUEST_TIMEOUT)
        return status, (json.loads(raw) if raw else None)

    def admin(self, method: str, path: str, body: dict | None = None):
        return self.call(method, path, body, {"Authorization": f"Bearer {self.admin_token}"})

    def incoming_event(self, path: str, body: dict):
        """A signed incoming call (signed with the library too)."""
        raw = json.dumps(body)
        msg_id = "msg_" + secrets.token_hex(12)
        now = datetime.now(tz=timezone.utc)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.incoming.sign(msg_id, now, raw),
        }
        return self.call("POST", path, body, headers)

    def deliveries(self, subscription: int) -> list[dict]:
        items, cursor = [], None
        while True:
            query = f"/deliveries?subscription_id={subscription}&limit=200" + (f"&cursor={cursor}" if cursor else "")
            status, page = self.admin("GET", query)
            if status != 200:
                raise RuntimeError(f"GET {query}: HTTP {status} {page}")
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items


def send_stream(crm: Crm, steps: list[tuple[str, dict]], expected: list[tuple], lead_ids: list[int]) -> list[str]:
    """Runs `steps` (path, body) 8 at a time; each 200 is one expected outgoing event. Returns errors."""
    errors: list[str] = []

    def one(step: tuple[str, dict]):
        return step, crm.incoming_event(*step)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for (path, body), (status, answer) in pool.map(one, steps):
            if status != 200:
                errors.append(f"{path}: HTTP {status} {answer}")
                continue
            if path.endswith("/create"):
                lead = answer["data"]["lead_id"]
                lead_ids.append(lead)
                expected.append(("lead.created", lead, None))
            else:
                lead = int(path.split("/")[3])
                expected.append(("lead.status_changed", lead, body["data"]["lead_status"]))
    return errors


def status_steps(leads: list[int], status: str) -> list[tuple[str, dict]]:
    return [(f"/incoming/lead/{lead}/status/update", {"data": {"lead_status": status}}) for lead in leads]


def create_steps(count: int, label: str) -> list[tuple[str, dict]]:
    return [
        ("/incoming/lead/create", {"data": {"first_name": f"Lead {label}{n}", "company_name": "Receiver Check Ltd"}})
        for n in range(count)
    ]


def wait_for(ledger: Ledger, count: int) -> bool:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while time.monotonic() < deadline:
        if ledger.delivered() >= count:
            return True
        time.sleep(0.05)
    return False


def key(event: dict) -> tuple:
    data = event.get("data", {})
    return (event.get("type"), data.get("lead", {}).get("id"), data.get("new_status"))


def run_checks(crm: Crm, receiver_url: str, ledger: Ledger, leads: int, r: Results) -> None:
    status, sub = crm.admin("POST", "/subscriptions", {"url": receiver_url, "description": "standardwebhooks receiver"})
    if not r.check(status == 201 and str(sub.get("secret", "")).startswith("whsec_"), "subscription created", f"HTTP {status}"):
        return
    subscription, old = sub["id"], sub["secret"]
    with ledger.lock:
        ledger.must_verify = [("the subscription's secret", old)]

    expected: list[tuple] = []
    lead_ids: list[int] = []
    errors = send_stream(crm, create_steps(leads, "a"), expected, lead_ids)
    errors += send_stream(crm, status_steps(list(lead_ids), "contacted"), expected, lead_ids)
    r.check(not errors, f"first stream: {len(expected)} signed incoming events answered 200", "; ".join(errors[:3]))
    arrived = wait_for(ledger, len(expected))
    r.check(arrived, f"first stream: {len(expected)} events delivered", f"{ledger.delivered()} arrived")

    status, rotated = crm.admin("POST", f"/subscriptions/{subscription}/rotate-secret")
    new = (rotated or {}).get("secret", "")
    if not r.check(status == 200 and new.startswith("whsec_") and new != old and rotated.get("previous_secret") == old,
                   "secret rotated; the old one is the previous secret", f"HTTP {status}"):
        return
    with ledger.lock:
        ledger.must_verify = [("the new secret", new), ("the old secret (24 h overlap)", old)]
        verified_before = ledger.verified_attempts

    first_leads = list(lead_ids)
    errors = send_stream(crm, status_steps(first_leads, "qualified"), expected, lead_ids)
    errors += send_stream(crm, create_steps(leads, "b"), expected, lead_ids)
    r.check(not errors, f"second stream: {len(expected)} events in all answered 200", "; ".join(errors[:3]))
    arrived = wait_for(ledger, len(expected))
    r.check(arrived, f"second stream: {len(expected)} events delivered in all", f"{ledger.delivered()} arrived")
    time.sleep(0.5)  # anything sent twice or late shows up in the counts below

    with ledger.lock:
        failures, attempts, events = list(ledger.failures), dict(ledger.attempts), dict(ledger.events)
        arrival, verified_after = list(ledger.arrival), ledger.verified_attempts - verified_before
        sample = ledger.sample
    r.check(not failures, f"every attempt verified with Webhook(secret).verify ({sum(attempts.values())} attempts)",
            "; ".join(failures[:3]))
    r.check(verified_after > 0, f"after the rotation {verified_after} attempts verified with the new and the old secret")
    retried = sum(1 for n in attempts.values() if n > 1)
    r.check(retried > 0 and all(n <= 2 for n in attempts.values()),
            f"{retried} refused first attempts were retried under the same webhook-id, and verified")
    got = sorted(key(e) for e in events.values())
    r.check(got == sorted(expected), f"one delivery per change: {len(events)} webhook-ids for {len(expected)} changes")

    order: dict[int, list[str]] = {}
    for msg_id in arrival:
        event = events[msg_id]
        order.setdefault(event["data"]["lead"]["id"], []).append(event["data"].get("new_status") or "created")
    wrong = [lead for lead in first_leads if order.get(lead) != ["created", "contacted", "qualified"]]
    r.check(not wrong, "each lead's events arrived in the order of its changes",
            "; ".join(f"lead {lead}: {order.get(lead)}" for lead in wrong[:3]))

    deliveries = crm.deliveries(subscription)
    statuses = {d["status"] for d in deliveries}
    ids = {d["event_id"] for d in deliveries}
    r.check(statuses == {"delivered"} and ids == set(events),
            f"GET /deliveries: {len(deliveries)} deliveries, all delivered, the webhook-ids received",
            f"statuses {sorted(statuses)}")

    if sample:
        body, headers = sample
        r.check(not verifies(new_secret(), body, headers), "control: a stranger's secret does not verify")
        r.check(not verifies(new, body.replace(b'"data"', b'"dat\\u0061"'), headers),
                "control: a changed body does not verify")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100, help="leads created per stream (default 100)")
    args, binary = binary_argument(parser)
    ledger = Ledger()
    hooks = receiver(ledger)
    receiver_url = f"http://127.0.0.1:{hooks.server_address[1]}/crm-events"
    r = Results()
    incoming_secret, admin_token = new_secret(), secrets.token_hex(16)
    settings = {
        "CRM_WEBHOOK_SECRET": incoming_secret,
        "CRM_ADMIN_TOKEN": admin_token,
        "CRM_DELIVERY_ALLOW_PRIVATE": "true",
        "CRM_DELIVERY_RETRY_SCHEDULE": "0s,200ms,500ms,1s,2s",
        "CRM_DELIVERY_TIMEOUT": "5s",
    }
    with tempfile.TemporaryDirectory(prefix="crm-receiver.") as workdir:
        try:
            with crm_server(binary, workdir, settings) as server:
                if r.check(server.ready, f"server answers /healthz on {server.base}; receiver on {receiver_url}"):
                    run_checks(Crm(server.base, admin_token, incoming_secret), receiver_url, ledger, args.leads, r)
        finally:
            hooks.shutdown()
        if r.failed():
            print("\nserver log (tail):\n" + server.log_tail(), file=sys.stderr)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
