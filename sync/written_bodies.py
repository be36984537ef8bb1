"""Bodies of the records this process has just stored through the gateway, for its change follower.

The follower needs the body of every changed record to know its scopes (`sync.change_follower`), and read
each of them again from the database right after the gateway wrote them: one opened body per pushed record
and an `_all_docs` request per round, about a tenth of the database CPU a push through the gateway cost
(docs/performance.md, "Database work per pushed record"). The gateway already holds those bodies.

A body is offered by (id, revision) and taken only for a change whose one leaf is that revision: a
revision names its content, so the body is exactly the one stored. Anything else (a record with
conflicts, a revision another instance wrote, a body pushed out of the memory by newer ones) is read from
the database as before. Photos' bytes are left out: scopes never depend on them. A client that pushes one
revision id with two different bodies to two instances at once could make this process's follower judge
scopes by the body that lost; pulls still judge every record by its stored state
(`sync.replication.visible`), so that costs at most that client's own wake-up.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from records.types import JSONDict

#: Bodies kept at most: a few rounds of the follower at full speed (a round reads up to 500 changes).
DEFAULT_MAX_BODIES = 2_000
#: Fields of a pushed revision that the stored body does not have (or that scopes never read).
_LEFT_OUT = ("_attachments", "_revisions")


class WrittenBodies:
    """Recently stored bodies by (id, revision), oldest forgotten first."""

    def __init__(self, max_bodies: int = DEFAULT_MAX_BODIES) -> None:
        self.max_bodies = max_bodies
        self._bodies: OrderedDict[tuple[str, str], JSONDict] = OrderedDict()
        #: Bodies the follower took from here instead of reading them (for tests and the operator).
        self.taken = 0

    def offer(self, docs: Iterable[JSONDict]) -> None:
        """Remember the bodies of revisions just stored (each must carry `_id` and `_rev`)."""
        for doc in docs:
            doc_id, rev = doc.get("_id"), doc.get("_rev")
            if not isinstance(doc_id, str) or not isinstance(rev, str) or doc.get("_deleted"):
                continue  # the follower reads no body of a deletion
            self._bodies[(doc_id, rev)] = {key: value for key, value in doc.items() if key not in _LEFT_OUT}
            self._bodies.move_to_end((doc_id, rev))
        while len(self._bodies) > self.max_bodies:
            self._bodies.popitem(last=False)

    def take(self, doc_id: str, leaves: list[str]) -> JSONDict | None:
        """The stored body of `doc_id` if its only leaf revision is one this process wrote; else None."""
        if len(leaves) != 1:
            return None
        body = self._bodies.pop((doc_id, leaves[0]), None)
        if body is not None:
            self.taken += 1
        return body

    def __len__(self) -> int:
        return len(self._bodies)
