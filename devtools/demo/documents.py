"""The demo's documents: registered over three weeks at the office's desk, each living through one custody
story; then every author's handoffs are numbered, each document's chained by hash, and (with a signer)
signed as the author's passkey would sign them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from devtools.demo.draw import Drawer, iso
from devtools.demo.office import DOC_KINDS, OFFICE_CODE, STAFF, STORIES
from devtools.demo.steps import NO_SIGNER_REASON
from devtools.demo.story import Story
from records.custody import record_hash
from records.types import JSONDict

#: Signs one chained handoff as its author's passkey would: returns the handoff's `signature` object.
Signer = Callable[[JSONDict], JSONDict]


def documents(draw: Drawer, count: int, signer: Signer | None) -> list[JSONDict]:
    """`count` documents registered over the last three weeks, each with the records of its story."""
    starts = sorted(
        draw.office_hours(draw.now - timedelta(days=draw.rng.uniform(0.2, 21))) for _ in range(count)
    )
    stories = [name for name, _ in STORIES]
    weights = [weight for _, weight in STORIES]
    records: list[JSONDict] = []
    handoffs: list[JSONDict] = []
    for created in starts:
        story = draw.rng.choices(stories, weights)[0]
        document, events, extra = _document(draw, created, story)
        records.append(document)
        records.extend(extra)
        records.extend(events)
        handoffs.extend(events)
    _number_and_chain(handoffs, signer)
    return records


def _document(draw: Drawer, created: datetime, story: str) -> tuple[JSONDict, list[JSONDict], list[JSONDict]]:
    kind, _, youngest, oldest = draw.rng.choices(DOC_KINDS, [weight for _, weight, _, _ in DOC_KINDS])[0]
    resident = draw.resident(created.date(), youngest, oldest)
    staff = draw.rng.choice(STAFF)
    delivery = {"registered": "undecided", "self_pickup": "self_pickup"}.get(story, "courier")
    if story == "sealed" and draw.rng.random() < 0.3:
        delivery = "self_pickup"
    document: JSONDict = {
        "_id": f"document:{draw.ulid(created)}",
        "type": "document",
        "schema_version": 1,
        "office": OFFICE_CODE,
        "created_at": iso(created),
        "author": staff["id"],
        "doc_kind": kind,
        "resident": {
            "name": resident.name,
            "nik": resident.nik,
            "address": draw.address(resident.kecamatan),
            "phone": draw.phone(),
        },
        "receipt_code": draw.receipt_code(),
        "delivery": delivery,
    }
    if story == "registered":
        return document, [], []
    story_events = Story(draw, document, created, staff)
    story_events.tell(story)
    return document, story_events.handoffs, story_events.extra


def _number_and_chain(handoffs: list[JSONDict], signer: Signer | None) -> None:
    """Give each author's handoffs increasing `seq`, chain each document's handoffs by hash, then sign.

    `unsigned_reason` is part of the hash and `signature` is not, so whether a handoff is signed is
    settled before chaining and the signatures are added after it.
    """
    to_sign = [handoff for handoff in handoffs if handoff.get("unsigned_reason") == NO_SIGNER_REASON]
    if signer is not None:
        for handoff in to_sign:
            del handoff["unsigned_reason"]
    seq: dict[str, int] = {}
    for handoff in sorted(handoffs, key=lambda h: (h["device_time"], h["_id"])):
        seq[handoff["author"]] = seq.get(handoff["author"], 0) + 1
        handoff["seq"] = seq[handoff["author"]]
    previous: dict[str, JSONDict] = {}
    for handoff in handoffs:  # already in order within each document
        before = previous.get(handoff["document_id"])
        handoff["prev_hash"] = record_hash(before) if before is not None else None
        previous[handoff["document_id"]] = handoff
    if signer is not None:
        for handoff in to_sign:
            handoff["signature"] = signer(handoff)
