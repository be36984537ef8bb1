"""The `since` tokens of the filtered changes feed, and the push's write slicing."""

from __future__ import annotations

import base64
import json

import pytest

from sync.change_cache import Anchor
from sync.gateway import MAX_JSON_DEPTH, json_depth
from sync.push import WRITE_SLICE_BYTES, _by_size
from sync.since_tokens import Position, TokenSigner, since_key

SIGNER = TokenSigner(since_key("s" * 48), "gojek.andi")
CLUSTER_SEQ = "12-g1AAAABXeJzLYWBg"


@pytest.mark.parametrize(
    "position",
    [
        Position("initial", 1234, None, 0, None),
        Position(
            "initial",
            CLUSTER_SEQ,
            Anchor("3f9a0c1e", 17, CLUSTER_SEQ),
            2,
            "document:01JD3X9K2V7Q4M8N5P6R7S8T",
        ),
        Position("cache", anchor=Anchor("3f9a0c1e", 0, 98765)),
        Position("cache", anchor=Anchor("3f9a0c1e", 4120, "8-g1AAAAIreJyVkE0OgjAQhe9SmS")),
        Position("bridge", 98765),
        Position("feed", "8-g1AAAAIreJyVkE0OgjAQhe9SmS"),
    ],
)
def test_tokens_round_trip(position: Position) -> None:
    token = SIGNER.encode(position)
    assert token.startswith("s3-") and SIGNER.decode(token) == position


@pytest.mark.parametrize(
    "token",
    [
        *(0, "0", None, "now", 17, "s1-", "s1-!!!", "s1-bm90IGpzb24", "c-123", "s2-x.y", "s3-x.y"),
        "s1-WyJpIiwwLC01LG51bGxd",  # the unsigned token of the attack report
    ],
)
def test_unknown_tokens_mean_from_the_beginning(token: object) -> None:
    assert SIGNER.decode(token) is None


def _forge(payload: list[object], mac: str, prefix: str = "s3-") -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{prefix}{body}.{mac}"


def _signed(payload: list[object], prefix: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{prefix}{body}.{SIGNER._mac(body)}"


def test_forged_altered_and_other_users_tokens_are_unknown() -> None:
    genuine = SIGNER.encode(Position("feed", "812-g1AAAA"))
    mac = genuine.rsplit(".", 1)[1]
    # The start of the whole feed, with a stolen signature: refused, so no scan of the database.
    assert SIGNER.decode(_forge(["f", 0], mac)) is None
    assert SIGNER.decode(genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")) is None
    other_user = TokenSigner(SIGNER.key, "grab.budi")
    assert other_user.decode(genuine) is None
    other_server = TokenSigner(since_key("t" * 48), "gojek.andi")
    assert other_server.decode(genuine) is None


@pytest.mark.parametrize(
    "payload",
    [
        ["i", 0, None, -5, None],  # a negative scope index
        ["c", ["", 3, 5]],  # no epoch
        ["c", ["3f9a0c1e", -1, 5]],  # a negative index
        ["c", ["3f9a0c1e", 3, [1, 2]]],  # a sequence that is neither a string nor a number
        ["b", True],
        ["x", 5],
    ],
)
def test_signed_tokens_of_impossible_positions_are_refused(payload: list[object]) -> None:
    assert SIGNER.decode(_signed(payload, "s3-")) is None


def test_tokens_of_the_previous_version_go_on_where_they_were() -> None:
    """Phones keep their checkpoints across the upgrade: a feed position becomes a bridge (its age is
    unknown), a walk goes on from its row."""
    assert SIGNER.decode(_signed(["f", "812-g1AAAA", 0, None], "s2-")) == Position("bridge", "812-g1AAAA")
    walk = SIGNER.decode(_signed(["i", 77, 1, "document:X"], "s2-"))
    assert walk == Position("initial", 77, None, 1, "document:X")


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
