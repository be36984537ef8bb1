"""Light live phones for scripts/bench/scale: many couriers in one asyncio process, each speaking the
gateway exactly as a live PouchDB replication does, without a local database.

Per phone, in a loop: `GET _changes?style=all_docs&since=…&limit=100&feed=longpoll&heartbeat=10000` (what
PouchDB 9 sends for `replicate.from(url, {live: true})`; no `timeout`, so the gateway holds it for its
30 s at most, with newlines as heartbeat); when rows come back, what PouchDB does with a batch:
`_revs_diff` of the rows, `_bulk_get` of what it lacks (`revs`, `latest`), and its checkpoint `PUT
_local/<id>`; then the next longpoll from the answer's `last_seq`. So the server sees what a thousand
PouchDB phones would make it do, at a fraction of the bench's memory and CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: What PouchDB 9 asks for in a live pull (pouchdb-adapter-http, replicate's changes options).
LONGPOLL = {"style": "all_docs", "limit": "100", "feed": "longpoll", "heartbeat": "10000"}
#: PouchDB's own request timeout for a longpoll with a 10 s heartbeat is longer than the gateway's hold.
READ_TIMEOUT_S = 60.0

Seen = Callable[[str, list[str], float], None]


@dataclass
class LightPhone:
    courier: str
    token: str
    ready: bool = False
    errors: int = 0
    answers: int = 0
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
            except (httpx.HTTPError, ValueError, KeyError):
                self.errors += 1
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


class LightPhones:
    """The phones' tasks and their one connection pool (a connection per waiting phone)."""

    def __init__(self, url: str, seen: Seen, most: int) -> None:
        self.url = url
        self.seen = seen
        self.phones: list[LightPhone] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=10.0),
            limits=httpx.Limits(max_connections=most + 50, max_keepalive_connections=most + 50),
        )

    async def connect(self, phones: list[LightPhone], group: int = 50) -> None:
        """Start phones in groups (their first pulls would otherwise all land in the same instant)."""
        for start in range(0, len(phones), group):
            for phone in phones[start : start + group]:
                self.phones.append(phone)
                self._tasks.append(asyncio.create_task(phone.run(self._client, self.url, self.seen)))
            await asyncio.sleep(0.2)

    @property
    def errors(self) -> int:
        return sum(phone.errors for phone in self.phones)

    def all_ready(self) -> bool:
        return all(phone.ready for phone in self.phones)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()
