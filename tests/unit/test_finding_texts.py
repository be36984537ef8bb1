"""Findings keep what was found as data and are worded when shown (server/office/finding_texts.py): in the
reader's language, numbers with its decimal mark, codes by their words; findings stored before that keep
showing the sentence they were written with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.i18n import set_language
from server.office.finding_texts import CHAIN_REASONS, FINDING_TEXTS, finding_text, word_finding


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    try:
        yield
    finally:
        set_language("id")


def test_a_finding_reads_in_indonesian_as_the_worker_stores_it() -> None:
    far = {"distance_m": 1234, "limit_m": 500}
    assert word_finding("gps_far", far) == "Penyerahan dicatat 1,2 km dari alamat penduduk (batas 500 m)."
    assert word_finding("code_mismatch", {"code": "mismatch"}).startswith("Kode penerimaan TIDAK cocok: ")
    chain = word_finding("chain_broken", {"reason": "first_not_sealed", "kind": "delivered"})
    assert chain == "Rantai serah terima putus: serah terima pertama harus Disegel, bukan Diserahkan."


def test_the_same_finding_reads_in_english_on_an_english_page(english: None) -> None:
    finding = {
        "kind": "gps_far",
        "detail": "Penyerahan dicatat 1,2 km dari alamat penduduk (batas 500 m).",
        "detail_args": {"distance_m": 1234, "limit_m": 500},
    }
    assert (
        finding_text(finding) == "The delivery was recorded 1.2 km from the resident's address (limit 500 m)."
    )
    fork = {"kind": "chain_broken", "detail_args": {"reason": "fork", "first": "handoff:01ABCDEFGH"}}
    assert finding_text(fork) == (
        "Custody chain broken: handoff:01ABCDEFGH already follows the same handoff: the chain forks here."
    )
    late = {"kind": "photo_not_arrived", "detail_args": {"photos": 2, "author": "", "hours": 24}}
    assert finding_text(late).startswith(
        "2 seal photo(s) from the recorder have not reached the server 24 hours"
    )


def test_a_finding_stored_before_its_arguments_shows_its_own_sentence(english: None) -> None:
    old = {"kind": "chain_broken", "detail": "Rantai serah terima putus: prev_hash does not match."}
    assert finding_text(old) == "Rantai serah terima putus: prev_hash does not match."
    unknown = {"kind": "something_new", "detail": "Temuan baru.", "detail_args": {}}
    assert finding_text(unknown) == "Temuan baru."
    broken_args = {"kind": "gps_far", "detail": "Penyerahan jauh.", "detail_args": {"limit_m": 500}}
    assert finding_text(broken_args) == "Penyerahan jauh."


def test_every_kind_and_reason_is_worded_without_raw_identifiers() -> None:
    args = {
        "error": "ValueError",
        "problem": "image_type",
        "documents": "document:01X",
        "code": "unreadable",
        "scanned": "BP1",
        "expected": "BP2",
        "distance_m": 900,
        "limit_m": 500,
        "photos": 1,
        "author": "andi",
        "hours": 24,
        "first": "handoff:01X",
        "kind": "picked_up",
    }
    for kind in FINDING_TEXTS:
        for reason in CHAIN_REASONS if kind == "chain_broken" else [None]:
            text = word_finding(kind, {**args, "reason": reason} if reason else args)
            assert "%(" not in text and "_" not in text.replace("document:01X", ""), (kind, reason, text)
