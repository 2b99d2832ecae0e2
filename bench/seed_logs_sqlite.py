#!/usr/bin/env python3
"""Bulk-insert N realistic rows into webhook_logs of a SQLite database (bench/run.sh).

Usage: seed_logs_sqlite.py DB_PATH ROWS

One transaction, executemany, values varied like real traffic: ~90% incoming, 18 event names,
~4% failures (401s carry no event or entity), entities spread over 5000 ids per type, created_at
increasing with id over the last 30 days (fixed-width RFC 3339, microseconds, 'Z'). The server
may keep the database open (WAL); the WAL is checkpointed and truncated afterwards. No ANALYZE:
the product never runs one, so the planner sees what a grown production table would show.
"""
import random
import sqlite3
import sys
import time

EVENTS = [
    "new_inquiry", "pre_lead_update", "pre_lead_discard", "pre_lead_contact_add", "pre_lead_memo_add",
    "pre_lead_status_update", "pre_lead_convert", "new_lead", "lead_update", "lead_discard",
    "lead_contact_add", "lead_activity_add", "lead_qualified_profile_update", "lead_memo_add",
    "lead_status_update", "lead_convert", "order_created", "payment_received",
]
FAILURES = [(400, "Invalid JSON value"), (401, "Invalid signature"), (404, "Lead not found"),
            (409, "Idempotency key already used with a different request"), (422, "lead_status must be one of"),
            (500, "Internal server error")]
COLUMNS = ("direction, event, source, method, path, remote_addr, request_headers, request_body, response_status, "
           "response_body, is_successful, error_message, entity_type, entity_id, idempotency_key, request_id, "
           "duration_ms, created_at, processed_at")


def entity_of(event):
    if event.startswith("pre_lead") or event == "new_inquiry":
        return "pre_lead"
    if event in ("order_created", "payment_received"):
        return "customer"
    return "lead"


ENTITY_OF = {event: entity_of(event) for event in EVENTS}
_second_cache = [None, ""]


def fmt(ts):
    """Fixed-width RFC 3339 UTC with microseconds; the seconds part is cached (rows are in order)."""
    sec = int(ts)
    if _second_cache[0] != sec:
        _second_cache[0] = sec
        _second_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return "%s.%06dZ" % (_second_cache[1], int((ts - sec) * 1e6))


def rows(n):
    rng = random.Random(42)
    rand = rng.random
    end = time.time() - 60
    start = end - 30 * 86400
    step = (end - start) / max(n, 1)
    n_events, n_failures = len(EVENTS), len(FAILURES)
    for i in range(n):
        created = start + i * step
        direction = "outgoing" if rand() < 0.1 else "incoming"
        event = EVENTS[int(rand() * n_events)]
        ok = rand() >= 0.04
        entity_type = ENTITY_OF[event]
        entity_id = 1 + int(rand() * 5000)
        body_event, body_id = event, entity_id
        error = None
        if ok:
            status = 200
            response = '{"status": "success", "message": "Done", "data": {"%s_id": %d}}' % (entity_type, entity_id)
        else:
            status, error = FAILURES[int(rand() * n_failures)]
            response = '{"detail": "%s"}' % error
            if status == 401:
                event, entity_type, entity_id = None, None, None
        created_text = fmt(created)
        body = ('{"event": "%s", "source": "erp", "timestamp": "%s", "data": {"lead_id": %d, "first_name": "Name%d", '
                '"email": "user%d@example.com", "notes": "Imported by the benchmark seeder; row %d of %d."}}'
                % (body_event, created_text, body_id, i % 997, i % 5003, i, n))
        request_id = "req-%08x" % i
        headers = ('{"content-type": "application/json", "content-length": "%d", "user-agent": "erp-connector/2.3", '
                   '"x-request-id": "%s", "x-webhook-signature": "[redacted]"}' % (len(body), request_id))
        duration = round(0.3 + rand() * 24.7, 3)
        yield (direction, event, "erp", "POST", "/api/v1/webhooks/incoming", "203.0.113.%d" % (i % 250 + 1),
               headers, body, status, response, 1 if ok else 0, error, entity_type, entity_id,
               ("idem-%d" % i) if rand() < 0.3 else None, request_id, duration,
               created_text, fmt(created + duration / 1000.0))


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    began = time.time()
    conn.execute("BEGIN IMMEDIATE")
    placeholders = ", ".join("?" * len(COLUMNS.split(",")))
    conn.executemany("INSERT INTO webhook_logs (%s) VALUES (%s)" % (COLUMNS, placeholders), rows(n))
    conn.execute("COMMIT")
    busy, log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    total = conn.execute("SELECT count(*) FROM webhook_logs").fetchone()[0]
    conn.close()
    print("seeded %d rows in %.1fs (table now %d rows; checkpoint busy=%d frames=%d/%d)"
          % (n, time.time() - began, total, busy, checkpointed, log_frames))


if __name__ == "__main__":
    main()
