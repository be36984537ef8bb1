"""The residents' outbox: a claimed message whose worker died is sent by a later round, failures back off
and end as a dead letter that only its own office's staff see and can resend."""

from __future__ import annotations

import asyncio
import json

import anyio
import pytest
from starlette.testclient import TestClient

from records.types import JSONDict
from server.office.ledger import Ledger
from server.office.notifications import RetryPolicy, deliver_pending, enqueue
from server.office.senders import LogFileSender, Message, SendError
from server.settings import Settings
from store.couch import CouchClient
from tests.integration.test_office_pages import as_user, csrf_of, people
from tests.support.office import put_document, ready_ledger

pytestmark = pytest.mark.anyio


class Hanging:
    """A sender that never returns: the process "dies" (the task is cancelled) between claim and record."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, message: Message) -> None:
        self.started.set()
        await asyncio.Event().wait()


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: Message) -> None:
        self.calls += 1
        raise SendError("gateway menjawab HTTP 503")


async def queued(
    ledger: Ledger, kind: str = "document_ready", **changes: object
) -> tuple[JSONDict, JSONDict]:
    doc = await put_document(ledger, name="Siti Aminah", **changes)
    return doc, await enqueue(ledger, kind, doc, "http://localhost:8000/r/abc")


async def test_a_worker_that_dies_after_claiming_leaves_the_message_to_the_next_round_after_the_lease(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    _, message = await queued(ledger)
    policy = RetryPolicy(lease_s=1)
    hanging = Hanging()
    dying = asyncio.create_task(deliver_pending(ledger, hanging, policy=policy))
    await asyncio.wait_for(hanging.started.wait(), 10)
    dying.cancel()  # the worker is gone; the message stays claimed
    with pytest.raises(asyncio.CancelledError):
        await dying
    claimed = await ledger.office.get(str(message["_id"]))
    assert claimed["status"] == "sending" and claimed["attempts"] == 1

    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender, policy=policy) == 0  # the lease still holds
    await anyio.sleep(1.1)
    assert await deliver_pending(ledger, sender, policy=policy) == 1
    assert await deliver_pending(ledger, sender, policy=policy) == 0
    sent = await ledger.office.get(str(message["_id"]))
    assert sent["status"] == "sent" and sent["attempts"] == 2 and "lease_until" not in sent
    assert [json.loads(line)["id"] for line in sender.path.read_text().splitlines()] == [message["_id"]]


async def test_a_later_message_of_the_same_document_waits_while_an_earlier_one_backs_off(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc, first = await queued(ledger, "out_for_delivery")
    second = await enqueue(ledger, "delivered", doc, "http://localhost:8000/r/abc")
    _, other = await queued(ledger)
    failing = Failing()
    policy = RetryPolicy(backoff_s=60)
    assert await deliver_pending(ledger, failing, policy=policy) == 0
    assert failing.calls == 2  # the first of the document, and the other document's; not "delivered"
    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender, policy=policy) == 0  # both backed off for a minute
    states = [(await ledger.office.get(str(m["_id"])))["status"] for m in (first, second, other)]
    assert states == ["pending", "pending", "pending"]
    assert (await ledger.office.get(str(first["_id"])))["attempts"] == 1


async def test_a_message_that_keeps_failing_is_a_dead_letter_only_its_office_sees_and_can_resend(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = Ledger.of(couch, settings)
    _, message = await queued(ledger)
    failing = Failing()
    policy = RetryPolicy(max_attempts=3, backoff_s=0)
    for _ in range(5):
        assert await deliver_pending(ledger, failing, policy=policy) == 0
    dead = await ledger.office.get(str(message["_id"]))
    assert (dead["status"], dead["attempts"], failing.calls) == ("dead", 3, 3)
    assert dead["last_error"] == "gateway menjawab HTTP 503"

    await as_user(client, couch, settings, "rina.bandung")  # staff of another office
    page = client.get("/office/exceptions")
    assert page.status_code == 200 and message["_id"] not in page.text
    token = csrf_of(client.get("/office/intake").text)
    answer = client.post(
        f"/office/outbox/{message['_id']}/resend", data={"csrf": token}, follow_redirects=False
    )
    missing = client.post(
        "/office/outbox/notification:nope/resend", data={"csrf": token}, follow_redirects=False
    )
    assert answer.status_code == missing.status_code == 404  # another office's message reads as missing
    assert (await ledger.office.get(str(message["_id"])))["status"] == "dead"

    await as_user(client, couch, settings, "budi.santoso")
    page = client.get("/office/exceptions")
    assert f'data-message="{message["_id"]}"' in page.text and "gagal terkirim" in page.text
    assert "gateway menjawab HTTP 503" in page.text and "Dokumen siap" in page.text
    no_token = client.post(f"/office/outbox/{message['_id']}/resend", follow_redirects=False)
    assert no_token.status_code == 403
    resent = client.post(
        f"/office/outbox/{message['_id']}/resend", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert resent.status_code == 303
    again = client.post(
        f"/office/outbox/{message['_id']}/resend", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert again.status_code == 409  # no longer a dead letter
    assert f'data-message="{message["_id"]}"' not in client.get("/office/exceptions").text

    sender = LogFileSender(settings.data_dir)
    assert await deliver_pending(ledger, sender, policy=policy) == 1
    sent = await ledger.office.get(str(message["_id"]))
    assert sent["status"] == "sent" and sent["resent_by"] == "budi.santoso"


async def test_opening_the_exceptions_page_sends_nothing(
    client: TestClient, couch: CouchClient, settings: Settings
) -> None:
    await people(couch, settings)
    ledger = Ledger.of(couch, settings)
    _, message = await queued(ledger)
    await as_user(client, couch, settings, "budi.santoso")
    assert client.get("/office/exceptions").status_code == 200
    assert client.get("/office").status_code == 200
    assert (await ledger.office.get(str(message["_id"])))["status"] == "pending"
    assert not (settings.data_dir / "outbox.log").exists()
