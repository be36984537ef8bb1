"""The demo generator: deterministic, valid, and custody chains that verify."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import date
from functools import cache
from itertools import pairwise

from devtools.demo.generator import generate_demo
from devtools.demo.office import DemoData
from devtools.demo.steps import DESK_REASON, NO_SIGNER_REASON, UNSIGNED_REASONS
from records.custody import record_hash
from records.nik import check_nik, describe_nik
from records.schemas import validate_record
from records.types import JSONDict

TODAY = date(2026, 11, 23)


@cache
def _demo() -> DemoData:
    return generate_demo(seed=20261123, today=TODAY)


def _of_type(record_type: str) -> list[JSONDict]:
    return [record for record in _demo().records if record["type"] == record_type]


def test_same_seed_and_day_give_the_same_data() -> None:
    assert asdict(generate_demo(seed=7, today=TODAY)) == asdict(generate_demo(seed=7, today=TODAY))


def test_another_seed_gives_other_data() -> None:
    assert generate_demo(seed=7, today=TODAY).records != generate_demo(seed=8, today=TODAY).records


def test_every_record_is_valid() -> None:
    invalid = {
        record["_id"]: validate_record(record) for record in _demo().records if validate_record(record)
    }
    assert invalid == {}


def test_every_record_is_valid_on_another_day_and_seed() -> None:
    # A Sunday, so the van schedule has to skip a day.
    demo = generate_demo(seed=1, today=date(2026, 11, 22))
    assert [record["_id"] for record in demo.records if validate_record(record)] == []


def test_ids_are_unique() -> None:
    ids = [record["_id"] for record in _demo().records] + [stop["_id"] for stop in _demo().schedule]
    assert len(ids) == len(set(ids))


def test_about_two_hundred_documents_in_varied_states() -> None:
    assert 180 <= len(_of_type("document")) <= 220
    kinds = Counter(handoff["kind"] for handoff in _of_type("handoff"))
    assert {"sealed", "picked_up", "delivered", "failed_attempt", "returned", "lost", "reprinted"} <= set(
        kinds
    )
    assert {document["doc_kind"] for document in _of_type("document")} == {
        "ektp",
        "kia",
        "akta_kelahiran",
        "kk",
        "surat_pindah",
    }


def test_handoff_chains_are_hash_consistent() -> None:
    chains: dict[str, list[JSONDict]] = defaultdict(list)
    for handoff in sorted(_of_type("handoff"), key=lambda h: h["device_time"]):
        chains[handoff["document_id"]].append(handoff)
    assert chains
    for chain in chains.values():
        assert chain[0]["kind"] == "sealed" and chain[0]["prev_hash"] is None
        for before, after in pairwise(chain):
            assert after["prev_hash"] == record_hash(before)


def test_seq_increases_per_author() -> None:
    by_author: dict[str, list[int]] = defaultdict(list)
    for handoff in sorted(_of_type("handoff"), key=lambda h: (h["device_time"], h["_id"])):
        by_author[handoff["author"]].append(handoff["seq"])
    for seqs in by_author.values():
        assert seqs == list(range(1, len(seqs) + 1))


def test_references_point_at_existing_records() -> None:
    ids = {record["_id"] for record in _demo().records}
    for record in _demo().records:
        for key in ("document_id", "handoff_id"):
            if key in record:
                assert record[key] in ids
        for photo in record.get("photos", []):
            assert photo in ids
    stops = {stop["_id"] for stop in _demo().schedule}
    assert all(visit["stop_id"] in stops for visit in _of_type("visit"))


def test_handoffs_expect_the_seal_bound_to_their_document() -> None:
    seals = {(seal["document_id"], seal["number"]) for seal in _of_type("seal")}
    for handoff in _of_type("handoff"):
        assert (handoff["document_id"], handoff["seal_number_expected"]) in seals


def test_without_a_signer_every_handoff_says_why_it_is_unsigned() -> None:
    reasons = Counter(str(handoff["unsigned_reason"]) for handoff in _of_type("handoff"))
    assert set(reasons) <= {DESK_REASON, NO_SIGNER_REASON, *UNSIGNED_REASONS}
    away_from_desk = sum(reasons.values()) - reasons[DESK_REASON]
    assert 0.8 < reasons[NO_SIGNER_REASON] / away_from_desk < 0.99  # a few couriers could not sign


def test_with_a_signer_handoffs_are_signed_after_chaining_and_the_chains_still_hold() -> None:
    """The loader signs with real keys (tests/integration/test_demo_signing.py); here: which handoffs get
    signed, that the signature leaves the chain intact, and that the records stay valid."""
    signed_hashes: dict[str, str] = {}

    def signer(handoff: JSONDict) -> JSONDict:
        signed_hashes[str(handoff["_id"])] = record_hash(handoff)
        return {
            "credential_id": "ZGVtbw",
            "authenticator_data": "AAAA",
            "client_data_json": "e30",
            "signature": "AAAA",
        }

    demo = generate_demo(seed=20261123, today=TODAY, signer=signer)
    handoffs = [record for record in demo.records if record["type"] == "handoff"]
    signed = [handoff for handoff in handoffs if "signature" in handoff]
    unsigned = [handoff for handoff in handoffs if "signature" not in handoff]
    assert all("unsigned_reason" not in handoff for handoff in signed)
    assert {str(handoff["unsigned_reason"]) for handoff in unsigned} <= {DESK_REASON, *UNSIGNED_REASONS}
    away = [handoff for handoff in handoffs if handoff.get("unsigned_reason") != DESK_REASON]
    assert 0.01 < sum("unsigned_reason" in handoff for handoff in away) / len(away) < 0.2
    # What was signed is what the record hashes to now: the signature is not part of the hash.
    assert all(signed_hashes[str(h["_id"])] == record_hash(h) for h in signed)
    assert all(validate_record(record) == [] for record in demo.records)
    by_document: dict[str, list[JSONDict]] = defaultdict(list)
    for handoff in handoffs:
        by_document[str(handoff["document_id"])].append(handoff)
    for chain in by_document.values():
        for before, after in pairwise(chain):
            assert after["prev_hash"] == record_hash(before)


def test_niks_are_plausible_local_and_mixed() -> None:
    niks = [document["resident"]["nik"] for document in _of_type("document")]
    niks += [visit["resident_nik"] for visit in _of_type("visit")]
    assert all(check_nik(nik) is None and nik.startswith("6471") for nik in niks)
    women = sum(describe_nik(nik).female for nik in niks)
    assert 0.3 < women / len(niks) < 0.7


def test_addresses_are_in_balikpapan() -> None:
    for document in _of_type("document"):
        address = document["resident"]["address"]
        assert address["city"] == "Kota Balikpapan"
        if "lat" in address:
            assert -1.32 < address["lat"] < -1.18 and 116.78 < address["lon"] < 117.02


def test_users() -> None:
    roles = Counter(user["role"] for user in _demo().users)
    assert roles == {"admin": 1, "staff": 2, "courier": 6, "van_operator": 2}
    partners = Counter(user["partner"] for user in _demo().users if user["role"] == "courier")
    assert partners == {"gojek": 2, "grab": 2, "pos_indonesia": 2}
    assert {user["van"] for user in _demo().users if user["role"] == "van_operator"} == {"van-balikpapan-1"}
    assert all(user["office"] == "6471" for user in _demo().users)


def test_van_week_and_visits() -> None:
    assert _demo().office["code"] == "6471"
    assert all(stop["type"] == "stop" and stop["van"] == "van-balikpapan-1" for stop in _demo().schedule)
    visits = _of_type("visit")
    assert 15 <= len(visits) <= 25
    assert {visit["outcome"] for visit in visits} == {"recorded", "failed", "revisit_needed"}
    assert sum("emergency_reason" in visit for visit in visits) == 1


def test_nothing_happens_after_today() -> None:
    times = [record.get("device_time") or record["created_at"] for record in _demo().records]
    assert max(times) <= "2026-11-23T16:00:00+08:00"


def test_handoff_hash_ignores_what_couchdb_and_the_signer_add() -> None:
    handoff = _of_type("handoff")[0]
    decorated = {**handoff, "_rev": "3-abc", "_attachments": {}, "_revisions": {}, "signature": {"x": "y"}}
    assert record_hash(decorated) == record_hash(handoff)
    assert record_hash({**handoff, "seq": handoff["seq"] + 1}) != record_hash(handoff)


def test_handoff_hash_writes_integral_floats_like_javascript() -> None:
    # JSON.stringify({a: 37.0}) is '{"a":37}'; the PWA must get the same hash as the gateway.
    assert record_hash({"a": 37.0, "b": [1.5]}) == record_hash({"a": 37, "b": [1.5]})
