"""Bootstrap creates Segel's databases once; a second run changes nothing."""

from __future__ import annotations

import pytest

from server.settings import Settings
from sync.bootstrap import ADMIN_ONLY_SECURITY, bootstrap
from sync.couch import CouchClient
from sync.design_docs import DATABASES

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
    first = await bootstrap(couch, settings.db_prefix)
    revs_before = await _design_revs(couch, settings.db_prefix)
    second = await bootstrap(couch, settings.db_prefix)

    assert sorted(first.created_databases) == sorted(f"{settings.db_prefix}_{s.suffix}" for s in DATABASES)
    assert not second.changed, f"second bootstrap changed {second}"
    assert await _design_revs(couch, settings.db_prefix) == revs_before
    assert (await couch.db(settings.records_db).security())["members"] == ADMIN_ONLY_SECURITY["members"]


async def test_changed_design_document_is_updated_in_place(couch: CouchClient, settings: Settings) -> None:
    await bootstrap(couch, settings.db_prefix)
    db = couch.db(settings.records_db)
    stale = await db.get("_design/records")
    stale["views"] = {"old": {"map": "function (doc) { emit(doc._id, null); }"}}
    await db.put(stale)

    report = await bootstrap(couch, settings.db_prefix)

    assert report.written_design_docs == [f"{settings.records_db}/_design/records"]
    assert "by_type" in (await db.get("_design/records"))["views"]


async def test_views_answer_after_bootstrap(couch: CouchClient, settings: Settings) -> None:
    await bootstrap(couch, settings.db_prefix)
    db = couch.db(settings.records_db)
    await db.bulk_docs([{"_id": f"x{i}", "type": "document", "office": "6471"} for i in range(3)])

    result = await db.view("records", "by_type", group=True)

    assert result["rows"] == [{"key": ["document", "6471"], "value": 3}]
