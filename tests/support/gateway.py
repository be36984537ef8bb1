"""A stand-in for an SMS/WhatsApp provider's HTTP gateway: a real local HTTP server that records each
request and answers as the test tells it (a status, or no answer at all, as a provider that hangs)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, object]
    answered: int | None  # the status sent back, None when the request was left hanging


@dataclass
class Gateway:
    url: str
    #: Statuses for the next requests, in order; once used up, 200. "hang" answers nothing until released.
    plan: list[int | str] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answered(self, status: int = 200) -> list[Recorded]:
        return [r for r in self.requests if r.answered == status]


@contextmanager
def running_gateway() -> Iterator[Gateway]:
    gateway = Gateway(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                step = gateway.plan.pop(0) if gateway.plan else 200
                record = Recorded(self.path, dict(self.headers), body, None)
                gateway.requests.append(record)
            if step == "hang":
                gateway.release.wait(60)
                return
            record.answered = int(step)
            payload = json.dumps({"ok": record.answered < 300}).encode()
            self.send_response(record.answered)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        gateway.release.set()
        server.shutdown()
        server.server_close()
