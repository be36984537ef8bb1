"""Real PouchDB phones for scripts/bench/scale: one node process (`scale_phones.mjs`) holding many phones.

Python sends commands and reads answers and events a line each, so a pull is timed inside node (without
its start-up) and a live phone's pulled records are heard of as PouchDB stores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.pouch_client import REPO_ROOT

SCRIPT = Path(__file__).with_name("scale_phones.mjs")


@dataclass(frozen=True)
class Pulled:
    """One one-shot pull: seconds inside the phone, what PouchDB wrote, and the ids it pulled."""

    ok: bool
    seconds: float
    docs_written: int
    ids: list[str]
    error: str | None


@dataclass(frozen=True)
class LivePhone:
    name: str
    token: str
    directory: Path


Event = dict[str, Any]


class NodePhones:
    """The node process; `events` gets every event line (live phones' changes and pauses)."""

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        self._on_event = on_event
        self._process: asyncio.subprocess.Process | None = None
        self._answers: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> NodePhones:
        self._process = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            cwd=REPO_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None and process.stdin is not None:
            with contextlib.suppress(Exception):
                process.stdin.write(b'{"op": "stop"}\n')
                await process.stdin.drain()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            message: Event = json.loads(line)
            if "event" in message:
                if self._on_event is not None:
                    self._on_event(message)
            else:
                await self._answers.put(message)
        await self._answers.put({"op": "exited"})

    async def _ask(self, command: dict[str, Any], timeout: float) -> Event:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        answer = await asyncio.wait_for(self._answers.get(), timeout)
        if answer.get("op") != command["op"]:
            raise RuntimeError(f"the node phones answered {answer} to {command['op']}")
        return answer

    async def pull(self, url: str, token: str, directory: Path, timeout: float = 1800) -> Pulled:
        answer = await self._ask({"op": "pull", "url": url, "token": token, "dir": str(directory)}, timeout)
        return Pulled(
            bool(answer["ok"]),
            float(answer["seconds"]),
            int(answer.get("docs_written") or 0),
            [str(doc_id) for doc_id in answer.get("ids", [])],
            answer.get("error"),
        )

    async def live(self, url: str, phones: list[LivePhone]) -> None:
        command = {
            "op": "live",
            "url": url,
            "phones": [{"name": p.name, "token": p.token, "dir": str(p.directory)} for p in phones],
        }
        await self._ask(command, 60)
