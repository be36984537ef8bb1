"""A small async client for the CouchDB HTTP API.

Segel talks to Apache CouchDB 3.x, a CouchDB cluster, Cloudant and (in development and CI) PouchDB Server.
Everything here uses only the HTTP API those four share, so no backend-specific feature sneaks in.

Errors from httpx are translated where they enter: callers see `CouchError` (the database answered with an
error) or `CouchUnavailable` (it could not be reached), never an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from records.types import JSONDict

logger = logging.getLogger(__name__)

#: Methods that may be sent again after a connection error without changing the outcome. A PUT of a
#: document carries its `_rev`, so a repeat gets a 409 rather than a second write.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "COPY"})
#: POSTs that only read (a body of keys or ids): as safe to repeat as a GET. Every other POST (`_bulk_docs`,
#: `_index`, `_purge`) is sent once; its caller decides what a lost answer means.
READ_ONLY_POSTS = ("/_all_docs", "/_bulk_get", "/_revs_diff", "/_find", "/_explain")
#: What a CouchDB cluster answers while a node is down or a shard copy cannot answer in time (fabric's
#: `nodedown`, `timeout`, rexi's worker exits; 503 when no copy answers). A request that is safe to repeat
#: is repeated after a back-off; anything else is reported, never repeated.
TRANSIENT_ERRORS = frozenset({"nodedown", "timeout", "rexi_DOWN", "rexi_EXIT", "no_majority"})


def safe_to_repeat(method: str, path: str) -> bool:
    """True for requests whose repetition cannot change what the database holds."""
    if method in IDEMPOTENT_METHODS:
        return True
    return method == "POST" and (path.endswith(READ_ONLY_POSTS) or "/_view/" in path)


def is_document_write(method: str, path: str) -> bool:
    """A write of documents (a PUT or DELETE of a document or attachment, or `_bulk_docs`), as opposed to a
    database-level request (`PUT /db`, `_security`), where a write quorum means nothing."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if method == "POST":
        return len(parts) == 2 and parts[1] == "_bulk_docs"
    if method not in ("PUT", "DELETE") or len(parts) < 2:
        return False
    return not parts[1].startswith("_") or parts[1] in ("_design", "_local")


def _transient(response: httpx.Response) -> bool:
    if response.status_code == 503:
        return True
    if response.status_code != 500:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("error")) in TRANSIENT_ERRORS


class CouchError(Exception):
    """CouchDB answered with an error status; `error` and `reason` are CouchDB's own words."""

    def __init__(self, status: int, error: str, reason: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason


class CouchNotFound(CouchError):
    """404: the database or document does not exist."""


class CouchConflict(CouchError):
    """409: the revision given is not the current one (or a create raced another)."""


class CouchUnavailable(Exception):
    """CouchDB could not be reached (refused, reset, timed out): check it runs and COUCHDB_URL is right."""


class CouchTimeout(CouchUnavailable):
    """CouchDB took the request but sent no answer in time (a read timeout, not a refused connection)."""


def quote_id(doc_id: str) -> str:
    """Quote a document id for a URL path, keeping the `_design/` and `_local/` prefixes CouchDB expects."""
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return prefix + quote(doc_id[len(prefix) :], safe="")
    return quote(doc_id, safe="")


def _error_for(response: httpx.Response, method: str, path: str) -> CouchError:
    try:
        body = response.json()
        error = str(body.get("error", "unknown_error"))
        reason = str(body.get("reason", ""))
    except ValueError:
        error, reason = "unknown_error", response.text[:200]
    kind: type[CouchError] = CouchError
    if response.status_code == 404:
        kind = CouchNotFound
    elif response.status_code == 409:
        kind = CouchConflict
    return kind(response.status_code, error, reason, method=method, path=path)


class CouchClient:
    """One connection pool to one CouchDB server, shared by the whole process."""

    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        write_quorum: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        auth = httpx.BasicAuth(user, password or "") if user else None
        self._http = httpx.AsyncClient(
            base_url=self.url,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=5.0),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            transport=transport,
        )
        self._retries = retries
        #: `w` for every document write: on a cluster, w = n makes each acknowledged write present on every
        #: copy, so views and `_all_docs` (read from one copy of each shard range) see it at once. While a
        #: copy is unreachable CouchDB still stores the write and answers 202 `accepted`.
        self._write_quorum = write_quorum
        #: Per document path: the lock of `Database.one_writer` and how many hold or wait for it.
        self._writers: dict[str, tuple[asyncio.Lock, int]] = {}

    @property
    def write_quorum(self) -> int | None:
        """`w` of document writes (None: the database's default); reads that must see every copy use it."""
        return self._write_quorum

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str | int | bool] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send one request; raise CouchError for 4xx/5xx and CouchUnavailable when unreachable.

        Requests that are safe to repeat (`safe_to_repeat`) are retried with a short back-off after
        connection errors and after a cluster's transient errors, because a restarting database, a node
        going down or a dropped keep-alive connection is the common case, not the exceptional one.
        """
        repeatable = safe_to_repeat(method, path)
        attempts = (self._retries if retries is None else retries) + 1 if repeatable else 1
        query = {k: _param(v) for k, v in (params or {}).items()}
        if self._write_quorum and is_document_write(method, path):
            query.setdefault("w", str(self._write_quorum))
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(timeout, connect=5.0)
        for attempt in range(attempts):
            try:
                response = await self._http.request(
                    method, path, json=json, params=query, content=content, headers=headers, **extra
                )
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                kind = CouchTimeout if isinstance(exc, httpx.ReadTimeout) else CouchUnavailable
                raise kind(f"CouchDB at {self.url} is unreachable ({type(exc).__name__})") from exc
            if response.status_code >= 400:
                if attempt + 1 < attempts and _transient(response):
                    logger.info("CouchDB %s %s answered %s; retrying", method, path, response.status_code)
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                if attempt > 0 and response.status_code == 409 and method == "PUT":
                    earlier = await self._own_earlier_write(path, json)
                    if earlier is not None:
                        return earlier
                raise _error_for(response, method, path)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _own_earlier_write(self, path: str, sent: object) -> httpx.Response | None:
        """A retried document PUT met a conflict: was it with our own first attempt, which CouchDB stored
        before the connection dropped? Then the current revision is the next one after ours and holds
        exactly what we sent, and the write succeeded; answered as CouchDB would have (201). Otherwise None,
        and the 409 stands. Without this a caller would be told of a conflict with itself, and a counter
        (`Database.put_exclusive`, whose bodies are unique) would count twice on its next try."""
        if not isinstance(sent, dict) or not is_document_write("PUT", path):
            return None
        try:
            current = (await self._http.get(path, headers={"Accept": "application/json"})).json()
        except (httpx.HTTPError, ValueError):
            return None
        if not isinstance(current, dict) or "_rev" not in current:
            return None
        base = str(sent.get("_rev") or "0-")
        expected_generation = int(base.split("-", 1)[0] or 0) + 1
        same = {k: v for k, v in current.items() if k != "_rev"} == {
            k: v for k, v in sent.items() if k != "_rev"
        }
        if not same or not str(current["_rev"]).startswith(f"{expected_generation}-"):
            return None
        logger.info("CouchDB PUT %s: the retried write had already been stored", path)
        return httpx.Response(201, json={"ok": True, "id": current.get("_id"), "rev": current["_rev"]})

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode the JSON answer.

        Asks for JSON explicitly: Apache CouchDB answers a document read with `attachments=true` or
        `open_revs` as `multipart/related` (binary attachment bodies) unless the client accepts only JSON.
        """
        headers = {"Accept": "application/json", **(kwargs.pop("headers", None) or {})}
        response = await self.request(method, path, headers=headers, **kwargs)
        return response.json()

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        json: object = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed response (`_changes`, attachments), so a large answer never sits in memory."""
        query = {k: _param(v) for k, v in (params or {}).items()}
        request = self._http.build_request(
            method,
            path,
            params=query,
            json=json,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0) if timeout is not None else self._http.timeout,
        )
        try:
            response = await self._http.send(request, stream=True)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise CouchUnavailable(f"CouchDB at {self.url} is unreachable ({type(exc).__name__})") from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise _error_for(response, method, path)
            yield response
        finally:
            await response.aclose()

    def db(self, name: str) -> Database:
        return Database(self, name)


def json_text(value: object) -> str:
    """A query value CouchDB reads as JSON (`open_revs`, view keys)."""
    return jsonlib.dumps(value)


def _param(value: str | int | bool) -> str:
    """CouchDB wants JSON-ish query values: `true`, not `True`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _without_rev(doc: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in doc.items() if key != "_rev"}


def _unique(doc: JSONDict) -> JSONDict:
    """`doc` with a fresh random `exclusive_write` field. CouchDB's revision id is a hash of the previous
    revision and the body, so two identical writes (two pushes counted in the same millisecond) would be the
    same revision on every copy: no conflict to see, and each writer would believe it alone wrote."""
    return {**doc, "exclusive_write": secrets.token_hex(8)}


class Database:
    """One database on a CouchClient: thin helpers over the paths Segel uses."""

    def __init__(self, client: CouchClient, name: str) -> None:
        self.client = client
        self.name = name
        self.path = "/" + quote(name, safe="")

    def doc_path(self, doc_id: str) -> str:
        return f"{self.path}/{quote_id(doc_id)}"

    @asynccontextmanager
    async def one_writer(self, doc_id: str) -> AsyncIterator[None]:
        """Within this process, one read-modify-write of `doc_id` at a time (a counter many requests bump).

        CouchDB's revision check refuses the second of two writers on one node, but on a cluster two writers
        can both be accepted, and a writer may read a revision that is then withdrawn (`put_exclusive`);
        counts built on it are lost or doubled. Writers in one process take turns here, so the cluster race
        is left only between instances, which rarely bump the same counter at the same moment.
        """
        key = self.doc_path(doc_id)
        lock, users = self.client._writers.get(key, (asyncio.Lock(), 0))
        self.client._writers[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.client._writers[key]
            if users <= 1:
                del self.client._writers[key]
            else:
                self.client._writers[key] = (lock, users - 1)

    async def info(self) -> JSONDict:
        info: JSONDict = await self.client.json("GET", self.path)
        return info

    async def exists(self) -> bool:
        try:
            await self.client.request("HEAD", self.path)
        except CouchNotFound:
            return False
        return True

    async def create(self) -> bool:
        """Create the database; False when it already existed (another app instance won the race)."""
        try:
            await self.client.request("PUT", self.path)
        except CouchError as exc:
            if exc.status == 412:
                return False
            if (
                exc.status == 500
                and exc.error == "error"
                and exc.reason == "conflict"
                and await self.exists()
            ):
                # A cluster that receives two creations of one database at once answers the loser with a
                # 500 `conflict` (the shard map document raced), not a 412; the database is there.
                return False
            raise
        return True

    async def get(self, doc_id: str, **params: str | int | bool) -> JSONDict:
        doc: JSONDict = await self.client.json("GET", self.doc_path(doc_id), params=params)
        return doc

    async def get_or_none(self, doc_id: str, **params: str | int | bool) -> JSONDict | None:
        try:
            return await self.get(doc_id, **params)
        except CouchNotFound:
            return None

    async def put(self, doc: JSONDict) -> str:
        """Write a document (its `_rev` decides update vs create) and return the new revision."""
        result: JSONDict = await self.client.json("PUT", self.doc_path(str(doc["_id"])), json=doc)
        return str(result["rev"])

    async def put_exclusive(self, doc: JSONDict) -> str:
        """Write a document as `put` does, but succeed only if no concurrent writer of the same revision also
        succeeded; raise CouchConflict otherwise (the caller reads again and retries).

        A single node, PouchDB Server included, refuses the second of two writes from one revision with a
        409, so `put` is enough there. A cluster may not: each copy of the shard takes whichever write reaches
        it first, both writers are answered 202 `accepted` (fewer copies than `w` took theirs), and the
        document ends with two conflicting revisions. A counter kept that way loses or doubles counts. So on
        a 202 the document is read back from every copy (`r` = the write quorum) with its conflicts: the
        write that CouchDB's deterministic choice made the winner stands, a losing one is deleted again.
        Each write carries a fresh `exclusive_write` value (`_unique`): two writers of the same body from the
        same revision would otherwise make one and the same revision, and both be told it stands.
        """
        response = await self.client.request("PUT", self.doc_path(str(doc["_id"])), json=_unique(doc))
        rev = str(response.json()["rev"])
        if response.status_code == 202 and not await self._stands(str(doc["_id"]), rev):
            raise CouchConflict(409, "conflict", "a concurrent write won", method="PUT", path=self.path)
        return rev

    async def _stands(self, doc_id: str, rev: str) -> bool:
        """After a 202: read the document from every copy with its conflicts; False (and the revision
        deleted again) when CouchDB's deterministic choice made a rival write the winner. A revision with no
        rival stands, even if fewer copies than asked took it (a node is down)."""
        params: dict[str, str | int | bool] = {"conflicts": True}
        if self.client.write_quorum:
            params["r"] = self.client.write_quorum
        current = await self.get(doc_id, **params)
        if current.get("_rev") != rev and rev in current.get("_conflicts", []):
            await self.delete(doc_id, rev)
            return False
        return True

    async def delete(self, doc_id: str, rev: str) -> str:
        result: JSONDict = await self.client.json("DELETE", self.doc_path(doc_id), params={"rev": rev})
        return str(result["rev"])

    async def bulk_docs(self, docs: list[JSONDict], *, new_edits: bool = True) -> list[JSONDict]:
        body: JSONDict = {"docs": docs}
        if not new_edits:
            body["new_edits"] = False
        result: list[JSONDict] = await self.client.json("POST", f"{self.path}/_bulk_docs", json=body)
        return result

    async def create_exclusive(self, docs: list[JSONDict]) -> list[JSONDict]:
        """Create documents (`_bulk_docs` of new ids) of which each may have only one creator; a document
        another writer created first, or at the same moment, comes back as `{"id", "error": "conflict"}`.

        What `put_exclusive` does for one update, for many creations: a cluster answers 202 when some copy
        did not take a write, and two creators of one id at the same moment can both be told `ok`. On a 202
        every created document is read back from every copy with its conflicts, and a creation that CouchDB's
        deterministic choice did not make the winner is deleted again and reported as a conflict.
        """
        body = {"docs": [_unique(doc) for doc in docs]}
        response = await self.client.request("POST", f"{self.path}/_bulk_docs", json=body)
        result: list[JSONDict] = response.json()
        if response.status_code != 202:
            return result
        settled: list[JSONDict] = []
        for entry in result:
            rev = entry.get("rev")
            if rev and not entry.get("error") and not await self._stands(str(entry["id"]), str(rev)):
                entry = {"id": entry["id"], "error": "conflict", "reason": "a concurrent creation won"}
            settled.append(entry)
        return settled

    async def all_docs(self, **params: str | int | bool) -> JSONDict:
        result: JSONDict = await self.client.json("GET", f"{self.path}/_all_docs", params=params)
        return result

    async def view(self, ddoc: str, view: str, **params: str | int | bool) -> JSONDict:
        result: JSONDict = await self.client.json(
            "GET", f"{self.path}/_design/{ddoc}/_view/{view}", params=params
        )
        return result

    async def find(self, query: JSONDict) -> JSONDict:
        result: JSONDict = await self.client.json("POST", f"{self.path}/_find", json=query)
        return result

    async def changes(self, **params: str | int | bool) -> JSONDict:
        result: JSONDict = await self.client.json("GET", f"{self.path}/_changes", params=params)
        return result

    async def longpoll_changes(
        self, since: str, *, heartbeat_ms: int, silence_s: float, limit: int, alive: Callable[[], None]
    ) -> JSONDict:
        """One `feed=longpoll` request of `_changes` after `since` (ids and revisions, no bodies): answered as
        soon as anything changed, or never while nothing does, the database writing a newline every
        `heartbeat_ms` meanwhile. `alive()` is called when the answer starts and for every piece of it, so a
        caller knows the feed lives; `silence_s` without a byte means the connection is dead even when no
        error says so: CouchUnavailable, as for a reset.

        Longpoll rather than `continuous`: PouchDB Server never ends a continuous feed whose client went
        away. `Accept-Encoding: identity`, because a compressing server would hold the heartbeats back.
        """
        params: dict[str, str | int | bool] = {
            "feed": "longpoll",
            "since": since,
            "heartbeat": heartbeat_ms,
            "limit": limit,
        }
        body = bytearray()
        try:
            async with self.client.stream(
                "GET",
                f"{self.path}/_changes",
                params=params,
                headers={"Accept-Encoding": "identity"},
                timeout=silence_s,
            ) as response:
                alive()
                async for chunk in response.aiter_bytes():
                    alive()
                    body += chunk
            answer = jsonlib.loads(body)
        except (httpx.TransportError, httpx.TimeoutException, httpx.StreamError) as exc:
            raise CouchUnavailable(
                f"the changes feed of {self.name} at {self.client.url} broke ({type(exc).__name__})"
            ) from exc
        except ValueError as exc:
            raise CouchUnavailable(f"the changes feed of {self.name} sent an unreadable answer") from exc
        if not isinstance(answer, dict):
            raise CouchUnavailable(f"the changes feed of {self.name} sent an unreadable answer")
        return answer

    async def rows_for_keys(self, keys: list[str], **params: str | int | bool) -> list[JSONDict]:
        """The `_all_docs` rows of these ids in one request (keys travel in the body, so a long list fits)."""
        result: JSONDict = await self.client.json(
            "POST", f"{self.path}/_all_docs", params=params or None, json={"keys": keys}
        )
        rows: list[JSONDict] = result.get("rows", [])
        return rows

    async def view_rows(self, ddoc: str, view: str, **params: str | int | bool) -> list[JSONDict]:
        """The rows of a view queried with GET parameters (`startkey`, `limit`...)."""
        result: JSONDict = await self.client.json(
            "GET", f"{self.path}/_design/{ddoc}/_view/{view}", params=params
        )
        rows: list[JSONDict] = result.get("rows", [])
        return rows

    async def view_keys(self, ddoc: str, view: str, keys: Sequence[object]) -> list[JSONDict]:
        """The rows of a view for several exact keys, in one request (POST with `keys`)."""
        result: JSONDict = await self.client.json(
            "POST", f"{self.path}/_design/{ddoc}/_view/{view}", json={"keys": list(keys)}
        )
        rows: list[JSONDict] = result.get("rows", [])
        return rows

    async def revs_diff(self, offered: Mapping[str, list[str]]) -> JSONDict:
        """Which of the offered revisions the database lacks (`{id: {"missing": [...]}}`)."""
        diff: JSONDict = await self.client.json("POST", f"{self.path}/_revs_diff", json=dict(offered))
        return diff

    async def bulk_get(self, docs: list[JSONDict], **params: str | int | bool) -> list[JSONDict]:
        """`_bulk_get` results (one per requested id, each with its `docs` of `ok` or `error` entries)."""
        result: JSONDict = await self.client.json(
            "POST", f"{self.path}/_bulk_get", params=params or None, json={"docs": docs}
        )
        results: list[JSONDict] = result.get("results", [])
        return results

    async def read(self, doc_id: str, **params: str | int | bool) -> Any:
        """A document read whose answer may be a list (`open_revs`) as well as one document."""
        return await self.client.json("GET", self.doc_path(doc_id), params=params)

    async def open_revs(self, doc_id: str, revs: list[str]) -> list[JSONDict]:
        """These leaf revisions of one document, as `[{"ok": doc} | {"missing": rev}, ...]`."""
        answer: list[JSONDict] = await self.read(doc_id, open_revs=json_text(revs))
        return answer

    async def put_attachment(
        self, doc_id: str, name: str, rev: str, data: bytes, content_type: str
    ) -> JSONDict:
        """Store one attachment on revision `rev` of `doc_id`; CouchDB's answer (`ok`, `id`, `rev`)."""
        result: JSONDict = await self.client.json(
            "PUT",
            f"{self.doc_path(doc_id)}/{quote_id(name)}",
            params={"rev": rev},
            content=data,
            headers={"Content-Type": content_type},
        )
        return result

    async def attachment_bytes(self, doc_id: str, name: str) -> bytes:
        """The whole body of one (small) attachment; `open_attachment` streams a large one."""
        response = await self.client.request("GET", f"{self.doc_path(doc_id)}/{quote_id(name)}")
        return response.content

    async def ping(self, *, timeout: float) -> None:
        """One attempt to read the database's info, raising as `request` does: a health check's question."""
        await self.client.request("GET", self.path, retries=0, timeout=timeout)

    async def security(self) -> JSONDict:
        result: JSONDict = await self.client.json("GET", f"{self.path}/_security")
        return result

    async def put_security(self, security: JSONDict) -> None:
        await self.client.request("PUT", f"{self.path}/_security", json=security)


@dataclass(frozen=True)
class AttachmentStream:
    """An attachment being read from CouchDB; `chunks` is read once and closes the connection when done."""

    chunks: AsyncIterator[bytes]
    content_type: str
    content_length: str | None


async def open_attachment(db: Database, doc_id: str, name: str, rev: str | None = None) -> AttachmentStream:
    """Start streaming attachment `name` of `doc_id` (raises CouchError, e.g. CouchNotFound, before any byte).

    `Accept-Encoding: identity`: CouchDB stores compressible types gzipped and would send them so; the reader
    gets the bytes whose digest the record names, with a Content-Length that matches them.
    """
    stack = contextlib.AsyncExitStack()
    try:
        upstream = await stack.enter_async_context(
            db.client.stream(
                "GET",
                f"{db.doc_path(doc_id)}/{quote_id(name)}",
                params={"rev": rev} if rev else None,
                headers={"Accept-Encoding": "identity"},
            )
        )
    except BaseException:
        await stack.aclose()
        raise

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await stack.aclose()

    return AttachmentStream(
        chunks(),
        upstream.headers.get("content-type", "application/octet-stream"),
        upstream.headers.get("content-length"),
    )
