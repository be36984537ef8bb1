"""Finding a document at the desk: a resident calls with their receipt code, NIK, phone or name, or staff
hold an envelope and scan its seal. One box takes any of them; every lookup stays inside the office."""

from __future__ import annotations

import re

from records.types import JSONDict
from server.office.ledger import Ledger, key, view_keys

#: How many documents one search shows (a name prefix can match many residents).
LIMIT = 50
#: How many of the newest documents one page of the list shows.
PAGE = 50

_SEAL = re.compile(r"^[A-Z]{2}[0-9]{6,10}$")
_CODE = re.compile(r"^[A-Z2-9]{6}$")
_NIK = re.compile(r"^[0-9]{16}$")
_PHONE = re.compile(r"^(\+62|0)8[0-9]{8,11}$")


async def find_documents(ledger: Ledger, office: str, query: str) -> list[JSONDict]:
    """Documents of `office` matching `query`: a seal number, a receipt code, a NIK, a phone number, a
    document id, or the start of any word of a resident's name (case ignored). Newest first."""
    text = " ".join(query.split())
    if not text:
        return []
    upper = text.upper().replace(" ", "")
    found: dict[str, JSONDict] = {}
    if _SEAL.match(upper):
        seal = await ledger.records.get_or_none(f"seal:{office}:{upper}")
        if seal is not None:
            await _add(ledger, office, found, [str(seal["document_id"])])
    if text.startswith("document:"):
        await _add(ledger, office, found, [text])
    for field, value in (
        ("code", upper if _CODE.match(upper) else None),
        ("nik", upper if _NIK.match(upper) else None),
        ("phone", upper if _PHONE.match(upper) else None),
    ):
        if value:
            rows = await ledger.records.view(
                "reports", "lookup", key=key([office, field, value]), include_docs=True, limit=LIMIT
            )
            found.update({row["id"]: row["doc"] for row in rows["rows"] if row.get("doc")})
    if len(text) >= 2 and not any(ch.isdigit() for ch in text):
        found.update(await _by_name(ledger, office, text.lower()))
    documents = [doc for doc in found.values() if doc.get("office") == office]
    return sorted(documents, key=lambda doc: str(doc.get("created_at")), reverse=True)[:LIMIT]


async def _by_name(ledger: Ledger, office: str, name: str) -> dict[str, JSONDict]:
    """Documents whose resident's name starts with `name`, or has a later word starting with its last word
    ("maharani" finds "Dewi Maharani"; "dewi mah" too), every word of `name` then being in the name. Two
    bounded range reads of the `lookup` view, whatever the office's size."""
    words = name.split(" ")
    found: dict[str, JSONDict] = {}
    for field, prefix in (("name", name), ("word", words[-1])):
        rows = await ledger.records.view(
            "reports",
            "lookup",
            startkey=key([office, field, prefix]),
            endkey=key([office, field, prefix + "\ufff0"]),
            include_docs=True,
            limit=LIMIT,
        )
        found.update({row["id"]: row["doc"] for row in rows["rows"] if row.get("doc")})
    return {doc_id: doc for doc_id, doc in found.items() if _has_words(doc, words)}


def _has_words(doc: JSONDict, words: list[str]) -> bool:
    """Every query word starts some word of the resident's name (the last may be cut short while typing)."""
    name_words = str((doc.get("resident") or {}).get("name") or "").lower().split()
    return all(any(w.startswith(q) for w in name_words) for q in words)


async def newest_documents(ledger: Ledger, office: str, page: int) -> tuple[list[JSONDict], bool]:
    """One page of the office's documents, newest first; True when an older page exists."""
    rows = await ledger.records.view(
        "reports",
        "documents",
        startkey=key([office, {}]),
        endkey=key([office]),
        descending=True,
        include_docs=True,
        skip=max(page, 0) * PAGE,
        limit=PAGE + 1,
    )
    documents = [row["doc"] for row in rows["rows"] if row.get("doc")]
    return documents[:PAGE], len(documents) > PAGE


async def _add(ledger: Ledger, office: str, found: dict[str, JSONDict], ids: list[str]) -> None:
    for doc_id in ids:
        doc = await ledger.records.get_or_none(doc_id)
        if doc is not None and doc.get("type") == "document" and doc.get("office") == office:
            found[doc_id] = doc


#: What the documents list says of a document with no handoff yet.
UNSEALED = "unsealed"


async def statuses(ledger: Ledger, documents: list[JSONDict]) -> dict[str, str]:
    """Each document's custody status: the kind of its latest handoff (`unsealed` before its first), for a
    page of documents in one view request."""
    ids = [str(doc["_id"]) for doc in documents]
    latest: dict[str, tuple[str, int, str]] = {}
    for row in await view_keys(ledger.records, "reports", "handoff_kinds", ids):
        at, seq, kind = row["value"]
        mark = (str(at), int(seq or 0), str(kind))
        if row["key"] not in latest or mark[:2] >= latest[row["key"]][:2]:
            latest[str(row["key"])] = mark
    return {doc_id: latest[doc_id][2] if doc_id in latest else UNSEALED for doc_id in ids}
