"""Light live phones for scripts/bench/scale: many couriers in one asyncio process, each speaking the
gateway exactly as a live PouchDB replication does, without a local database.

Per phone, in a loop: `GET _changes?style=all_docs&since=…&limit=100&feed=longpoll&heartbeat=10000` (what
PouchDB 9 sends for `replicate.from(url, {live: true})`; no `timeout`, so the gateway holds it for its
30 s at most, with newlines as heartbeat); when rows come back, what PouchDB does with a batch:
`_revs_diff` of the rows, `_bulk_get` of what it lacks (`revs`, `latest`), and its checkpoint `PUT
_local/<id>`; then the next longpoll from the answer's `last_seq`. So the server sees what a thousand
PouchDB phones would make it do, at a fraction of the bench's memory and CPU.

Run as `python -m devtools.bench.light_phones <gateway url>` by `devtools.bench.phone_processes`: commands
on stdin a JSON line each (`{"op": "connect", "phones": {courier: token}}`, `{"op": "status"}`,
`{"op": "stop"}`), answers and `{"event": "change", "phone", "ids", "at"}` lines on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: What PouchDB 9 asks for in a live pull (pouchdb-adapter-http, replicate's changes options).
LONGPOLL = {"style": "all_docs", "limit": "100", "feed": "longpoll", "heartbeat": "10000"}
#: PouchDB's own request timeout for a longpoll with a 10 s heartbeat is longer than the gateway's hold.
READ_TIMEOUT_S = 120.0

Seen = Callable[[str, list[str], float], None]


@dataclass
class LightPhone:
    courier: str
    token: str
    ready: bool = False
    errors: int = 0
    answers: int = 0
    last_error: str = ""
    _checkpoint_rev: str | None = field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    async def run(self, client: httpx.AsyncClient, url: str, seen: Seen) -> None:
        since = "0"
        while True:
            try:
                answer = await client.get(
                    f"{url}/_changes", params={**LONGPOLL, "since": since}, headers=self.headers
                )
                answer.raise_for_status()
                body = json.loads(answer.content)
                rows: list[dict[str, Any]] = body["results"]
                self.answers += 1
                if rows:
                    seen(self.courier, [str(row["id"]) for row in rows], time.time())
                    await self._fetch(client, url, rows)
                    await self._checkpoint(client, url, str(body["last_seq"]))
                since = str(body["last_seq"])
                self.ready = True
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                await asyncio.sleep(1.0)

    async def _fetch(self, client: httpx.AsyncClient, url: str, rows: list[dict[str, Any]]) -> None:
        offered = {str(row["id"]): [change["rev"] for change in row["changes"]] for row in rows}
        diff = await client.post(f"{url}/_revs_diff", json=offered, headers=self.headers)
        diff.raise_for_status()
        wanted = [
            {"id": doc_id, "rev": rev} for doc_id, entry in diff.json().items() for rev in entry["missing"]
        ]
        if wanted:
            got = await client.post(
                f"{url}/_bulk_get",
                params={"revs": "true", "latest": "true"},
                json={"docs": wanted},
                headers=self.headers,
            )
            got.raise_for_status()

    async def _checkpoint(self, client: httpx.AsyncClient, url: str, last_seq: str) -> None:
        doc: dict[str, Any] = {"_id": "_local/light", "last_seq": last_seq, "session_id": "light"}
        if self._checkpoint_rev:
            doc["_rev"] = self._checkpoint_rev
        saved = await client.put(f"{url}/_local/light", json=doc, headers=self.headers)
        saved.raise_for_status()
        self._checkpoint_rev = str(saved.json()["rev"])


#: Phones per connection pool. httpx's pool does work in proportion to its connections on every request
#: (httpcore assigns queued requests to connections by walking them), so one pool of a thousand waiting
#: longpolls costs this process a core; pools of 25 cost next to nothing.
PHONES_PER_POOL = 25


class LightPool:
    """The phones' tasks and their connection pools (a connection per waiting phone)."""

    def __init__(self, url: str, seen: Seen) -> None:
        self.url = url
        self.seen = seen
        self.phones: list[LightPhone] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[httpx.AsyncClient] = []

    def _client(self) -> httpx.AsyncClient:
        if not self._clients or len(self.phones) % PHONES_PER_POOL == 0:
            self._clients.append(
                httpx.AsyncClient(
                    timeout=httpx.Timeout(READ_TIMEOUT_S, connect=10.0),
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
                )
            )
        return self._clients[-1]

    async def connect(self, phones: list[LightPhone], group: int = 25, timeout: float = 300) -> None:
        """Start phones a group at a time, each group once the one before is waiting: a thousand first pulls
        in the same instant would queue at the database past any client's timeout and be sent again."""
        for start in range(0, len(phones), group):
            batch = phones[start : start + group]
            for phone in batch:
                client = self._client()
                self.phones.append(phone)
                self._tasks.append(asyncio.create_task(phone.run(client, self.url, self.seen)))
            deadline = time.monotonic() + timeout
            while not all(phone.ready for phone in batch):
                if time.monotonic() > deadline:
                    raise SystemExit(f"light phones not waiting after {timeout:.0f} s: {self.not_ready()}")
                await asyncio.sleep(0.1)

    @property
    def errors(self) -> int:
        return sum(phone.errors for phone in self.phones)

    def all_ready(self) -> bool:
        return all(phone.ready for phone in self.phones)

    def not_ready(self) -> str:
        """Which phones are not waiting yet, and why (for a bench that gives up on them)."""
        late = [phone for phone in self.phones if not phone.ready]
        dead = sum(1 for task in self._tasks if task.done())
        errors = sorted({phone.last_error for phone in late if phone.last_error})[:3]
        return f"{len(late)} light phones not waiting (tasks ended: {dead}; errors: {errors})"

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in self._clients:
            await client.aclose()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(url: str) -> None:
    """The line protocol of the module docstring, until `stop` or the end of stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def seen(courier: str, ids: list[str], at: float) -> None:
        _say({"event": "change", "phone": courier, "ids": ids, "at": at})

    pool = LightPool(url, seen)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if command["op"] == "connect":
                phones = [LightPhone(courier, token) for courier, token in command["phones"].items()]
                try:
                    await pool.connect(phones)
                except SystemExit as exc:
                    _say({"op": "connect", "failed": str(exc), "errors": pool.errors})
                    continue
                _say({"op": "connect", "errors": pool.errors})
            elif command["op"] == "status":
                _say({"op": "status", "errors": pool.errors})
            elif command["op"] == "stop":
                break
    finally:
        await pool.aclose()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
