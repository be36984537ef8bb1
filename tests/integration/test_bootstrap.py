"""Bootstrap creates Segel's databases once; a second run changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

import store.bootstrap
import store.design_docs
from server.databases import SEGEL_DATABASES as DATABASES
from server.settings import Settings, open_couch
from store.bootstrap import ADMIN_ONLY_SECURITY, bootstrap
from store.couch import CouchClient
from store.design_docs import DatabaseSpec

pytestmark = pytest.mark.anyio


async def _design_revs(couch: CouchClient, prefix: str) -> dict[str, str]:
    revs = {}
    for spec in DATABASES:
        for ddoc in spec.design_docs:
            doc = await couch.db(f"{prefix}_{spec.suffix}").get(ddoc["_id"])
            revs[f"{spec.suffix}/{ddoc['_id']}"] = doc["_rev"]
    return revs


async def test_bootstrap_twice_changes_nothing_the_second_time(
    couch: CouchClient, settings: Settings
) -> None:
    first = await bootstrap(couch, settings.db_prefix, DATABASES)
    revs_before = await _design_revs(couch, settings.db_prefix)
    second = await bootstrap(couch, settings.db_prefix, DATABASES)

    assert sorted(first.created_databases) == sorted(f"{settings.db_prefix}_{s.suffix}" for s in DATABASES)
    assert not second.changed, f"second bootstrap changed {second}"
    assert await _design_revs(couch, settings.db_prefix) == revs_before
    assert (await couch.db(settings.records_db).security())["members"] == ADMIN_ONLY_SECURITY["members"]


async def test_changed_design_document_is_updated_in_place(couch: CouchClient, settings: Settings) -> None:
    await bootstrap(couch, settings.db_prefix, DATABASES)
    db = couch.db(settings.records_db)
    stale = await db.get("_design/records")
    stale["views"] = {"old": {"map": "function (doc) { emit(doc._id, null); }"}}
    await db.put(stale)

    report = await bootstrap(couch, settings.db_prefix, DATABASES)

    assert report.written_design_docs == [f"{settings.records_db}/_design/records"]
    assert "by_type" in (await db.get("_design/records"))["views"]


async def test_a_retired_design_document_is_deleted_and_stops_being_indexed(
    couch: CouchClient, settings: Settings
) -> None:
    """An upgrade from the version whose receipts database had a view: the view goes, so the database no
    longer indexes every receipt and seq claim a push writes; the receipts themselves stay."""
    await bootstrap(couch, settings.db_prefix, DATABASES)
    receipts = couch.db(settings.receipts_db)
    old_view = {"map": "function (doc) { if (doc.type === 'receipt') { emit(doc.received_at, null); } }"}
    await receipts.put({"_id": "_design/receipts", "views": {"custody_ended": old_view}})
    await receipts.put({"_id": "receipt:handoff:1", "type": "receipt", "record_id": "handoff:1"})

    report = await bootstrap(couch, settings.db_prefix, DATABASES)
    again = await bootstrap(couch, settings.db_prefix, DATABASES)

    assert report.retired_design_docs == [f"{settings.receipts_db}/_design/receipts"]
    assert await receipts.get_or_none("_design/receipts") is None
    assert (await receipts.get("receipt:handoff:1"))["record_id"] == "handoff:1"
    assert not again.changed, f"second bootstrap changed {again}"


async def test_views_answer_after_bootstrap(couch: CouchClient, settings: Settings) -> None:
    await bootstrap(couch, settings.db_prefix, DATABASES)
    db = couch.db(settings.records_db)
    await db.bulk_docs([{"_id": f"x{i}", "type": "document", "office": "6471"} for i in range(3)])

    result = await db.view("records", "by_type", group=True)

    assert result["rows"] == [{"key": ["document", "6471"], "value": 3}]


async def test_instances_bootstrapping_at_the_same_moment_all_succeed(settings: Settings) -> None:
    """Two app instances (or an instance and a CLI command) start together on a fresh database server: on
    Apache CouchDB the losers of the design-document and Mango-index races used to fail with 500."""
    clients = [open_couch(settings) for _ in range(4)]
    try:
        reports = await asyncio.gather(
            *(bootstrap(client, settings.db_prefix, DATABASES) for client in clients)
        )
        wanted = {f"{settings.db_prefix}_{spec.suffix}" for spec in DATABASES}
        created = {name for report in reports for name in report.created_databases}
        # Every call succeeded and every database exists. Which instance reports a database as its own is
        # the database's business: PouchDB Server may tell several racers they created it, and on a cluster
        # the creator may not learn it did (a PUT retried after a shard timeout answers 412).
        assert created <= wanted
        assert all([await clients[0].db(name).exists() for name in sorted(wanted)])
        assert not (await bootstrap(clients[0], settings.db_prefix, DATABASES)).changed
    finally:
        for client in clients:
            await client.aclose()


def _with_new_view(spec_suffix: str, design_id: str, view: str, map_source: str) -> tuple[DatabaseSpec, ...]:
    specs = []
    for spec in DATABASES:
        if spec.suffix == spec_suffix:
            docs = tuple(
                {**ddoc, "views": {**ddoc["views"], view: {"map": map_source}}}
                if ddoc["_id"] == design_id
                else ddoc
                for ddoc in spec.design_docs
            )
            spec = dataclasses.replace(spec, design_docs=docs)
        specs.append(spec)
    return tuple(specs)


async def test_changed_view_is_built_before_it_replaces_the_live_one(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a deploy that changes a view, the first query of it finds the index already built (answered
    from the index with update=false), and until then the old design document served unchanged."""
    await bootstrap(couch, settings.db_prefix, DATABASES)
    db = couch.db(settings.records_db)
    await db.bulk_docs(
        [{"_id": f"document:{i:03d}", "type": "document", "office": "6471"} for i in range(40)]
    )
    await db.view("records", "by_type", limit=0)  # the old index is built and serving
    specs = _with_new_view(
        "records",
        "_design/records",
        "by_office",
        "function (doc) { if (doc.office) { emit(doc.office, 1); } }",
    )
    live_views = sorted((await db.get("_design/records"))["views"])
    live_during_build: list[list[str]] = []
    real_build = store.bootstrap.build_views

    async def watching_build(*args: Any, **kwargs: Any) -> None:
        live_during_build.append(sorted((await db.get("_design/records"))["views"]))
        await real_build(*args, **kwargs)

    monkeypatch.setattr(store.bootstrap, "build_views", watching_build)
    report = await bootstrap(couch, settings.db_prefix, specs)

    assert report.staged_design_docs == [f"{settings.records_db}/_design/records"]
    assert live_during_build[0] == live_views  # the staged build: the old one serves meanwhile
    assert "by_office" not in live_views
    built = await db.view("records", "by_office", update=False)
    assert len(built["rows"]) == 40
    assert await db.get_or_none("_design/:staged:records") is None
    assert not (await bootstrap(couch, settings.db_prefix, specs)).changed


async def test_bootstrap_installs_only_the_databases_it_is_given(
    couch: CouchClient, settings: Settings
) -> None:
    """What to install is the caller's list: a deployment or a test naming one database gets that one, with
    its design document, and none of Segel's others."""
    probe = {
        "_id": "_design/probe",
        "language": "javascript",
        "views": {"all": {"map": "function (doc) { emit(doc._id, null); }"}},
    }

    report = await bootstrap(couch, settings.db_prefix, (DatabaseSpec(suffix="probe", design_docs=(probe,)),))

    assert report.created_databases == [f"{settings.db_prefix}_probe"]
    assert report.written_design_docs == [f"{settings.db_prefix}_probe/_design/probe"]
    assert not await couch.db(settings.records_db).exists()


async def test_bootstrap_without_a_list_installs_what_the_application_registered(
    couch: CouchClient, settings: Settings
) -> None:
    """Scripts written before the list was an argument call `bootstrap(client, prefix)`: loading the server
    registers Segel's databases, so they still get every one of them."""
    report = await bootstrap(couch, settings.db_prefix)

    assert sorted(report.created_databases) == sorted(f"{settings.db_prefix}_{s.suffix}" for s in DATABASES)


async def test_bootstrap_without_a_list_and_nothing_registered_says_what_to_pass(
    couch: CouchClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.design_docs, "_application_databases", None)

    with pytest.raises(RuntimeError, match="SEGEL_DATABASES"):
        await bootstrap(couch, settings.db_prefix)
    assert not await couch.db(settings.records_db).exists()
