"""Several Segel instances on one database (a cluster behind a load balancer): they start together, phones
push through either, and what staff do on one holds on the other within a second: an instance keeps
nothing about a session or a user that another would need, and what its principal cache holds is evicted
by its follower of the identity database's changes.

Instance two reaches the database through a recording proxy, so a test can see that it was answering from
its cache (no identity read) right before the revocation it must honour. The delays are printed (`-s`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from devtools.embedded import free_port
from server.identity.sessions import SESSION_COOKIE
from server.identity.store import TOKEN_ID_LENGTH, sha256_hex
from server.settings import Settings
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support.databases import DatabaseServer
from tests.support.flaky_proxy import FlakyProxy
from tests.support.identity import (
    REVOCATION_S,
    enroll_with,
    enrollment_token,
    issue_device_token,
    login_with,
    make_user,
    open_session,
    seconds_until,
)
from tests.support.logscan import log_file
from tests.support.pouch_client import document_record, handoff_record, run_client
from tests.support.servers import REPO_ROOT, ServerProcess
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.anyio
PUBLIC_ORIGIN = "http://segel.test"  # both instances answer for one address, as behind a load balancer


@pytest.fixture
def proxy_to_two(settings: Settings, ensure_couch_running: DatabaseServer) -> Iterator[FlakyProxy]:
    """Instance two's way to the database: a proxy that never cuts and records every request line. On a
    cluster it leads to the second node, as production puts each instance beside its own node."""
    nodes = getattr(ensure_couch_running, "nodes", None)
    port = nodes[1].port if nodes and len(nodes) > 1 else urlsplit(settings.couchdb_url).port or 5984
    with FlakyProxy(port, cut_ratio=0, record=True) as proxy:
        yield proxy


@pytest.fixture
def two_instances(
    settings: Settings, tmp_path: Path, proxy_to_two: FlakyProxy
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on one fresh database prefix, started at the same moment (both bootstrap)."""
    env = settings_env(settings) | {"SEGEL_ORIGIN": PUBLIC_ORIGIN}
    envs = {"a": env, "b": env | {"COUCHDB_URL": f"http://127.0.0.1:{proxy_to_two.port}"}}
    servers = tuple(
        ServerProcess(env=envs[name], port=free_port(), log_path=log_file(f"server-{name}")) for name in "ab"
    )
    failures: list[BaseException] = []

    def start(server: ServerProcess) -> None:
        try:
            server.start(timeout=90)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == [], failures
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def _identity_reads(proxy: FlakyProxy, settings: Settings) -> int:
    prefix = f" /{settings.identity_db}"
    return sum(1 for line in proxy.request_lines if prefix in line and "/_changes" not in line)


def _send(request: httpx.Request) -> httpx.Response:
    with httpx.Client() as client:
        return client.send(request)


def _served_from_cache(proxy: FlakyProxy, settings: Settings, request: httpx.Request) -> bool:
    """Send `request` to instance two; True when it succeeded without reading the identity database."""
    before = _identity_reads(proxy, settings)
    answer = _send(request)
    return answer.is_success and _identity_reads(proxy, settings) == before


def _warm(proxy: FlakyProxy, settings: Settings, request: httpx.Request) -> None:
    """Ask instance two until it answers `request` from its cache (the first asks read the database)."""
    seconds_until(lambda: _served_from_cache(proxy, settings, request), 10, "served from the cache")


def _refused_after(request: httpx.Request, what: str) -> None:
    """Instance two refuses `request` (401) on the very first ask after the revocation reported done."""
    answer = _send(request)
    assert answer.status_code == 401, f"{what}: instance two still answered {answer.status_code}"


def _timed(refused: Callable[[], bool], what: str) -> float:
    """Seconds from now until an ask for which `refused` holds was sent (at most a second); printed with
    when its answer came."""
    started = time.monotonic()
    delay = seconds_until(refused, REVOCATION_S, what)
    answered = time.monotonic() - started
    print(
        f"\n{what}: refused by an ask sent after {delay * 1000:.0f} ms (answered at {answered * 1000:.0f} ms)"
    )
    return delay


def _segel(settings: Settings, *argv: str) -> None:
    """`segel <argv>` as an administrator runs it: its own process, straight to the database."""
    env = {**os.environ, **settings_env(settings)}
    done = subprocess.run(
        [sys.executable, "-m", "server", *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


async def test_two_instances_share_phones_and_a_revocation_within_a_second(
    couch: CouchClient,
    settings: Settings,
    two_instances: tuple[ServerProcess, ServerProcess],
    proxy_to_two: FlakyProxy,
) -> None:
    one, two = two_instances
    await make_user(couch, settings, "budi.santoso", "staff", office="6471")
    tokens: dict[str, str] = {}
    pushed: dict[str, list[str]] = {}
    records: dict[str, list[dict[str, object]]] = {}
    for courier in ("kurir.a", "kurir.b"):
        await make_user(couch, settings, courier, "courier", office="6471")
        document = document_record(courier)
        await couch.db(settings.records_db).put(document)
        tokens[courier] = await issue_device_token(couch, settings, courier)
        records[courier] = [handoff_record(document["_id"], courier, seq=n + 1) for n in range(20)]
        pushed[courier] = [str(record["_id"]) for record in records[courier]]

    def push(courier: str, server: ServerProcess, directory: Path) -> list[object]:
        steps = [{"op": "put", "docs": records[courier]}, {"op": "push_until_done", "seconds": 60}]
        return run_client(f"{server.url}/sync/records", tokens[courier], directory, steps)

    base = settings.data_dir
    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, push, "kurir.a", one, base / "phone-a")
        group.start_soon(anyio.to_thread.run_sync, push, "kurir.b", two, base / "phone-b")
    found = await couch.json(
        "POST",
        f"/{settings.records_db}/_all_docs",
        json={"keys": pushed["kurir.a"] + pushed["kurir.b"]},
    )
    assert [row["key"] for row in found["rows"] if "id" in row] == pushed["kurir.a"] + pushed["kurir.b"]

    # Staff deactivate courier A on instance one; instance two, which was answering A from its cache,
    # refuses A within a second and still serves B.
    changes = "/sync/records/_changes"
    a_on_two = httpx.Request(
        "GET", two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.a']}"}
    )
    _warm(proxy_to_two, settings, a_on_two)
    cookie = await open_session(couch, settings, "budi.santoso")
    staff = {"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": PUBLIC_ORIGIN}
    page = httpx.get(f"{one.url}/auth/office/users", headers=staff)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    revoked = httpx.post(
        f"{one.url}/auth/office/users/kurir.a/revoke", data={"csrf_token": csrf.group(1)}, headers=staff
    )
    assert revoked.status_code == 303, revoked.text
    _refused_after(a_on_two, "user revoked on the staff page, their device token")
    refused = httpx.get(two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.a']}"})
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert httpx.get(two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.b']}"}).is_success


async def test_a_token_passkey_and_user_revoked_elsewhere_are_refused_by_the_other_instance_within_a_second(
    couch: CouchClient,
    settings: Settings,
    two_instances: tuple[ServerProcess, ServerProcess],
    proxy_to_two: FlakyProxy,
) -> None:
    one, two = two_instances
    await make_user(couch, settings, "kurir.c", "courier", office="6471")
    token = await issue_device_token(couch, settings, "kurir.c")
    phone = SoftAuthenticator(origin=PUBLIC_ORIGIN)
    with httpx.Client(base_url=one.url, headers={"Origin": PUBLIC_ORIGIN}) as on_one:
        enrolled = enroll_with(on_one, phone, await enrollment_token(couch, settings, "kurir.c"))
        assert enrolled.status_code == 200, enrolled.text
        cookie = on_one.cookies[SESSION_COOKIE]  # the phone's session, opened on instance one
    with httpx.Client(base_url=two.url, headers={"Origin": PUBLIC_ORIGIN}) as on_two:
        assert login_with(on_two, phone).status_code == 200  # the passkey works on instance two too
    session_on_two = httpx.Request(
        "GET", f"{two.url}/sync/records/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
    )
    token_on_two = httpx.Request(
        "GET", f"{two.url}/sync/records/", headers={"Authorization": f"Bearer {token}"}
    )
    for request in (session_on_two, token_on_two):
        _warm(proxy_to_two, settings, request)

    _segel(settings, "revoke-token", sha256_hex(token)[:TOKEN_ID_LENGTH])
    _refused_after(token_on_two, "device token revoked by the CLI")
    assert _served_from_cache(proxy_to_two, settings, session_on_two)  # the user's session is untouched

    _segel(settings, "revoke-passkey", phone.credentials[0].id)

    def passkey_refused() -> bool:
        with httpx.Client(base_url=two.url, headers={"Origin": PUBLIC_ORIGIN}) as browser:
            answer = login_with(browser, phone)
        return answer.status_code == 401 and "dicabut" in answer.json()["reason"]

    # Passkeys are read at every login (never cached), so the first login after the CLI is refused.
    assert passkey_refused(), "a login on instance two with a passkey the CLI revoked was let in"

    # The last revocation is written straight into the database (no store code, so no settling wait):
    # the first ask follows the write by a millisecond, and the follower's own delay shows.
    _warm(proxy_to_two, settings, session_on_two)
    user = await couch.db(settings.identity_db).get("user:kurir.c")
    await couch.db(settings.identity_db).put({**user, "revoked": True})
    _timed(lambda: _send(session_on_two).status_code == 401, "user revoked in the database, their session")


async def test_a_phone_whose_requests_alternate_between_instances_gets_everything_once_and_settles(
    couch: CouchClient, settings: Settings, two_instances: tuple[ServerProcess, ServerProcess]
) -> None:
    """A load balancer without sticky sessions: every `_changes` request of the phone lands on the other
    instance, whose change cache has its own epoch. The walk crosses over page by page, its end goes on
    from where it began, and the incremental pulls after it bridge the short gap; nothing is missed, nothing
    of another courier arrives, and a pull with nothing new answers nothing (no restart loop)."""
    instances = two_instances
    await make_user(couch, settings, "kurir.a", "courier", office="6471")
    headers = {"Authorization": f"Bearer {await issue_device_token(couch, settings, 'kurir.a')}"}
    db = couch.db(settings.records_db)
    mine = [document_record("kurir.a") for _ in range(7)]
    await db.bulk_docs([*mine, *(document_record("kurir.b") for _ in range(5))])
    requests = 0

    def pull(since: str) -> tuple[set[str], str]:
        nonlocal requests
        seen: set[str] = set()
        for _ in range(100):
            server = instances[requests % 2]
            requests += 1
            answer = httpx.get(
                f"{server.url}/sync/records/_changes", params={"since": since, "limit": 2}, headers=headers
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            if not body["results"]:
                return seen, str(body["last_seq"])
            seen.update(row["id"] for row in body["results"])
            since = body["results"][-1]["seq"]
        raise AssertionError("the pull never settled")

    pulled, since = pull("0")
    assert pulled == {str(doc["_id"]) for doc in mine}
    for round_ in range(4):
        new = document_record("kurir.a")
        await db.bulk_docs([new, document_record("kurir.b"), document_record("kurir.z", office="6472")])
        await anyio.sleep(0.5)
        pulled, since = pull(since)
        assert new["_id"] in pulled, round_
        assert pulled <= {str(doc["_id"]) for doc in mine} | {new["_id"]}, round_
        mine.append(new)
        # Nothing new: both instances answer nothing at once.
        assert pull(since)[0] == set() and pull(since)[0] == set()
