"""Settings, read from the environment once.

Tests build `Settings(...)` directly; the server calls `Settings.from_env()` at start and fails fast, naming
the variable, when a value is unusable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tldextract

from server.resources import CHECKOUT_DIR
from store.couch import CouchClient

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable to fix."""


@dataclass(frozen=True)
class Settings:
    couchdb_url: str
    couchdb_user: str | None
    couchdb_password: str | None
    secret_key: str
    db_prefix: str = "segel"
    host: str = "127.0.0.1"
    port: int = 8000
    origin: str = "http://localhost:8000"
    rp_id: str = "localhost"
    rp_name: str = "Segel"
    log_level: str = "INFO"
    session_max_age_s: int = 8 * 3600
    #: CouchDB's `w` for document writes; on a cluster set it to n (3), so an office page reads its own
    #: writes through views. None: CouchDB's default (a majority of n).
    couchdb_write_quorum: int | None = None
    #: Reverse proxies whose `X-Forwarded-For` is believed (SEGEL_TRUSTED_PROXIES). None by default: the
    #: client address is the TCP peer, and a client cannot choose its own address for the rate limits.
    trusted_proxies: tuple[Network, ...] = ()
    #: Changes the gateway's change cache keeps in memory (SEGEL_CHANGE_CACHE_ENTRIES): an incremental pull
    #: from further back than that restarts the user's initial pull. About 0.5 KB each (docs/sync.md).
    change_cache_entries: int = 200_000
    #: Where Segel may write files (the notification outbox; `scripts/run` adds the embedded database and its
    #: secrets). Always given: an installed package has no place of its own to write.
    data_dir: Path = field(kw_only=True)
    #: How residents' messages leave (`server/office/senders.py`): `log` (a file under data_dir), `smtp`
    #: (an email-to-SMS bridge: each message goes to <phone>@smtp_to_domain) or `http` (an SMS/WhatsApp
    #: provider's gateway, POSTed JSON {to, text, id}).
    sender: str = field(default="log", kw_only=True)
    smtp_host: str | None = field(default=None, kw_only=True)
    smtp_port: int = field(default=587, kw_only=True)
    smtp_user: str | None = field(default=None, kw_only=True)
    smtp_password: str | None = field(default=None, kw_only=True, repr=False)
    smtp_from: str | None = field(default=None, kw_only=True)
    smtp_to_domain: str | None = field(default=None, kw_only=True)
    #: `starttls` (port 587), `ssl` (port 465) or `none` (a relay on the same host or network only).
    smtp_tls: str = field(default="starttls", kw_only=True)
    sms_gateway_url: str | None = field(default=None, kw_only=True)
    sms_gateway_token: str | None = field(default=None, kw_only=True, repr=False)

    @property
    def records_db(self) -> str:
        return f"{self.db_prefix}_records"

    @property
    def receipts_db(self) -> str:
        """The gateway's receipts and sequence-number claims, kept apart from the records so that the records'
        views never index them (docs/performance.md, "Push database work")."""
        return f"{self.db_prefix}_receipts"

    @property
    def identity_db(self) -> str:
        return f"{self.db_prefix}_identity"

    @property
    def audit_db(self) -> str:
        return f"{self.db_prefix}_audit"

    @property
    def office_db(self) -> str:
        return f"{self.db_prefix}_office"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure everywhere but on plain-HTTP localhost, where browsers would drop them."""
        return urlparse(self.origin).scheme == "https"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("COUCHDB_URL", "").strip()
        if not url:
            raise SettingsError(
                "COUCHDB_URL is not set: point it at CouchDB (e.g. http://127.0.0.1:5984), "
                "or start Segel with scripts/run, which starts the embedded one."
            )
        if urlparse(url).scheme not in ("http", "https"):
            raise SettingsError(f"COUCHDB_URL must start with http:// or https:// (got {url!r}).")
        secret = env.get("SEGEL_SECRET_KEY", "")
        if len(secret) < 32:
            raise SettingsError(
                "SEGEL_SECRET_KEY must be at least 32 characters: generate one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        port = _int(env, "SEGEL_PORT", 8000)
        origin = env.get("SEGEL_ORIGIN", f"http://localhost:{port}").rstrip("/")
        rp_id = (env.get("SEGEL_RP_ID") or urlparse(origin).hostname or "localhost").lower()
        check_rp_id(origin, rp_id)
        return cls(
            couchdb_url=url,
            couchdb_user=env.get("COUCHDB_USER") or None,
            couchdb_password=env.get("COUCHDB_PASSWORD") or None,
            secret_key=secret,
            db_prefix=env.get("SEGEL_DB_PREFIX", "segel"),
            host=env.get("SEGEL_HOST", "127.0.0.1"),
            port=port,
            origin=origin,
            rp_id=rp_id,
            rp_name=env.get("SEGEL_RP_NAME", "Segel"),
            log_level=env.get("SEGEL_LOG_LEVEL", "INFO").upper(),
            session_max_age_s=_int(env, "SEGEL_SESSION_MAX_AGE", 8 * 3600),
            couchdb_write_quorum=_int(env, "COUCHDB_WRITE_QUORUM", 0) or None,
            trusted_proxies=parse_trusted_proxies(env.get("SEGEL_TRUSTED_PROXIES", "")),
            change_cache_entries=_positive(env, "SEGEL_CHANGE_CACHE_ENTRIES", 200_000),
            data_dir=data_dir_from_env(env),
            **_sender_fields(env),
        )


def check_rp_id(origin: str, rp_id: str) -> None:
    """Refuse a WebAuthn relying party ID that browsers would refuse, or that would be too wide.

    The RP ID must be the origin's host or a parent domain of it, compared label by label (so
    `notexample.com` is not under `example.com`), and never a public suffix (`com`, `co.id`, `github.io`):
    a passkey for a public suffix would be usable by every site under it. Public suffixes come from the
    Public Suffix List snapshot bundled with `tldextract` (never fetched at run time).
    """
    host = (urlparse(origin).hostname or "").lower().rstrip(".")
    rp = rp_id.lower().rstrip(".")
    fix = f"set SEGEL_RP_ID to the host of SEGEL_ORIGIN ({host!r}) or to its registrable domain"
    if not rp or not host:
        raise SettingsError(f"SEGEL_ORIGIN {origin!r} has no host: {fix}.")
    if _is_ip(host) or _is_ip(rp):
        if rp != host:
            raise SettingsError(f"SEGEL_RP_ID {rp_id!r} must equal the address in SEGEL_ORIGIN {origin!r}.")
        return
    if host != rp and not host.endswith("." + rp):
        raise SettingsError(
            f"SEGEL_RP_ID {rp_id!r} must be the host of SEGEL_ORIGIN {origin!r} or a parent domain "
            f"of it: {fix}."
        )
    parts = _public_suffixes()(rp)
    if parts.suffix and not parts.domain:
        raise SettingsError(f"SEGEL_RP_ID {rp_id!r} is a public suffix, shared by unrelated sites: {fix}.")


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # No suffix_list_urls and no cache: the bundled snapshot only, no network fetch and no file written.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def parse_trusted_proxies(raw: str) -> tuple[Network, ...]:
    """SEGEL_TRUSTED_PROXIES: comma-separated addresses or CIDR networks of the proxies in front of Segel."""
    networks: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise SettingsError(
                f"SEGEL_TRUSTED_PROXIES: {item!r} is not an IP address or network (e.g. 10.0.0.5 or "
                "172.18.0.0/16); list only the proxies in front of Segel, separated by commas."
            ) from exc
    return tuple(networks)


def open_couch(settings: Settings) -> CouchClient:
    """The process's CouchDB client, as the settings describe it."""
    return CouchClient(
        settings.couchdb_url,
        settings.couchdb_user,
        settings.couchdb_password,
        write_quorum=settings.couchdb_write_quorum,
    )


def data_dir_from_env(env: Mapping[str, str]) -> Path:
    """SEGEL_DATA_DIR; unset, a checkout's git-ignored `var/`, and an installed package refuses to guess."""
    raw = env.get("SEGEL_DATA_DIR", "").strip()
    if raw:
        return Path(raw).expanduser().resolve()
    if CHECKOUT_DIR is not None:
        return CHECKOUT_DIR / "var"
    raise SettingsError(
        "SEGEL_DATA_DIR is not set: name a directory this user may write to, e.g. /var/lib/segel "
        "(notification outbox; with `scripts/run` also the embedded database). An installed Segel never "
        "writes inside its own package."
    )


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data directory and prove it writable before serving, instead of failing on the first
    notification hours later (a container whose user cannot write there did exactly that)."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(
            f"SEGEL_DATA_DIR {str(path)!r} is not writable by this user ({exc.strerror}): create it and give "
            "this user write access, or point SEGEL_DATA_DIR elsewhere."
        ) from exc
    return path


SENDERS = ("log", "smtp", "http")


def _sender_fields(env: Mapping[str, str]) -> dict[str, Any]:
    """The message sender's settings; the one chosen by SEGEL_SENDER must be complete, or Segel refuses to
    start (a worker that cannot send would only fill the dead letters)."""
    sender = env.get("SEGEL_SENDER", "log").strip().lower() or "log"
    if sender not in SENDERS:
        raise SettingsError(f"SEGEL_SENDER must be one of {', '.join(SENDERS)} (got {sender!r}).")
    fields: dict[str, Any] = {
        "sender": sender,
        "smtp_host": env.get("SEGEL_SMTP_HOST") or None,
        "smtp_port": _int(env, "SEGEL_SMTP_PORT", 587),
        "smtp_user": env.get("SEGEL_SMTP_USER") or None,
        "smtp_password": env.get("SEGEL_SMTP_PASSWORD") or None,
        "smtp_from": env.get("SEGEL_SMTP_FROM") or None,
        "smtp_to_domain": env.get("SEGEL_SMTP_TO_DOMAIN") or None,
        "smtp_tls": env.get("SEGEL_SMTP_TLS", "starttls").strip().lower(),
        "sms_gateway_url": env.get("SEGEL_SMS_GATEWAY_URL") or None,
        "sms_gateway_token": env.get("SEGEL_SMS_GATEWAY_TOKEN") or None,
    }
    if fields["smtp_tls"] not in ("starttls", "ssl", "none"):
        raise SettingsError(f"SEGEL_SMTP_TLS must be starttls, ssl or none (got {fields['smtp_tls']!r}).")
    if sender == "smtp":
        for name in ("SEGEL_SMTP_HOST", "SEGEL_SMTP_FROM", "SEGEL_SMTP_TO_DOMAIN"):
            if not env.get(name):
                raise SettingsError(
                    f"{name} is not set but SEGEL_SENDER=smtp needs it (host, sender address, and the "
                    "email-to-SMS domain messages are addressed to as <phone>@domain)."
                )
    if sender == "http":
        url = fields["sms_gateway_url"] or ""
        if urlparse(url).scheme not in ("http", "https"):
            raise SettingsError(
                f"SEGEL_SMS_GATEWAY_URL must be the provider's http(s):// address when SEGEL_SENDER=http "
                f"(got {url!r})."
            )
    return fields


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{key} must be a whole number (got {raw!r}).") from exc


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if value < 1:
        raise SettingsError(f"{key} must be at least 1 (got {value}).")
    return value
