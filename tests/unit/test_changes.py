"""The `since` tokens of the filtered changes feed, and the push's write slicing."""

from __future__ import annotations

import base64
import json

import pytest

from sync.changes import Position, TokenSigner, since_key
from sync.gateway import MAX_JSON_DEPTH, json_depth
from sync.push import WRITE_SLICE_BYTES, _by_size

SIGNER = TokenSigner(since_key("s" * 48), "gojek.andi")


@pytest.mark.parametrize(
    "position",
    [
        Position("initial", 1234, 0, None),
        Position("initial", "12-g1AAAABXeJzLYWBg", 2, "document:01JD3X9K2V7Q4M8N5P6R7S8T9V"),
        Position("feed", 98765),
        Position("feed", "8-g1AAAAIreJyVkE0OgjAQhe9SmS"),
    ],
)
def test_tokens_round_trip(position: Position) -> None:
    token = SIGNER.encode(position)
    assert token.startswith("s2-") and SIGNER.decode(token) == position


@pytest.mark.parametrize(
    "token",
    [
        *(0, "0", None, "now", 17, "s1-", "s1-!!!", "s1-bm90IGpzb24", "c-123", "s2-x.y"),
        "s1-WyJpIiwwLC01LG51bGxd",  # the unsigned token of the attack report
    ],
)
def test_unknown_tokens_mean_from_the_beginning(token: object) -> None:
    assert SIGNER.decode(token) is None


def _forge(payload: list[object], mac: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"s2-{body}.{mac}"


def test_forged_altered_and_other_users_tokens_are_unknown() -> None:
    genuine = SIGNER.encode(Position("feed", "812-g1AAAA"))
    mac = genuine.rsplit(".", 1)[1]
    # The start of the whole feed, with a stolen signature: refused, so no scan of the database.
    assert SIGNER.decode(_forge(["f", 0, 0, None], mac)) is None
    assert SIGNER.decode(genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")) is None
    other_user = TokenSigner(SIGNER.key, "grab.budi")
    assert other_user.decode(genuine) is None
    other_server = TokenSigner(since_key("t" * 48), "gojek.andi")
    assert other_server.decode(genuine) is None


def test_a_signed_token_with_a_negative_scope_index_is_refused() -> None:
    token = SIGNER.encode(Position("initial", 0, -5, None))
    assert SIGNER.decode(token) is None


def test_json_depth_is_counted_without_recursion() -> None:
    assert json_depth({"docs": [{"_revisions": {"ids": ["a"]}}]}) == 5
    assert json_depth("x") == 0
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth(deep) > MAX_JSON_DEPTH


def test_writes_are_sliced_by_attachment_bytes() -> None:
    photo = {"_id": "photo:x", "_attachments": {"a.jpg": {"data": "A" * (WRITE_SLICE_BYTES // 3)}}}
    slices = _by_size([dict(photo) for _ in range(7)] + [{"_id": "handoff:y"}])
    assert [len(part) for part in slices] == [2, 2, 2, 2]
    assert sum(len(part) for part in slices) == 8
