"""Drive a stock PouchDB 9 client (node, tests/node/sync-client.mjs) from pytest, and build valid records.

Records are built from the schema examples in `schemas/examples/`, so they stay valid as the contract
evolves, with only the fields a test is about replaced.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import secrets
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from records.custody import record_hash

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = REPO_ROOT / "tests" / "node" / "sync-client.mjs"
EXAMPLES = REPO_ROOT / "schemas" / "examples"


def run_client(
    url: str,
    token: str | None,
    directory: Path,
    steps: list[dict[str, Any]],
    timeout: float = 120,
    stall_seconds: float = 20,
) -> list[Any]:
    """Run the steps in one node process (one local database in `directory`) and return their results.

    `stall_seconds` is how long one replication may go without finishing before the client gives up on it
    and tries again (a cut connection can leave PouchDB waiting for an answer that never comes).
    """
    command = {
        "url": url,
        "token": token,
        "dir": str(directory),
        "steps": steps,
        "stall_seconds": stall_seconds,
    }
    done = subprocess.run(
        ["node", str(CLIENT)],
        input=json.dumps(command).encode(),
        capture_output=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sync client failed ({done.returncode}): {done.stderr.decode()[-3000:]}")
    results: list[Any] = json.loads(done.stdout)
    return results


@cache
def _example(kind: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / kind / f"{name}.json").read_text())
    return data


def new_id(kind: str) -> str:
    return f"{kind}:{secrets.token_hex(8).upper()}"


def document_record(
    courier: str | None, *, office: str = "6471", author: str = "staff.one", doc_id: str | None = None
) -> dict[str, Any]:
    doc = copy.deepcopy(_example("document", "valid-ektp-assigned-to-courier"))
    doc.update(_id=doc_id or new_id("document"), office=office, author=author)
    if courier is None:
        doc.pop("assignment", None)
    else:
        doc["assignment"]["courier"] = courier
    return doc


def seal_record(
    document_id: str, number: str, *, office: str = "6471", author: str = "staff.one"
) -> dict[str, Any]:
    doc = copy.deepcopy(_example("seal", "valid-seal"))
    doc.update(
        _id=f"seal:{office}:{number}", number=number, office=office, author=author, document_id=document_id
    )
    return doc


def handoff_record(
    document_id: str,
    author: str,
    *,
    seq: int,
    prev: dict[str, Any] | None = None,
    office: str = "6471",
    photos: list[str] | None = None,
) -> dict[str, Any]:
    """An unsigned pickup handoff by courier `author` (signed ones come from the identity helpers)."""
    doc = copy.deepcopy(_example("handoff", "valid-failed-attempt-not-at-home"))
    doc.update(
        _id=new_id("handoff"),
        office=office,
        author=author,
        document_id=document_id,
        seq=seq,
        photos=photos or [],
        prev_hash=record_hash(prev) if prev else "0" * 64,
        unsigned_reason="test device without passkey",
    )
    doc.pop("signature", None)
    doc["from"] = {"party": "courier", "id": author, "name": "Kurir Uji"}
    doc["to"] = {"party": "courier", "id": author, "name": "Kurir Uji"}
    return doc


def photo_bytes(size: int = 5000, seed: bytes | None = None) -> bytes:
    """A real 64x48 JPEG padded after its end to exactly `size` bytes, different for every seed: the
    gateway reads the type and the size in pixels from its header, and checks its byte size and digest."""
    seed = seed or secrets.token_bytes(16)
    picture = _small_jpeg()
    padding = (seed * (size // len(seed) + 1))[: size - len(picture)]
    assert len(picture) + len(padding) == size, f"photo_bytes needs at least {len(picture)} bytes"
    return picture + padding


@cache
def _small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(out, format="JPEG", quality=70)
    return out.getvalue()


def photo_record(
    handoff_id: str,
    document_id: str,
    author: str,
    image: bytes | None,
    *,
    office: str = "6471",
    sha256: str | None = None,
) -> dict[str, Any]:
    """A photo record; with `image` the attachment travels inline (as PouchDB sends it), else it waits."""
    doc = copy.deepcopy(_example("photo", "valid-webp-minimal"))
    data = image or b""
    doc.update(
        _id=new_id("photo"),
        office=office,
        author=author,
        handoff_id=handoff_id,
        document_id=document_id,
        attachment="seal.jpg",
        content_type="image/jpeg",
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size=len(data) or 1000,
    )
    doc.pop("_rev", None)
    doc.pop("_attachments", None)
    if image is not None:
        doc["_attachments"] = {
            "seal.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(image).decode()}
        }
    return doc
