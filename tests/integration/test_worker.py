"""`segel worker` as a real process: it does the office's work the web app no longer does, and a worker
killed between claiming a message and recording it leaves the message to the next worker, sent once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import pytest

from server.office import intake
from server.office.ledger import Ledger
from server.settings import Settings
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support.gateway import running_gateway
from tests.support.logscan import log_file
from tests.support.office import next_handoff, put_document, ready_ledger, staff
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.anyio


@contextmanager
def worker(settings: Settings, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    full = {**os.environ, **settings_env(settings), "SEGEL_OFFICE_WORKER_S": "1", **env}
    with log_file("worker").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "worker"], cwd=REPO_ROOT, env=full, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


async def status_of(ledger: Ledger, message_id: str) -> str:
    return str((await ledger.office.get(message_id))["status"])


async def wait_for(check: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await anyio.sleep(0.1)
    raise AssertionError("timed out")


async def test_the_worker_process_checks_and_tells_the_resident_and_stops_on_sigterm(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000901")
    await ledger.records.put(next_handoff(sealed, "picked_up"))
    log = settings.data_dir / "outbox.log"
    with worker(settings) as process:

        async def told() -> bool:
            return log.exists() and "out_for_delivery" in log.read_text()

        await wait_for(told)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


async def test_a_worker_killed_mid_send_leaves_the_message_to_the_next_one_which_sends_it_once(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    sealed = await intake.bind_seal(ledger, staff(), str(doc["_id"]), "BP00000902")
    await ledger.records.put(next_handoff(sealed, "picked_up"))
    with running_gateway() as gateway:
        gateway.plan = ["hang"]  # the provider takes the first request and never answers
        env = {"SEGEL_SENDER": "http", "SEGEL_SMS_GATEWAY_URL": gateway.url, "SEGEL_OUTBOX_LEASE_S": "3"}
        with worker(settings, **env) as first:

            async def claimed() -> bool:
                return len(gateway.requests) == 1

            await wait_for(claimed)
            first.kill()  # kill -9 between claiming the message and recording it
            first.wait(timeout=10)
        [message_id] = {str(r.body["id"]) for r in gateway.requests}
        assert await status_of(ledger, message_id) == "sending"

        with worker(settings, **env):

            async def sent() -> bool:
                return await status_of(ledger, message_id) == "sent"

            await wait_for(sent)
            await anyio.sleep(2)  # a few more rounds: nothing is sent again
    assert [r.body["id"] for r in gateway.answered(200)] == [message_id]
    assert len(gateway.requests) == 2
    record = await ledger.office.get(message_id)
    assert record["attempts"] == 2 and "lease_until" not in record
