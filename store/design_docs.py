"""What bootstrap installs in one database, as data: the type each owner fills in.

Each package owns its databases' design documents and Mango indexes (the gateway's views in
`sync/gateway_design.py`, the office's in `server/office/design.py`, identity's in
`server/identity/design.py`) and lists them as `DatabaseSpec`s; the caller that starts the application
hands the owners' lists to `store.bootstrap.bootstrap`, merged with `merge_specs`. So `store/` depends on no
package above it, a fresh CouchDB, a cluster and PouchDB Server all end up with the same set, and
`bootstrap` can compare instead of blindly rewriting (a rewritten design document makes CouchDB rebuild its
index).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from records.types import JSONDict


@dataclass(frozen=True)
class DatabaseSpec:
    """One database: its name suffix (after the prefix), design documents and Mango indexes, and the ids of
    design documents an earlier version installed there (`retired`): deleted by bootstrap, since CouchDB
    keeps indexing every write for a design document that exists, whether or not anything reads it."""

    suffix: str
    design_docs: tuple[JSONDict, ...] = ()
    indexes: tuple[JSONDict, ...] = field(default_factory=tuple)
    retired: tuple[str, ...] = ()


def merge_specs(*owners: Iterable[DatabaseSpec]) -> tuple[DatabaseSpec, ...]:
    """One spec per database from several owners' lists, in the order first named; design documents and
    indexes keep each owner's order. Two owners naming the same design document id is a mistake (the
    second would silently replace the first's views), so it raises."""
    merged: dict[str, DatabaseSpec] = {}
    for specs in owners:
        for spec in specs:
            known = merged.get(spec.suffix)
            if known is None:
                merged[spec.suffix] = spec
                continue
            taken = {str(doc["_id"]) for doc in known.design_docs}
            clash = taken.intersection(str(doc["_id"]) for doc in spec.design_docs)
            if clash:
                raise ValueError(f"design documents {sorted(clash)} of {spec.suffix} are named by two owners")
            merged[spec.suffix] = replace(
                known,
                design_docs=known.design_docs + spec.design_docs,
                indexes=known.indexes + spec.indexes,
                retired=known.retired + spec.retired,
            )
    return tuple(merged.values())


#: The application's databases, registered by the application itself (`server/databases.py`, loaded with the
#: `server` package) so a caller of `bootstrap` that names no list still gets them, without `store/`
#: importing anything above it. Transitional: callers should pass their list.
_application_databases: tuple[DatabaseSpec, ...] | None = None


def register_application_databases(specs: Iterable[DatabaseSpec]) -> None:
    """Name what `bootstrap(client, prefix)` installs when its caller passes no list."""
    global _application_databases
    _application_databases = tuple(specs)


def application_databases() -> tuple[DatabaseSpec, ...]:
    """The registered list; raises, saying what to do, when no application registered one."""
    if _application_databases is None:
        raise RuntimeError(
            "bootstrap needs the databases to install: pass them (server.databases.SEGEL_DATABASES) or "
            "import the application that registers them"
        )
    return _application_databases
