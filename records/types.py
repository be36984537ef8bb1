"""Type aliases shared across the sync package."""

from __future__ import annotations

from typing import Any

#: A decoded JSON object as CouchDB sends and receives it.
JSONDict = dict[str, Any]
