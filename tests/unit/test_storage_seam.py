"""The storage seam: only `store/` speaks CouchDB's HTTP API; `server/` and `sync/` ask it by meaning.

Read from the source (Python's own parser), so the rules are exact rather than a text search:

* a *raw client call* is a `.json(...)`, `.request(...)` or `.stream(...)` call whose first argument is an
  HTTP method string (`client.json("POST", ...)`), or any such call on a database's client
  (`db.client.json(method, ...)`, whatever the method);
* a *CouchDB path* is a string or f-string holding `/_changes`, `/_bulk_docs`, `/_all_docs`, `/_find`,
  `/_bulk_get`, `/_revs_diff`, `/_index`, `/_security`, `/_purge`, `/_local/`, `/_design/` or `/_view/`, or
  an f-string built on a database's `.path` or `.doc_path(...)`. Document ids are data, not paths:
  `"_design/gateway"` in a view definition or `"_local/<id>"` as a checkpoint id pass. So do the gateway's
  own route patterns (`Route("/{db}/_changes", ...)`), which are the protocol Segel serves, not one it calls.

Docstrings are prose and are not read. Where a rule fails, the message names the file and line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("server", "sync", "devtools")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "COPY"})
COUCH_PATH = re.compile(
    r"/_(changes|bulk_docs|all_docs|find|bulk_get|revs_diff|index|security|purge)\b|/_(local|design|view)/"
)
#: Files that still speak CouchDB directly, each with why; the list only shrinks. The demo loader is being
#: moved to `devtools/` by another change, outside `server/`; its three `_all_docs` reads go with it.
KNOWN_EXCEPTIONS: dict[str, str] = {
    # Names the database server a benchmark measured (its cluster settings), outside any application database.
    "devtools/bench/chosen_database.py": "benchmark report of the database server's q and n",
    # Phones' requests: the replication protocol spoken to the gateway's `/sync/...`, not to CouchDB.
    "devtools/bench/light_phones.py": "a light phone speaking the replication protocol to the gateway",
    "devtools/bench/scale_pull.py": "a courier's pull through the gateway, counted by its own requests",
}
#: Ids of the identity database's documents: spelled in `store/identity.py` (and the server's identity
#: package, which owns that database), never in the gateway.
IDENTITY_IDS = re.compile(r"^(credential|signed|sigcount):")


def _sources(*tops: str) -> Iterator[tuple[str, ast.Module]]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of every docstring node, which are prose, not code."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _route_patterns(tree: ast.Module) -> set[int]:
    """The first argument of each `Route(...)`: a path the gateway serves."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Route"
            and node.args
        ):
            found.add(id(node.args[0]))
    return found


def _builds_on_database(node: ast.JoinedStr) -> bool:
    """An f-string that starts from a Database's path (`f"{db.path}/..."`, `f"{db.doc_path(i)}/..."`)."""
    for part in node.values:
        if not isinstance(part, ast.FormattedValue):
            continue
        value = part.value
        if isinstance(value, ast.Attribute) and value.attr == "path":
            return True
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "doc_path"
        ):
            return True
    return False


def storage_violations(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, what) for every raw client call and CouchDB path in one module."""
    # The literal parts of an f-string are Constants too: the f-string is judged (and reported) once, whole.
    parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    skip = _docstrings(tree) | _route_patterns(tree) | parts
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("json", "request", "stream")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in HTTP_METHODS
        ):
            found.append((node.lineno, f"raw client call .{node.func.attr}({node.args[0].value!r}, ...)"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("json", "request", "stream")
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "client"
        ):
            found.append((node.lineno, f"raw client call .client.{node.func.attr}(...)"))
        elif isinstance(node, ast.JoinedStr) and id(node) not in skip:
            literal = "".join(
                p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str)
            )
            if _builds_on_database(node) or COUCH_PATH.search(literal):
                found.append((node.lineno, f"CouchDB path in an f-string ({literal!r})"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and COUCH_PATH.search(node.value)
        ):
            found.append((node.lineno, f"CouchDB path {node.value!r}"))
    return sorted(found)


def test_only_store_speaks_couchdb_http() -> None:
    problems = []
    for name, tree in _sources(*SCANNED):
        if name in KNOWN_EXCEPTIONS:
            continue
        problems += [f"{name}:{line}: {what}" for line, what in storage_violations(tree)]
    assert not problems, (
        "CouchDB requests belong in store/ (store/records.py, store/identity.py, store/audit.py or a "
        "Database helper in store/couch.py); ask it by meaning instead:\n" + "\n".join(problems)
    )


def test_known_exceptions_are_still_needed() -> None:
    """An exception whose file moved away or no longer speaks CouchDB is taken off the list."""
    sources = dict(_sources(*SCANNED))
    stale = [
        name for name in KNOWN_EXCEPTIONS if name not in sources or not storage_violations(sources[name])
    ]
    assert not stale, f"remove from KNOWN_EXCEPTIONS in {Path(__file__).name}: {stale}"


def test_the_gateway_does_not_spell_identity_document_ids() -> None:
    problems = [
        f"{name}:{node.lineno}: {node.value!r}"
        for name, tree in _sources("sync")
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and IDENTITY_IDS.match(node.value)
    ]
    assert not problems, "ask store/identity.py (IdentityDocs) for identity documents:\n" + "\n".join(
        problems
    )


def test_store_imports_nothing_above_it() -> None:
    """`store/` is underneath `server/` and `sync/`: what to install is handed to it (server/databases.py)."""
    problems = []
    for name, tree in _sources("store"):
        for node in ast.walk(tree):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            problems += [f"{name}:{node.lineno}: imports {m}" for m in modules if m.split(".")[0] in SCANNED]
    assert not problems, "\n".join(problems)


def test_the_rules_catch_what_they_name() -> None:
    """The checker itself: each kind of raw access is caught, the allowed look-alikes are not."""
    caught = storage_violations(
        ast.parse(
            "async def f(db, couch):\n"
            "    await db.client.json('POST', f'{db.path}/_all_docs', json={})\n"
            "    await couch.request('GET', '/records/_changes')\n"
            "    x = f'{db.doc_path(i)}/photo.jpg'\n"
            "    await db.client.request(method, path)\n"
        )
    )
    assert [line for line, _ in caught] == [2, 2, 3, 3, 4, 5]
    allowed = storage_violations(
        ast.parse(
            "DESIGN = {'_id': '_design/gateway'}\n"
            "LOCAL = f'_local/{client_id}'\n"
            "ROUTES = [Route('/{db}/_changes', changes)]\n"
            "def f():\n"
            "    '''Reads `/db/_changes` (prose).'''\n"
            "    raise bad_request('_revs_diff expects an object.')\n"
            "    host = request.client.host\n"
            "    await self.client.post(url, json=body)\n"
        )
    )
    assert allowed == []
