"""The bodies the gateway stored are given to the follower only for the very revision that is the record's
one leaf, without photo bytes, and only a bounded number is kept."""

from __future__ import annotations

from sync.written_bodies import WrittenBodies


def _doc(doc_id: str, rev: str) -> dict[str, object]:
    return {
        "_id": doc_id,
        "_rev": rev,
        "_revisions": {"start": 1, "ids": [rev[2:]]},
        "type": "photo",
        "_attachments": {"seal.jpg": {"content_type": "image/jpeg", "data": "AAAA" * 1000}},
    }


def test_a_body_is_taken_once_for_its_own_revision_and_without_photo_bytes() -> None:
    written = WrittenBodies()
    written.offer([_doc("photo:1", "1-aa")])
    assert written.take("photo:1", ["1-bb"]) is None  # another revision (another instance wrote it)
    assert written.take("photo:1", ["1-aa", "1-bb"]) is None  # conflicts: the winner may be the other one
    body = written.take("photo:1", ["1-aa"])
    assert body == {"_id": "photo:1", "_rev": "1-aa", "type": "photo"}
    assert written.take("photo:1", ["1-aa"]) is None and written.taken == 1


def test_only_the_newest_bodies_are_kept() -> None:
    written = WrittenBodies(max_bodies=3)
    written.offer([_doc(f"photo:{n}", "1-aa") for n in range(5)])
    assert len(written) == 3
    assert written.take("photo:0", ["1-aa"]) is None
    assert written.take("photo:4", ["1-aa"]) is not None


def test_a_revision_without_id_or_rev_or_a_deletion_is_not_kept() -> None:
    written = WrittenBodies()
    written.offer(
        [{"_id": "photo:1"}, {"_rev": "1-aa"}, {"_id": "photo:2", "_rev": "2-bb", "_deleted": True}]
    )
    assert len(written) == 0
