"""Several Segel instances on one database (a cluster behind a load balancer): they start together, phones
push through either, and what staff do on one holds on the other at the next request, because an instance
keeps nothing about a session or a user that another would need."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from devtools.embedded import free_port
from server.identity.sessions import SESSION_COOKIE
from server.settings import Settings
from store.couch import CouchClient
from tests.conftest import settings_env
from tests.support.identity import issue_device_token, make_user, open_session
from tests.support.logscan import log_file
from tests.support.pouch_client import document_record, handoff_record, run_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.anyio
PUBLIC_ORIGIN = "http://segel.test"  # both instances answer for one address, as behind a load balancer


@pytest.fixture
def two_instances(settings: Settings, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on one fresh database prefix, started at the same moment (both bootstrap)."""
    env = settings_env(settings) | {"SEGEL_ORIGIN": PUBLIC_ORIGIN}
    servers = tuple(
        ServerProcess(env=env, port=free_port(), log_path=log_file(f"server-{name}")) for name in "ab"
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


async def test_two_instances_share_phones_and_a_revocation_on_the_next_request(
    couch: CouchClient, settings: Settings, two_instances: tuple[ServerProcess, ServerProcess]
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

    # Staff deactivate courier A on instance one; instance two refuses A at once and still serves B.
    changes = "/sync/records/_changes"
    assert httpx.get(two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.a']}"}).is_success
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
    refused = httpx.get(two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.a']}"})
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert httpx.get(two.url + changes, headers={"Authorization": f"Bearer {tokens['kurir.b']}"}).is_success


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
