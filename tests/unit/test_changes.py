"""The `since` tokens of the filtered changes feed, and the push's write slicing."""

from __future__ import annotations

import pytest

from sync.changes import Position, decode, encode
from sync.push import WRITE_SLICE_BYTES, _by_size


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
    token = encode(position)
    assert token.startswith("s1-") and decode(token) == position


@pytest.mark.parametrize("token", [0, "0", None, "now", 17, "s1-", "s1-!!!", "s1-bm90IGpzb24", "c-123"])
def test_unknown_tokens_mean_from_the_beginning(token: object) -> None:
    assert decode(token) is None


def test_writes_are_sliced_by_attachment_bytes() -> None:
    photo = {"_id": "photo:x", "_attachments": {"a.jpg": {"data": "A" * (WRITE_SLICE_BYTES // 3)}}}
    slices = _by_size([dict(photo) for _ in range(7)] + [{"_id": "handoff:y"}])
    assert [len(part) for part in slices] == [2, 2, 2, 2]
    assert sum(len(part) for part in slices) == 8
