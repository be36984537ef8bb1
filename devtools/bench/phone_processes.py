"""The phones of scripts/bench/scale, each kind in a child process of its own, spoken to a JSON line at a
time: real PouchDB phones in node (`scale_phones.mjs`) and light longpoll phones in Python
(`light_phones.py`).

Commands go to the child's stdin; answers and events come back on its stdout, so a pull is timed inside the
phone (without the child's start-up) and a live phone's records are heard of the moment it has them. Being
processes of their own, a thousand phones take nothing from the bench's process, which writes the staff's
changes, times them and relays the server's database requests through its recording proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

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


class PhoneProcess:
    """A child speaking the line protocol; `on_event` gets every event line (changes, pauses)."""

    def __init__(self, argv: Sequence[str], on_event: Callable[[Event], None] | None = None) -> None:
        self._argv = list(argv)
        self._on_event = on_event
        self._process: asyncio.subprocess.Process | None = None
        self._answers: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv,
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

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid


class NodePhones(PhoneProcess):
    """Real PouchDB 9 phones, in one node process."""

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        super().__init__(["node", str(SCRIPT)], on_event)

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


class LightPhones(PhoneProcess):
    """Light longpoll phones (`devtools.bench.light_phones`), in one Python process."""

    def __init__(self, url: str, on_event: Callable[[Event], None] | None = None) -> None:
        super().__init__([sys.executable, "-m", "devtools.bench.light_phones", url], on_event)

    async def connect(self, phones: dict[str, str], timeout: float = 1800) -> int:
        """Start these phones (courier -> token), a group at a time; once all wait, the errors so far."""
        answer = await self._ask({"op": "connect", "phones": phones}, timeout)
        if answer.get("failed"):
            raise SystemExit(f"light phones did not all start: {answer['failed']}")
        return int(answer["errors"])

    async def errors(self) -> int:
        return int((await self._ask({"op": "status"}, 60))["errors"])
