"""What the Python check scripts share: the release server started on 127.0.0.1 on a temporary
SQLite database and stopped again, HTTP requests, `whsec_` secrets, free ports, and PASS/FAIL
results.

The scripts import it from their own folder (`python scripts/NAME.py` puts it on the path).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

START_TIMEOUT = 30  # seconds for /healthz


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """One HTTP request: the answer's status and body, error statuses included (urllib raises
    on those)."""
    req = urllib.request.Request(url, data=data, method=method)
    for name, value in headers.items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def without_crm_settings() -> dict[str, str]:
    """This process's environment without any CRM_ setting, so that only the given ones apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}


def binary_argument(parser: argparse.ArgumentParser) -> tuple[argparse.Namespace, str]:
    """Adds `--bin`, parses the arguments and returns them with the binary's absolute path; exits 2
    when it is not an executable."""
    parser.add_argument("--bin", default="target/release/crm-webhooks", help="the built crm-webhooks binary")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"error: {binary} is not an executable; build it with cargo build --release", file=sys.stderr)
        sys.exit(2)
    return args, binary


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[bool, str, str]] = []

    def check(self, ok: bool, name: str, detail: str = "") -> bool:
        self.rows.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
        return ok

    def failed(self) -> int:
        return sum(1 for ok, _, _ in self.rows if not ok)

    def summary(self) -> int:
        """Prints the closing count line; the exit code: 1 when any check failed."""
        total, failed = len(self.rows), self.failed()
        print(f"\n{total - failed} passed, {failed} failed")
        return 1 if failed else 0


@dataclass
class Server:
    base: str
    log_path: str
    ready: bool

    def log_tail(self) -> str:
        with open(self.log_path, errors="replace") as log:
            return log.read()[-3000:]


@contextmanager
def crm_server(binary: str, workdir: str, settings: dict[str, str]) -> Iterator[Server]:
    """`crm-webhooks serve` on a free port with `workdir/crm.db`, no rate limit and `settings`;
    waits (bounded) for /healthz, and stops the server on leaving."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = without_crm_settings()
    env.update(
        CRM_BIND=f"127.0.0.1:{port}",
        CRM_DATABASE_URL=f"sqlite://{workdir}/crm.db",
        CRM_RATE_LIMIT_PER_MINUTE="0",
        RUST_LOG=os.environ.get("RUST_LOG", "warn"),
    )
    env.update(settings)
    log_path = os.path.join(workdir, "server.log")
    with open(log_path, "wb") as log:
        server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        ready = False
        while not ready and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                    ready = resp.status == 200
            except OSError:
                pass
            if not ready:
                time.sleep(0.1)
        yield Server(base, log_path, ready)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
