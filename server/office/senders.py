"""The ways a resident's message can leave, chosen by SEGEL_SENDER: a log file, SMTP, or an HTTP gateway.

Each sender sends one message or raises `SendError` with a reason staff can act on (it is shown with the
dead letter); the outbox (`notifications.py`) retries and gives up. Neither the reason nor a log line holds
the phone number, the text or a credential.

Delivery is at least once: a worker that dies after the provider accepted a message but before the outbox
recorded it sends it again after the lease. The message id goes with every send (JSON `id`, the
`Idempotency-Key` header, the email's Message-ID) so that a provider that deduplicates can drop the repeat.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import httpx

from server.office.ledger import now_iso
from server.settings import Settings

#: Seconds a provider may take to answer one message; a slower one counts as a failed attempt.
SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Message:
    id: str
    to: str
    text: str
    kind: str


class SendError(Exception):
    """A message was not accepted; `reason` says why, without the number or the text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    """Sends one message or raises; another SMS/WhatsApp adapter implements just this."""

    async def send(self, message: Message) -> None: ...


class LogFileSender:
    """Appends each message as one JSON line to `<SEGEL_DATA_DIR>/outbox.log` (the default, no provider)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "outbox.log"

    async def send(self, message: Message) -> None:
        line = {
            "id": message.id,
            "to": message.to,
            "kind": message.kind,
            "text": message.text,
            "at": now_iso(),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise SendError(
                f"outbox.log tidak dapat ditulis ({exc.strerror}); periksa SEGEL_DATA_DIR"
            ) from exc


class SmtpSender:
    """Mails each message to `<phone digits>@<SEGEL_SMTP_TO_DOMAIN>`, the address an email-to-SMS bridge
    gives every number. smtplib runs in a thread: one short connection per message keeps nothing open
    between worker rounds."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.smtp_host and settings.smtp_from and settings.smtp_to_domain):
            raise ValueError("SmtpSender needs smtp_host, smtp_from and smtp_to_domain")
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.user, self.password = settings.smtp_user, settings.smtp_password
        self.sender, self.domain, self.tls = settings.smtp_from, settings.smtp_to_domain, settings.smtp_tls

    def recipient(self, phone: str) -> str:
        return "".join(ch for ch in phone if ch.isdigit() or ch == "+") + "@" + self.domain

    async def send(self, message: Message) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = self.recipient(message.to)
        email["Subject"] = "Disdukcapil"
        email["Message-ID"] = f"<{message.id.replace(':', '.')}@segel>"
        email.set_content(message.text)
        try:
            if self.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=SEND_TIMEOUT_S, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S)
            with smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP menolak: {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError("SMTP menolak alamat tujuan") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP tidak terjangkau: {type(exc).__name__}") from exc


class HttpGatewaySender:
    """POSTs `{"to", "text", "id"}` as JSON to an SMS/WhatsApp provider's gateway, with the token as a
    Bearer header. Any answer but 2xx is a failed attempt, retried later: providers answer 429 or 5xx when
    busy, and a 4xx for a bad number ends, after the retries, as a dead letter staff can look at."""

    def __init__(self, url: str, token: str | None, *, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = client

    async def send(self, message: Message) -> None:
        body = {"to": message.to, "text": message.text, "id": message.id}
        headers = {**self.headers, "Idempotency-Key": message.id}
        try:
            if self.client is not None:
                response = await self.client.post(self.url, json=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S) as client:
                    response = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(f"gateway tidak terjangkau: {type(exc).__name__}") from exc
        if not response.is_success:
            raise SendError(f"gateway menjawab HTTP {response.status_code}")


def sender_from_settings(settings: Settings) -> Sender:
    """The sender SEGEL_SENDER names (settings have already checked that it is complete)."""
    if settings.sender == "smtp":
        return SmtpSender(settings)
    if settings.sender == "http":
        return HttpGatewaySender(str(settings.sms_gateway_url), settings.sms_gateway_token)
    return LogFileSender(settings.data_dir)
