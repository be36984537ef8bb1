"""The custody hash (RFC 8785) and the chain verifier that names the first bad link."""

from __future__ import annotations

import pytest

from records.custody import CanonicalFormError, canonical_bytes, record_hash, verify_chain
from records.types import JSONDict
from tests.support.records import custody_chain


def _chain() -> list[JSONDict]:
    """A custody chain that verifies: sealed, picked up, a failed attempt, delivered."""
    return custody_chain()


def test_canonical_form_is_rfc8785_without_the_unhashed_keys() -> None:
    record = {"b": 1e21, "a": 36.6, "é": "ü", "_rev": "1-x", "signature": {"s": "x"}, "_conflicts": ["2-y"]}
    assert canonical_bytes(record) == '{"a":36.6,"b":1e+21,"é":"ü"}'.encode()
    assert record_hash(record) == record_hash({"a": 36.6, "b": 1e21, "é": "ü"})


def test_hash_changes_with_any_covered_field_and_old_name_is_an_alias() -> None:
    record = _chain()[0]
    assert record_hash(record) == record_hash(record)
    assert record_hash({**record, "seq": record["seq"] + 1}) != record_hash(record)
    decorated = {**record, "_rev": "9-abc", "_revisions": {"start": 9, "ids": []}}
    assert record_hash(decorated) == record_hash(record)


def test_unrepresentable_numbers_are_refused_with_a_reason() -> None:
    with pytest.raises(CanonicalFormError):
        record_hash({"x": float("nan")})


def test_demo_chain_verifies() -> None:
    chain = _chain()
    report = verify_chain(chain)
    assert report.ok and report.length == len(chain) >= 3
    assert report.hashes == [record_hash(h) for h in chain]


def test_altered_handoff_is_named_by_the_link_after_it() -> None:
    chain = _chain()
    chain[1]["seal_condition"] = "damaged" if chain[1]["seal_condition"] != "damaged" else "intact"
    report = verify_chain(chain)
    assert report.bad_link is not None
    assert report.bad_link.index == 2 and report.bad_link.record_id == chain[2]["_id"]
    assert chain[1]["_id"] in report.bad_link.reason


def test_removed_handoff_breaks_the_chain() -> None:
    chain = _chain()
    del chain[1]
    report = verify_chain(chain)
    assert report.bad_link is not None and report.bad_link.index == 1


def test_chain_must_start_sealed_with_no_previous_hash() -> None:
    chain = _chain()
    report = verify_chain(chain[1:])
    assert report.bad_link is not None and report.bad_link.index == 0
    assert "sealed" in report.bad_link.reason


def test_chain_of_another_document_is_refused() -> None:
    chain = _chain()
    chain[1]["document_id"] = "document:OTHER"
    report = verify_chain(chain)
    assert report.bad_link is not None and report.bad_link.index == 1
