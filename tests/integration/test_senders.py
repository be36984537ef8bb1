"""Real senders against real servers: SMTP against a local aiosmtpd, the HTTP gateway against a local HTTP
server that records what it was sent. Both are chosen by settings, as a deployment chooses them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from devtools.embedded import free_port
from server.office.notifications import RetryPolicy, deliver_pending, enqueue
from server.office.senders import (
    HttpGatewaySender,
    LogFileSender,
    Message,
    SendError,
    SmtpSender,
    sender_from_settings,
)
from server.settings import Settings
from store.couch import CouchClient
from tests.support.gateway import running_gateway
from tests.support.office import put_document, ready_ledger

pytestmark = pytest.mark.anyio
MESSAGE = Message(
    "notification:abc", "+62 812-3456-7890", "Disdukcapil: dokumen KTP sudah selesai.", "document_ready"
)


class Mailbox:
    """aiosmtpd handler: keeps what it receives; refuses recipients listed in `refuse`."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int, list[tuple[str, str]]]]:
    mailbox, logins = Mailbox(), []

    def authenticate(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"rahasia")

    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield mailbox, port, logins
    finally:
        controller.stop()


def smtp_settings(settings: Settings, port: int, **changes: object) -> Settings:
    fields: dict[str, object] = {
        "sender": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_user": "segel",
        "smtp_password": "rahasia",
        "smtp_from": "disdukcapil@kantor.example",
        "smtp_to_domain": "sms.example",
    }
    return dataclasses.replace(settings, **(fields | changes))  # type: ignore[arg-type]


async def test_smtp_sender_mails_the_phone_address_of_the_email_to_sms_bridge(
    settings: Settings, smtp_server: tuple[Mailbox, int, list[tuple[str, str]]]
) -> None:
    mailbox, port, logins = smtp_server
    sender = sender_from_settings(smtp_settings(settings, port))
    assert isinstance(sender, SmtpSender)

    await sender.send(MESSAGE)

    [envelope] = mailbox.received
    assert envelope.mail_from == "disdukcapil@kantor.example"
    assert envelope.rcpt_tos == ["+6281234567890@sms.example"]
    mail = message_from_bytes(envelope.original_content or b"")
    assert mail.get_payload(decode=True).decode().strip() == MESSAGE.text  # type: ignore[union-attr]
    assert mail["Message-ID"] == "<notification.abc@segel>"  # a bridge that deduplicates can drop a repeat
    assert logins == [("segel", "rahasia")]


async def test_smtp_refusals_and_an_unreachable_server_are_send_errors(
    settings: Settings, smtp_server: tuple[Mailbox, int, list[tuple[str, str]]]
) -> None:
    mailbox, port, _ = smtp_server
    mailbox.refuse.add("+6281234567890@sms.example")
    with pytest.raises(SendError, match="SMTP menolak"):
        await SmtpSender(smtp_settings(settings, port)).send(MESSAGE)
    with pytest.raises(SendError, match="tidak terjangkau"):
        await SmtpSender(smtp_settings(settings, free_port())).send(MESSAGE)
    assert mailbox.received == []


async def test_http_gateway_gets_json_with_the_token_and_non_2xx_is_a_failure(settings: Settings) -> None:
    with running_gateway() as gateway:
        sender = sender_from_settings(
            dataclasses.replace(
                settings, sender="http", sms_gateway_url=gateway.url, sms_gateway_token="tok-1"
            )
        )
        assert isinstance(sender, HttpGatewaySender)
        await sender.send(MESSAGE)
        gateway.plan = [503, 400]
        for _ in range(2):
            with pytest.raises(SendError, match=r"HTTP (503|400)"):
                await sender.send(MESSAGE)

    first = gateway.requests[0]
    assert first.body == {"to": MESSAGE.to, "text": MESSAGE.text, "id": MESSAGE.id}
    assert first.headers["Authorization"] == "Bearer tok-1"
    assert first.headers["Idempotency-Key"] == MESSAGE.id
    assert [r.answered for r in gateway.requests] == [200, 503, 400]
    with pytest.raises(SendError, match="tidak terjangkau"):
        await HttpGatewaySender(f"http://127.0.0.1:{free_port()}/send", None).send(MESSAGE)


async def test_a_gateway_answering_5xx_keeps_the_message_for_a_retry_then_it_is_sent(
    couch: CouchClient, settings: Settings
) -> None:
    ledger = await ready_ledger(couch, settings)
    doc = await put_document(ledger, name="Siti Aminah")
    queued = await enqueue(ledger, "document_ready", doc, "http://localhost:8000/r/abc")
    retry_now = RetryPolicy(backoff_s=0)
    with running_gateway() as gateway:
        gateway.plan = [502]
        sender = HttpGatewaySender(gateway.url, "tok-1")
        assert await deliver_pending(ledger, sender, policy=retry_now) == 0
        failed = await ledger.office.get(str(queued["_id"]))
        assert (failed["status"], failed["attempts"], failed["last_error"]) == (
            "pending",
            1,
            "gateway menjawab HTTP 502",
        )
        assert await deliver_pending(ledger, sender, policy=retry_now) == 1
    assert [r.answered for r in gateway.requests] == [502, 200]
    assert {r.body["id"] for r in gateway.requests} == {queued["_id"]}
    assert (await ledger.office.get(str(queued["_id"])))["status"] == "sent"


async def test_the_log_sender_writes_under_the_data_dir_and_fails_as_a_send_error(tmp_path: Path) -> None:
    sender = LogFileSender(tmp_path / "data")
    await sender.send(MESSAGE)
    assert json.loads(sender.path.read_text())["id"] == MESSAGE.id
    assert sender.path == tmp_path / "data" / "outbox.log"
    (tmp_path / "blocked").write_text("a file where the directory should be")
    with pytest.raises(SendError, match="SEGEL_DATA_DIR"):
        await LogFileSender(tmp_path / "blocked").send(MESSAGE)
