"""Run async helpers from sync code that already has an event loop in its thread (Playwright's sync API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import anyio

P = ParamSpec("P")
T = TypeVar("T")


def run_async(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """`anyio.run(fn, ...)` on a fresh thread, so it never meets the caller's running loop."""

    async def call() -> T:
        return await fn(*args, **kwargs)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, call).result()
